# syntax=docker/dockerfile:1
# The cutover bot: one image, two processes (see Procfile and deploy/), plain node on the build:
#   web     node dist/src/bot.js
#   worker  node dist/jobs/worker.js
#   CLI     node bin/cutover.js (also in the image, e.g. `kubectl exec ... -- node bin/cutover.js status`)
# Docker cannot run on the development machine or in CI; test/deploy/manifests.test.ts checks
# this file's shape (stages, what the runtime stage copies, non-root user, entry command) instead,
# and test/deploy/build.test.ts builds dist/ and runs it with plain node.

# Stage 1: compile. `npm run build` type-checks and emits nothing on a type error (noEmitOnError),
# then bundles the CLI into dist/cli/ (scripts/bundle-cli.mjs).
# --ignore-scripts: `prepare` would build before the sources are copied.
# Node 24: an LTS line (supported to April 2028); package.json "engines" names 22 and 24.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY jobs ./jobs
COPY scripts ./scripts
RUN npm run build

# Stage 2: production dependencies only, from the lockfile (no tsx, TypeScript or test tools).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# Stage 3: the runtime image: compiled JavaScript and production dependencies, no sources.
FROM node:24-bookworm-slim AS runtime
# NODE_OPTIONS: the web process's heap cap (CMD runs the web process), the same as deploy/web.yaml's;
# deploy/worker.yaml sets the worker's own. Sized by `npm run bench:soak` (docs/operating.md).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=256 \
    CUTOVER_CONFIG=/etc/cutover/config/cutover.yaml \
    PORT=3000
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json package-lock.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root config ./config
# The image's files stay owned by root and read-only to the app; it runs as the unprivileged
# "node" user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
CMD ["node", "dist/src/bot.js"]
