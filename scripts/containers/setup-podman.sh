#!/usr/bin/env bash
# Installs and configures rootful Podman from Debian's packages, so that
# `npm run test:containers` can build and run imgfleet's images on a fresh
# machine of the development/CI kind (Debian bookworm, root, no registry).
#
# Why each setting (all written to /etc/containers/containers.conf.d/):
#   runtime = "runc"          crun 1.8 (bookworm) refuses this host's hybrid cgroup layout
#   cgroup_manager = cgroupfs no systemd as PID 1 in the sandbox
#   events_logger = "file"    no journald
#   default_ulimits           podman's defaults ask for more than the sandbox allows
#                             (the process lacks CAP_SYS_RESOURCE)
# Idempotent: does nothing but check when everything is in place.
set -euo pipefail

log() { printf '==> %s\n' "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

packages=(podman runc debootstrap uidmap slirp4netns fuse-overlayfs netavark aardvark-dns
  containernetworking-plugins ca-certificates)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  [[ $(id -u) -eq 0 ]] || die "installing ${missing[*]} needs root (rootful Podman is what the tests use)"
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another process (an unattended upgrade, a parallel job) may hold dpkg's lock:
  # wait for it rather than fail at once.
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

conf=/etc/containers/containers.conf.d/50-imgfleet.conf
mkdir -p "${conf%/*}"
want='# Written by imgfleet scripts/containers/setup-podman.sh (see there why).
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
'
if [[ ! -f "$conf" ]] || [[ "$(cat "$conf")" != "${want%$'\n'}" ]]; then
  log "writing $conf"
  printf '%s' "$want" >"$conf"
fi

# Prove the engine can run something at all; the caller fails loudly otherwise.
podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}} {{.Store.GraphDriverName}}' >/dev/null ||
  die "podman cannot run on this machine (podman info failed)"
log "podman $(podman version --format '{{.Client.Version}}') ready: $(podman info --format '{{.Host.OCIRuntime.Name}}, {{.Host.CgroupManager}}, {{.Store.GraphDriverName}}')"
