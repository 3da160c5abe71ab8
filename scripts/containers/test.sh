#!/usr/bin/env bash
# npm run test:containers — imgfleet's three images built and run for real with
# rootful Podman: installs and configures Podman when missing, makes the local
# base images when missing (cached in Podman's storage), builds the images with
# the list and the tags k8s:up uses (k8s/scripts/images.sh: <version>-<commit>),
# prints their sizes, then runs backend/test/containers/*.containers.ts (compiled)
# with node's test runner, telling them the tags in IMGFLEET_IMAGES.
# Fails, never skips, when the engine cannot run.
#   TEST_S3_ENDPOINT, TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY, TEST_S3_REGION:
#   the S3 store of the cluster-on-S3 test (cluster-s3.containers.ts); unset, a
#   throwaway Ceph RADOS Gateway is started for it (scripts/rgw/rgw.sh) and removed.
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

# shellcheck source=k8s/scripts/common.sh
source k8s/scripts/common.sh
# shellcheck source=k8s/scripts/images.sh
source k8s/scripts/images.sh
remember_image_tags

# podman_build NAME DOCKERFILE CONTEXT. --format docker keeps the HEALTHCHECK (the OCI
# format has none); --layers reuses unchanged steps between runs.
# shellcheck disable=SC2329 # called through for_each_image
podman_build() {
  local ref
  ref="$(image_ref "$1")"
  log "podman build -t $ref -f $2 $3"
  podman build --format docker --layers "${CA_BUILD_ARGS[@]}" -t "$ref" -f "$2" "$3"
}
for_each_image podman_build
built=$SECONDS

# Earlier tags of the same images: removed, so that a tag per commit does not fill
# the disk (their layers stay while the new images share them).
# shellcheck disable=SC2329 # called through for_each_image
forget_other_tags() {
  local ref old
  ref="localhost/$(image_ref "$1")"
  while IFS= read -r old; do
    if [[ -n "$old" && "$old" != "$ref" ]]; then podman rmi "$old" >/dev/null 2>&1 || true; fi
  done < <(podman images --format '{{.Repository}}:{{.Tag}}' --filter "reference=localhost/$1")
}
for_each_image forget_other_tags

log "image sizes (uncompressed)"
refs=()
# shellcheck disable=SC2329 # called through for_each_image
report_size() {
  local ref bytes
  ref="$(image_ref "$1")"
  refs+=("$ref")
  bytes="$(podman image inspect --format '{{.Size}}' "localhost/$ref")"
  printf '  %-44s %5d MB\n' "$ref" "$((bytes / 1000 / 1000))"
}
for_each_image report_size
# The tests run exactly these (backend/test/containers/support/podman.ts).
export IMGFLEET_IMAGES="${refs[*]}"

# The cluster-on-S3 test's store: a Ceph RADOS Gateway of this run's own (its own
# folder and ports, so a gateway other tests share is left alone), listening on every
# interface so that the containers reach it through their network's gateway address.
if [[ -z "${TEST_S3_ENDPOINT:-}" ]]; then
  if [[ -f scripts/rgw/rgw.sh ]]; then
    export IMGFLEET_RGW_DIR=/var/tmp/imgfleet-rgw-containers IMGFLEET_RGW_PORT=7481 IMGFLEET_RGW_MON_PORT=13301 IMGFLEET_RGW_BIND=0.0.0.0
    trap 'bash scripts/rgw/rgw.sh destroy >/dev/null 2>&1 || true' EXIT
    # (not eval "$(…)": eval would swallow the script's failure)
    rgw_exports="$(bash scripts/rgw/rgw.sh up)" || die "the Ceph RADOS Gateway did not start (scripts/rgw/rgw.sh up, above)"
    eval "$rgw_exports"
    log "S3 for the containers: $TEST_S3_ENDPOINT (Ceph RGW, $IMGFLEET_RGW_DIR)"
  else
    log "no scripts/rgw/rgw.sh and no TEST_S3_ENDPOINT: the cluster-on-S3 test will fail"
  fi
fi

npm run build --silent
mapfile -t tests < <(find backend/dist/test/containers -maxdepth 1 -name '*.containers.js' | sort)
((${#tests[@]} > 0)) || die "no compiled container tests in backend/dist/test/containers"
# One file at a time: each starts several containers on a 2-core machine.
status=0
node --test --test-concurrency=1 --test-timeout=600000 "${tests[@]}" || status=$?
log "test:containers took $((SECONDS - started)) s (bases and builds $((built - started)) s)"
exit "$status"
