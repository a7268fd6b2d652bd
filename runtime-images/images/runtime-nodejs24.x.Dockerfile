# The nodejs24.x runtime: the agent (selfless agent) and the Node.js runtime bootstrap on
# Node.js 24.11.0. Build from the repository root:
#   docker build -f runtime-images/images/runtime-nodejs24.x.Dockerfile -t selfless-runtime-nodejs24.x .
FROM node:24.11.0-bookworm-slim AS build
WORKDIR /usr/local/lib/selfless
COPY package.json package-lock.json tsconfig.json ./
# The agent needs no native addon: install scripts (better-sqlite3) are skipped.
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

FROM node:24.11.0-bookworm-slim
# The dependencies in a layer of their own, before the sources: a change to the sources
# alone rebuilds only the small layer after it.
COPY --from=build /opt/deps/node_modules /usr/local/lib/selfless/node_modules
COPY --from=build /usr/local/lib/selfless /usr/local/lib/selfless
# Lambda's Node.js runtimes come with the AWS SDK v3: the agent's own copy serves, and
# a node_modules above /var/task lets both require() and import find it.
RUN mkdir -p /node_modules && ln -s /usr/local/lib/selfless/node_modules/@aws-sdk /node_modules/@aws-sdk
ENV NODE_ENV=production SELFLESS_BUNDLE_DIR=/usr/local/lib/selfless/dist LAMBDA_TASK_ROOT=/var/task
USER 65532:65532
WORKDIR /var/task
ENTRYPOINT ["node", "/usr/local/lib/selfless/bin/selfless.js"]
CMD ["agent", "--help"]
