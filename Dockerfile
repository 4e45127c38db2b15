# syntax=docker/dockerfile:1
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY workers ./workers
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node bin ./bin
COPY --chown=node:node examples ./examples
USER node
# SIGTERM lets in-flight calls finish (SEAL_SHUTDOWN_GRACE_MS) before the process exits.
STOPSIGNAL SIGTERM
# Healthy while Redis answers; the dashboard service overrides this with its /healthz.
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["node", "bin/sealmail.js", "ping"]
ENTRYPOINT ["node", "bin/sealmail.js"]
CMD ["worker"]
