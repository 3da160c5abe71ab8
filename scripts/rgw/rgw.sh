#!/usr/bin/env bash
# A throwaway single-node Ceph cluster with a RADOS Gateway (S3) on a
# loopback port, from Debian's own packages, for the S3 blob store's tests,
# benches and container runs: one monitor, one OSD (bluestore in a sparse
# file), one radosgw, no manager (nothing here needs one).
#
#   rgw.sh [up]      install when missing (as root), create or restart the
#                    cluster, wait until S3 answers; print `export` lines
#   rgw.sh env       print the `export` lines of a running cluster
#   rgw.sh status    which daemons run (exit 1 unless all do)
#   rgw.sh stop-rgw  stop the gateway alone (the cluster keeps running)
#   rgw.sh start-rgw start it again and wait until it answers
#   rgw.sh stop      stop every daemon (data kept; `up` restarts them)
#   rgw.sh destroy   stop every daemon and remove the cluster's folder
#
# Idempotent and safe to run from several shells at once (one lock): a
# running cluster is reused, a stopped one restarted. Settings:
#   IMGFLEET_RGW_DIR       the cluster's folder (default /var/tmp/imgfleet-rgw)
#   IMGFLEET_RGW_PORT      the gateway's S3 port (default 7480)
#   IMGFLEET_RGW_BIND      the address it listens on (default 127.0.0.1;
#                          0.0.0.0 for containers to reach it)
#   IMGFLEET_RGW_MON_PORT  the monitor's port (default 13300, msgr2 only; fixed
#                          when the cluster is made)
# The exports: TEST_S3_ENDPOINT, TEST_S3_ACCESS_KEY_ID,
# TEST_S3_SECRET_ACCESS_KEY, TEST_S3_REGION and TEST_RGW_CONF (the
# cluster's ceph.conf, from which tests start gateways of their own). They
# are not the SDK's AWS_* names on purpose: a developer's real AWS
# credentials must never meet the test cluster, nor the reverse.
set -euo pipefail

DIR=${IMGFLEET_RGW_DIR:-/var/tmp/imgfleet-rgw}
PORT=${IMGFLEET_RGW_PORT:-7480}
BIND=${IMGFLEET_RGW_BIND:-127.0.0.1}
MON_PORT=${IMGFLEET_RGW_MON_PORT:-13300}
CONF=$DIR/ceph.conf
REGION=us-east-1
USER_ID=imgfleet-test

log() { printf 'rgw: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
# Every ceph CLI call is bounded: with a monitor down (or commands that
# need the manager we do not run) they would otherwise wait for ever.
ceph_cli() { timeout 30 ceph -c "$CONF" --connect-timeout 20 "$@"; }

install_packages() {
  local tools=(ceph-mon ceph-osd radosgw ceph radosgw-admin monmaptool ceph-authtool)
  local missing=0 t
  for t in "${tools[@]}"; do command -v "$t" >/dev/null 2>&1 || missing=1; done
  [ "$missing" = 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    die "Ceph's packages are missing: apt-get install --no-install-recommends ceph-mon ceph-osd radosgw ceph-common (or run as root)"
  fi
  log "installing Ceph's monitor, OSD, gateway and tools from Debian (about 265 MB)"
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw ceph-common)
  # Lists fetched by an earlier step are reused; a fresh machine needs them first.
  "${apt[@]}" >&2 || { apt-get -o DPkg::Lock::Timeout=120 update -qq >&2 && "${apt[@]}" >&2; }
}

write_conf() {
  local fsid=$1
  cat >"$CONF" <<EOF
# Written by scripts/rgw/rgw.sh: a throwaway single-node test cluster.
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
ms_bind_msgr1 = false
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
run_dir = $DIR/run
pid_file = $DIR/run/\$name.pid
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
# One OSD: every pool has one copy, placed on any OSD of the one host.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
# Quiet logs: the tests make many requests.
debug_ms = 0/0
debug_rgw = 0/5

[client.admin]
keyring = $DIR/admin.keyring

[mon.a]
mon_data = $DIR/mon
# The gateway's first start makes a dozen osdmap changes (its pools); at the
# default one proposal a second that alone is 12 s.
paxos_propose_interval = 0.05
mon_allow_pool_delete = true

[osd.0]
osd_data = $DIR/osd
keyring = $DIR/osd/keyring
osd_objectstore = bluestore
# The block file lives beside the OSD folder: inside it, bluestore's own
# "block" symlink would point to itself ("Too many levels of symbolic links").
bluestore_block_path = $DIR/osd.block
bluestore_block_create = true
bluestore_block_size = 21474836480
# Small memory: a test cluster on a shared machine.
osd_memory_target = 939524096
bluestore_cache_autotune = false
bluestore_cache_size = 134217728

[client.rgw.gateway]
keyring = $DIR/rgw.keyring
rgw_data = $DIR/rgw
rgw_thread_pool_size = 64
# Deleted objects' space comes back within a minute, not two hours.
rgw_gc_obj_min_wait = 60
rgw_gc_processor_period = 60
EOF
}

create_cluster() {
  log "creating a cluster in $DIR"
  stop_all # what a creation that failed half-way may have left running
  rm -rf "$DIR"
  mkdir -p "$DIR/run" "$DIR/log" "$DIR/mon" "$DIR/osd" "$DIR/rgw"
  local fsid osd_uuid secret id
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"
  ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$DIR/admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  # The gateway's key goes into the monitor's first keyring: no CLI round trip.
  ceph-authtool --create-keyring "$DIR/rgw.keyring" --gen-key -n client.rgw.gateway \
    --cap mon 'allow rw' --cap osd 'allow rwx' >/dev/null
  ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/admin.keyring" >/dev/null
  ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/rgw.keyring" >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring"
  start_mon
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  secret=$(ceph-authtool --gen-print-key)
  id=$(printf '{"cephx_secret": "%s"}' "$secret" | ceph_cli osd new "$osd_uuid" -i -)
  [ "$id" = 0 ] || die "expected osd.0, the monitor made osd.$id"
  ceph-authtool --create-keyring "$DIR/osd/keyring" -n osd.0 --add-key "$secret" >/dev/null
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" 2>>"$DIR/log/mkfs.log"
  : >"$DIR/created"
}

running() { # name program: the daemon's pid file names a live process of that program
  local pid
  pid=$(cat "$DIR/run/$1.pid" 2>/dev/null) || return 1
  # After a reboot the pid may belong to some other process.
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

# Daemons fork into the background. They get none of our descriptors: not
# the lock (fd 9, held by a daemon it would never be released) and not our
# stdout (the test runner reads it to its end).
daemon() { "$@" 9>&- </dev/null >>"$DIR/log/daemons.out" 2>&1; }
start_mon() { running mon.a ceph-mon || daemon ceph-mon -c "$CONF" -i a; }
start_osd() { running osd.0 ceph-osd || daemon ceph-osd -c "$CONF" -i 0; }
# The address is given at each start (not in ceph.conf): IMGFLEET_RGW_PORT and
# IMGFLEET_RGW_BIND apply whenever the gateway (re)starts.
start_gateway() {
  running client.rgw.gateway radosgw ||
    daemon radosgw -c "$CONF" -n client.rgw.gateway --rgw-frontends "beast endpoint=$BIND:$PORT"
}

# radosgw opens its port once it is ready to serve (its pools exist).
s3_answers() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; }

wait_for_gateway() {
  # The first start creates the gateway's pools, which waits for the OSD.
  local i
  for i in $(seq 1 240); do
    if s3_answers; then return 0; fi
    if [ "$i" -gt 8 ] && ! running client.rgw.gateway radosgw; then
      die "radosgw exited; see $DIR/log/client.rgw.gateway.log"
    fi
    sleep 0.25
  done
  die "radosgw is not answering on port $PORT; see $DIR/log/"
}

ensure_user() {
  [ -s "$DIR/credentials" ] && return 0
  local access secret info
  if info=$(timeout 60 radosgw-admin -c "$CONF" user info --uid="$USER_ID" 2>/dev/null); then
    # Made by a run that stopped before it wrote the credentials down.
    access=$(printf '%s\n' "$info" | sed -n '/"access_key"/{s/.*: "\(.*\)".*/\1/p;q}')
    secret=$(printf '%s\n' "$info" | sed -n '/"secret_key"/{s/.*: "\(.*\)".*/\1/p;q}')
  else
    # (cut, not head, ends the pipe: under pipefail a SIGPIPE'd tr would fail it)
    access=$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'A-Z0-9' | cut -c 1-20)
    secret=$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c 1-40)
    timeout 60 radosgw-admin -c "$CONF" user create --uid="$USER_ID" --display-name="imgfleet tests" \
      --access-key="$access" --secret-key="$secret" >/dev/null
  fi
  [ -n "$access" ] && [ -n "$secret" ] || die "could not read the keys of the user $USER_ID"
  printf '%s\n%s\n' "$access" "$secret" >"$DIR/credentials.tmp"
  mv "$DIR/credentials.tmp" "$DIR/credentials"
}

print_env() {
  [ -s "$DIR/credentials" ] || die "no cluster in $DIR (run: scripts/rgw/rgw.sh up)"
  local access secret
  { read -r access; read -r secret; } <"$DIR/credentials"
  echo "export TEST_S3_ENDPOINT=http://127.0.0.1:$PORT"
  echo "export TEST_S3_ACCESS_KEY_ID=$access"
  echo "export TEST_S3_SECRET_ACCESS_KEY=$secret"
  echo "export TEST_S3_REGION=$REGION"
  echo "export TEST_RGW_CONF=$CONF"
}

stop_daemon() { # name program: TERM, then wait for it to go (KILL after 20 s)
  local pid i
  running "$1" "$2" || return 0
  pid=$(cat "$DIR/run/$1.pid")
  kill -TERM "$pid"
  for i in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  log "$1 did not stop in 20 s: killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

stop_all() {
  stop_daemon client.rgw.gateway radosgw
  stop_daemon osd.0 ceph-osd
  stop_daemon mon.a ceph-mon
}

up() {
  install_packages
  if [ ! -e "$DIR/created" ]; then
    create_cluster
  else
    start_mon
  fi
  # The OSD takes seconds to start and the gateway waits for it anyway:
  # start both at once.
  start_osd &
  start_gateway
  wait $! || die "ceph-osd did not start; see $DIR/log/osd.0.log"
  wait_for_gateway
  ensure_user
  print_env
}

lock() { # one rgw.sh at a time changes the cluster
  mkdir -p "$(dirname "$DIR")"
  exec 9>"$DIR.lock"
  flock -w 600 9 || die "another rgw.sh has held $DIR.lock for 10 minutes"
}

case "${1:-up}" in
  up) lock; up ;;
  env) print_env ;;
  status)
    ok=0
    for d in mon.a:ceph-mon osd.0:ceph-osd client.rgw.gateway:radosgw; do
      if running "${d%%:*}" "${d#*:}"; then log "${d%%:*} running"; else log "${d%%:*} stopped"; ok=1; fi
    done
    exit "$ok"
    ;;
  stop-rgw) lock; stop_daemon client.rgw.gateway radosgw ;;
  start-rgw) lock; start_gateway; wait_for_gateway ;;
  stop) lock; stop_all ;;
  destroy) lock; stop_all; rm -rf "$DIR" ;;
  *) die "usage: rgw.sh [up|env|status|stop-rgw|start-rgw|stop|destroy]" ;;
esac
