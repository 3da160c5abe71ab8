#!/usr/bin/env bash
# npm run test:containers — imgfleet's three images built and run for real with
# rootful Podman: installs and configures Podman when missing, makes the local
# base images when missing (cached in Podman's storage), builds the images with
# the list k8s:up uses (k8s/scripts/images.sh), prints their sizes, then runs
# backend/test/containers/*.containers.ts (compiled) with node's test runner.
# Fails, never skips, when the engine cannot run.
set -euo pipefail
root="$(cd "${BASH_SOURCE[0]%/*}/../.." && pwd)"
cd "$root"
# shellcheck source=scripts/node24.sh
source scripts/node24.sh
# shellcheck source=scripts/containers/common.sh
source scripts/containers/common.sh

started=$SECONDS
bash scripts/containers/setup-podman.sh
bash scripts/containers/bases.sh

# shellcheck source=k8s/scripts/images.sh
source k8s/scripts/images.sh
# --format docker keeps the HEALTHCHECK (the OCI format has none); --layers reuses
# unchanged steps between runs.
build_images podman --format docker --layers "${CA_BUILD_ARGS[@]}"
built=$SECONDS

log "image sizes (uncompressed)"
for tag in image-processor:latest postgres-db:latest imgfleet-runtime:latest; do
  bytes="$(podman image inspect --format '{{.Size}}' "localhost/$tag")"
  printf '  %-26s %5d MB\n' "$tag" "$((bytes / 1000 / 1000))"
done

npm run build --silent
mapfile -t tests < <(find backend/dist/test/containers -maxdepth 1 -name '*.containers.js' | sort)
((${#tests[@]} > 0)) || die "no compiled container tests in backend/dist/test/containers"
# One file at a time: each starts several containers on a 2-core machine.
status=0
node --test --test-concurrency=1 --test-timeout=600000 "${tests[@]}" || status=$?
log "test:containers took $((SECONDS - started)) s (bases and builds $((built - started)) s)"
exit "$status"
