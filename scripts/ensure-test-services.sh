#!/usr/bin/env bash
# Makes sure what the tests talk to is there and running: PostgreSQL on
# 127.0.0.1:5432, Redis on 127.0.0.1:6379, python3 (function runtime) and
# Debian's Chromium (renderer tests). As root it installs missing Debian
# packages and starts stopped services; otherwise it says what is missing.
# Prints `export NAME=value` lines for the test runner when it had to set a
# database password (a fresh Debian PostgreSQL does not trust TCP logins).
set -euo pipefail

log() { printf 'ensure-test-services: %s\n' "$*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }

missing=()
command -v pg_ctlcluster >/dev/null 2>&1 || command -v pg_isready >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# The runtime image's Python is Debian's, with redis-py (handlers `import redis`) and pip (REQUIREMENTS).
/usr/bin/python3 -c 'import redis' >/dev/null 2>&1 || missing+=(python3-redis)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ ${#missing[@]} -gt 0 ]; then
  if is_root && command -v apt-get >/dev/null 2>&1; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    log "missing: ${missing[*]} (install them, or run as root to have them installed)"
    exit 1
  fi
fi

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q; }
if ! pg_up; then
  if is_root && command -v pg_ctlcluster >/dev/null 2>&1; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    [ -d "/etc/postgresql/$version/main" ] || pg_createcluster "$version" main >&2
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  fi
  for _ in $(seq 1 60); do pg_up && break; sleep 0.5; done
  pg_up || { log "PostgreSQL is not answering on 127.0.0.1:5432"; exit 1; }
fi

# The tests connect as postgres over TCP. Where that needs a password (a
# fresh Debian install), set one and hand the URL to the tests.
if ! psql -h 127.0.0.1 -U postgres -d postgres -w -Atc 'SELECT 1' >/dev/null 2>&1; then
  if is_root; then
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >&2
    echo "export TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres"
  else
    log "cannot log in to PostgreSQL as postgres on 127.0.0.1; set TEST_DATABASE_URL"
  fi
fi

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! redis_up; then
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir "$( [ -w /var/lib/redis ] && echo /var/lib/redis || echo /tmp )" \
    --logfile "$( [ -w /var/log/redis ] && echo /var/log/redis/ci.log || echo /tmp/redis-ci.log )" >&2
  for _ in $(seq 1 40); do redis_up && break; sleep 0.25; done
  redis_up || { log "Redis is not answering on 127.0.0.1:6379"; exit 1; }
fi

# The S3 store's tests: a throwaway Ceph cluster with a RADOS Gateway (TEST_S3_* exports).
bash "$(dirname "$0")/rgw/rgw.sh" up
