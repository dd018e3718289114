# syntax=docker/dockerfile:1
# backoff-guard: the validating admission webhook, on Node.js 24 LTS.
#
#   docker build -t backoff-guard .
#   docker run --rm --read-only --tmpfs /tmp -p 8443:8443 \
#     -v "$PWD/certs:/etc/backoff-guard/tls:ro" backoff-guard      # certs/: tls.crt + tls.key
#
# The Helm chart (charts/backoff-guard) runs it with `serve --config /etc/backoff-guard/config.yaml`,
# the serving certificate mounted at /etc/backoff-guard/tls, a read-only root file system and an
# emptyDir at /tmp: nothing is written anywhere else.

ARG NODE_IMAGE=node:24-bookworm-slim

# 1. Build: all dependencies (TypeScript) -> dist/
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only (no TypeScript, no tap), as `npm ci --omit=dev` installs them.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# 3. Run: Node.js 24 LTS, production dependencies, the compiled code and its data, a numeric
# non-root user. The app files stay owned by root, so the process cannot change them.
FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="backoff-guard" \
      org.opencontainers.image.description="Kubernetes validating admission webhook that denies pods certain to hit ImagePullBackOff or CrashLoopBackOff" \
      org.opencontainers.image.licenses="Apache-2.0"
# HOME=/tmp: nothing may be written outside /tmp (read-only root file system).
# The certificate paths are where the chart mounts the serving Secret (environment overrides win
# over the config file); development certificates are never generated in the image (it could not
# write them anyway).
ENV NODE_ENV=production \
    HOME=/tmp \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    BACKOFF_GUARD_TLS_CERT_FILE=/etc/backoff-guard/tls/tls.crt \
    BACKOFF_GUARD_TLS_KEY_FILE=/etc/backoff-guard/tls/tls.key \
    BACKOFF_GUARD_TLS_GENERATE=false
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The Docker Official Images list, read at run time from ../../data relative to dist/image/.
COPY data ./data
COPY package.json ./
# Mount point of the certificate (empty in the image); a smoke test that the production
# dependencies load.
RUN mkdir -p /etc/backoff-guard/tls && node --liftoff-only /app/dist/cli/main.js --version
# The numeric form satisfies `runAsNonRoot` without an /etc/passwd lookup.
USER 65532:65532
EXPOSE 8443
# Kubernetes sends SIGTERM; the server turns not-ready, drains the reviews in flight, then exits.
# node is PID 1 here and handles SIGTERM/SIGINT itself (it starts no child processes in a cluster).
STOPSIGNAL SIGTERM
# --liftoff-only: undici's HTTP parser (llhttp) is WebAssembly, and V8's optimizing tier compiles
# its large state-machine function the first time a big body streams through, a one-time spike
# of 20-30 MB RSS (measured on Node.js 20 and 24) for a parse speed this webhook never needs: the
# baseline compiler alone indexes a 100 MB image as fast (README, Performance). V8 accepts the
# flag only on the command line (not in NODE_OPTIONS); bench/ starts its servers with these flags.
ENTRYPOINT ["node", "--liftoff-only", "/app/dist/cli/main.js"]
CMD ["serve"]
