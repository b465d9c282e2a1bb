# syntax=docker/dockerfile:1
# The cutover bot: one image, two processes (see Procfile and deploy/):
#   web     node --import tsx src/bot.ts
#   worker  node --import tsx jobs/worker.ts
# TypeScript runs through tsx, a production dependency, so there is no compile step.
# Docker cannot run on the development machine or in CI; test/deploy/manifests.test.ts checks
# this file's shape (stages, non-root user, npm ci --omit=dev, entry command) instead.

# Stage 1: production dependencies only, from the lockfile.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# Stage 2: the runtime image, without npm's cache or build tooling.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    CUTOVER_CONFIG=/etc/cutover/config/cutover.yaml \
    PORT=3000
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json package-lock.json tsconfig.json ./
COPY --chown=root:root src ./src
COPY --chown=root:root bin ./bin
COPY --chown=root:root jobs ./jobs
COPY --chown=root:root config ./config
# The image's files stay owned by root and read-only to the app; it runs as the unprivileged
# "node" user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
CMD ["node", "--import", "tsx", "src/bot.ts"]
