# Shared by the container scripts (sourced, not run).
# shellcheck shell=bash
log() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Builds trust the host's certificate authorities (package downloads inside a
# build may pass a proxy that re-signs TLS): the host's bundle is mounted at build
# time, and npm is pointed at it by a global npmrc mounted the same way, so the
# Dockerfiles themselves stay the standard ones. The bundle goes beside, not over,
# the image's /etc/ssl/certs: packages installed in a build write there (ssl-cert).
ca_bundle=/etc/ssl/certs/ca-certificates.crt
CA_BUILD_ARGS=()
if [[ -f "$ca_bundle" ]]; then
  npmrc_dir="${XDG_RUNTIME_DIR:-/tmp}/imgfleet-build"
  mkdir -p "$npmrc_dir"
  printf 'cafile=/run/imgfleet-host-ca.crt\n' >"$npmrc_dir/npmrc"
  CA_BUILD_ARGS=(--volume "$ca_bundle:/run/imgfleet-host-ca.crt:ro" --volume "$npmrc_dir/npmrc:/usr/local/etc/npmrc:ro")
fi
