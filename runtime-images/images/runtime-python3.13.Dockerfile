# The python3.13 runtime: Python 3.13 plus the agent (selfless agent), which runs on the
# Node.js binary copied from the official image. Build from the repository root:
#   docker build -f runtime-images/images/runtime-python3.13.Dockerfile -t selfless-runtime-python3.13 .
FROM node:22.21.0-bookworm-slim AS build
WORKDIR /usr/local/lib/selfless
COPY package.json package-lock.json tsconfig.json ./
# On a machine whose TLS is intercepted, build.sh passes that machine's CA bundle as
# the build secret ca-bundle: mounted for this step only, never stored in a layer.
# Without the secret (any other build) the step is the plain command.
RUN --mount=type=secret,id=ca-bundle \
    if [ -f /run/secrets/ca-bundle ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle; fi \
 && npm ci --omit=dev --ignore-scripts && npm cache clean --force \
 && mkdir /opt/deps && mv node_modules /opt/deps/
COPY bin/ bin/
COPY cli/ cli/
COPY lib/ lib/
COPY runtime-images/ runtime-images/
# Each command bundled ahead of time (cli/bundle.ts): bin/selfless.js then starts it
# without compiling the TypeScript sources, which under a worker's CPU limit took
# seconds of every cold start.
RUN ln -s /opt/deps/node_modules node_modules \
 && node --import tsx cli/bundle.ts --out dist agent \
 && rm node_modules

FROM python:3.13.9-slim-bookworm
# node links against libstdc++; the slim base does not carry it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libstdc++6 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Lambda's Python runtimes come with boto3.
# On a machine whose TLS is intercepted, build.sh passes that machine's CA bundle as
# the build secret ca-bundle: mounted for this step only, never stored in a layer.
# Without the secret (any other build) the step is the plain command.
RUN --mount=type=secret,id=ca-bundle \
    if [ -f /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
 && pip install --no-cache-dir boto3==1.44.5
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# The dependencies in a layer of their own, before the sources: a change to the sources
# alone rebuilds only the small layer after it.
COPY --from=build /opt/deps/node_modules /usr/local/lib/selfless/node_modules
COPY --from=build /usr/local/lib/selfless /usr/local/lib/selfless
ENV NODE_ENV=production SELFLESS_BUNDLE_DIR=/usr/local/lib/selfless/dist LAMBDA_TASK_ROOT=/var/task
USER 65532:65532
WORKDIR /var/task
ENTRYPOINT ["node", "/usr/local/lib/selfless/bin/selfless.js"]
CMD ["agent", "--help"]
