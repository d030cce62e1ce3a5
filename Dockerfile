# syntax=docker/dockerfile:1
# The operator's image: `frappe-operator run` (the manager of config/install.yaml) and
# `frappe-operator backup-agent …` (backup, SiteJob and restore Jobs). The sources run as
# TypeScript through Node 24's type stripping, as `npm start` runs them: there is no build step.
#
#   docker build -t ghcr.io/vyogotech/frappe-operator:0.1.0 .
#
# Two stages: `deps` installs package.json's `dependencies` (never the devDependencies) from
# package-lock.json with the official Node image's npm; the final stage is Debian with the Node
# binary of that image, those node_modules and src/, and no npm. It runs as UID/GID 65532 (numeric,
# so `runAsNonRoot` can check it), writes nothing (works with a read-only root filesystem) and
# needs no capability.
#
# NODE_IMAGE pins the same Node as package.json's `node` devDependency (a unit test checks it).
# Behind a TLS-intercepting proxy, give npm the proxy's CA as a build secret:
#   --secret id=npm-ca,src=/etc/ssl/certs/ca-certificates.crt
# The tests build this file with podman from locally made base images of the same names
# (test/harness/image.ts): nothing is pulled.
ARG NODE_IMAGE=docker.io/library/node:24.21.0-bookworm-slim
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm-ca \
    if [ -f /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=warn \
    && rm -rf /root/.npm

FROM ${RUNTIME_IMAGE}
RUN groupadd --system --gid 65532 nonroot \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin nonroot \
    && ln -s /app/bin/frappe-operator /usr/local/bin/frappe-operator
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY bin/frappe-operator ./bin/
USER 65532:65532
ENTRYPOINT ["frappe-operator"]
CMD ["--help"]
