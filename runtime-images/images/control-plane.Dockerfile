# The control plane: one image, the `selfless` CLI (gateway, tables, operator, and the
# agent that runs beside image functions). Build from the repository root:
#   docker build -f runtime-images/images/control-plane.Dockerfile -t selfless .
FROM node:24.11.0-bookworm-slim AS build
# better-sqlite3 builds from source (package.json allowScripts).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /usr/local/lib/selfless
COPY package.json package-lock.json tsconfig.json ./
# On a machine whose TLS is intercepted, build.sh passes that machine's CA bundle as
# the build secret ca-bundle: mounted for this step only, never stored in a layer.
# Without the secret (any other build) the step is the plain command.
RUN --mount=type=secret,id=ca-bundle \
    if [ -f /run/secrets/ca-bundle ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca-bundle; fi \
 && npm ci --omit=dev && npm cache clean --force \
 && mkdir /opt/deps && mv node_modules /opt/deps/
COPY bin/ bin/
COPY cli/ cli/
COPY lib/ lib/
COPY crds/ crds/
COPY gateway/ gateway/
COPY tables/ tables/
COPY operator/ operator/
COPY runtime-images/ runtime-images/
# Each command bundled ahead of time (cli/bundle.ts): bin/selfless.js then starts it
# without compiling the TypeScript sources, which under a worker's CPU limit took
# seconds of every cold start.
RUN ln -s /opt/deps/node_modules node_modules \
 && node --import tsx cli/bundle.ts --out dist \
 && rm node_modules

FROM node:24.11.0-bookworm-slim
# The dependencies in a layer of their own, before the sources: a change to the sources
# alone rebuilds only the small layer after it.
COPY --from=build /opt/deps/node_modules /usr/local/lib/selfless/node_modules
COPY --from=build /usr/local/lib/selfless /usr/local/lib/selfless
ENV NODE_ENV=production SELFLESS_BUNDLE_DIR=/usr/local/lib/selfless/dist
# The commands start from their bundles in dist/; anything else runs through tsx, which
# compiles on load and caches in the temp directory: with a read-only root filesystem
# that is /tmp, an emptyDir in the chart.
USER 65532:65532
WORKDIR /usr/local/lib/selfless
ENTRYPOINT ["node", "/usr/local/lib/selfless/bin/selfless.js"]
CMD ["--help"]
