# syntax=docker/dockerfile:1
# The backend image (API, web UI, worker threads, queue), tagged image-processor:latest
# as in the earlier system. Build context: the repository root.
#   docker build -t image-processor:latest -f docker/Dockerfile.app .
# k8s/scripts/up.sh builds it inside minikube's Docker (`eval $(minikube docker-env)`).

# sharp's prebuilt libvips binaries need glibc: Debian, not Alpine.
ARG NODE_IMAGE=node:20-bookworm-slim

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
COPY backend/package.json backend/
COPY desktop/package.json desktop/
RUN npm ci
COPY tsconfig.base.json tsconfig.json ./
COPY backend backend
COPY desktop desktop
# tsc -b (backend and desktop) and the renderer bundle: backend/dist, desktop/dist/renderer.
RUN npm run build

# ---- runtime: the backend's production dependencies and the build output ----------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
# MALLOC_ARENA_MAX: glibc gives every thread that allocates its own arena;
# with libvips in four worker threads that fragments memory (measured: peak
# RSS 365 → 340 MiB over 60 twelve-megapixel photos). sharp recommends it.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    MALLOC_ARENA_MAX=2 \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false
COPY package.json package-lock.json ./
COPY backend/package.json backend/
COPY desktop/package.json desktop/
# Only the backend workspace's dependencies (no Electron, no build tools).
RUN npm ci --omit=dev --workspace backend \
 && npm cache clean --force
COPY --from=build /app/backend/dist/src backend/dist/src
# Served at / by the backend, which looks for it at <repo>/desktop/dist/renderer.
COPY --from=build /app/desktop/dist/renderer desktop/dist/renderer
COPY backend/python backend/python
COPY backend/functions backend/functions
# A numeric, unprivileged user (the Deployment runs as 10001 with runAsNonRoot).
# Everything above stays owned by root: the application cannot modify itself.
RUN groupadd --system --gid 10001 imgfleet \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin imgfleet
USER 10001:10001
EXPOSE 8080
# For `docker run`; Kubernetes uses the Deployment's probes instead.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1's only process: SIGTERM reaches the backend, which drains.
CMD ["node", "backend/dist/src/main.js"]
