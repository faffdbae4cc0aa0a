# Tidings in a container: a build stage that compiles dist/, a slim runtime stage that runs it
# as the unprivileged `node` user. test/deploy/dockerfile.test.ts runs this file's own steps
# (its COPY, RUN, ENV, CMD and HEALTHCHECK lines) in a clean folder, so they are known to work
# although no Docker engine runs there. Build: docker build -t tidings .
#
# Settings come from the environment (README "Configuration"). Without DATABASE_URL the
# embedded store keeps its files in the /data volume (one process per volume).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY bin ./bin
COPY src ./src
COPY catalogs ./catalogs
# npm ci builds dist/ through the `prepare` script; then the development packages go.
RUN npm ci --no-audit --no-fund
RUN npm prune --omit=dev --no-audit --no-fund
RUN mkdir -p data

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    TIDINGS_DATA_DIR=/data \
    TIDINGS_HOST=0.0.0.0 \
    TIDINGS_PORT=8080 \
    TIDINGS_OPS_HOST=0.0.0.0 \
    TIDINGS_OPS_PORT=9090 \
    TIDINGS_LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/catalogs ./catalogs
COPY --from=build --chown=node:node /app/data /data
USER node
VOLUME ["/data"]
# 8080: the API (api role); 9090: the ops listener (/metrics, /healthz, /readyz) of every role.
EXPOSE 8080 9090
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.TIDINGS_OPS_PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/tidings.js", "serve"]
