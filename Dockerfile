# syntax=docker/dockerfile:1
# Build: dev dependencies + TypeScript -> dist/
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Run: Node.js 24 LTS, production dependencies only, non-root numeric user.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY data ./data
# Certificates and config are mounted (the chart mounts /etc/backoff-guard/tls and /etc/backoff-guard/config.yaml).
ENV BACKOFF_GUARD_TLS_CERT_FILE=/etc/backoff-guard/tls/tls.crt \
    BACKOFF_GUARD_TLS_KEY_FILE=/etc/backoff-guard/tls/tls.key
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve"]
