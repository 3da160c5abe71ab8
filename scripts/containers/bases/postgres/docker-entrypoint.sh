#!/usr/bin/env bash
# imgfleet's entrypoint for the local stand-in of the official postgres image.
# It keeps that image's documented contract (the one k8s/postgres.yaml and
# docker/Dockerfile.db rely on), written here from its documentation:
#   - POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER
#     (default postgres), POSTGRES_DB (default: the user's name),
#     POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR; each also as <NAME>_FILE;
#   - an empty PGDATA is initialised once, then every *.sql, *.sql.gz and *.sh
#     in /docker-entrypoint-initdb.d runs, in name order, against POSTGRES_DB
#     on a server that listens on the socket only;
#   - started as root, it fixes the data folder's owner and steps down to
#     postgres; started as any other user, it runs as that user.
set -Eeuo pipefail

log() { printf '%s [entrypoint] %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }

# NAME from NAME or from the file NAME_FILE names (secrets mounted as files).
from_env_or_file() {
  local name=$1 default=${2:-} file_var="${1}_FILE"
  if [ -n "${!name:-}" ] && [ -n "${!file_var:-}" ]; then
    log "both $name and $file_var are set; set one"
    exit 1
  fi
  if [ -n "${!file_var:-}" ]; then export "$name"="$(<"${!file_var}")"; else export "$name"="${!name:-$default}"; fi
  unset "$file_var"
}

# Flags first means the server with those flags; anything else but the server is run as asked.
first=${1:-}
if [ "${first:0:1}" = '-' ]; then set -- postgres "$@"; fi
if [ "${1:-}" != postgres ]; then exec "$@"; fi
# `postgres --version` and friends only print and exit: no data folder needed.
for arg in "$@"; do
  case "$arg" in -V | --version | -'?' | --help | -C | --describe-config) exec "$@" ;; esac
done

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

from_env_or_file POSTGRES_PASSWORD
from_env_or_file POSTGRES_USER postgres
from_env_or_file POSTGRES_DB "$POSTGRES_USER"
from_env_or_file POSTGRES_INITDB_ARGS
: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    log 'the database is uninitialised and POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)'
    exit 1
  fi
  # An arbitrary uid (OpenShift-style) has no passwd entry, which initdb needs.
  if ! getent passwd "$(id -u)" >/dev/null; then
    lib=$(ls /usr/lib/*/libnss_wrapper.so 2>/dev/null | head -n 1 || true)
    if [ -n "$lib" ]; then
      NSS_WRAPPER_PASSWD=$(mktemp)
      NSS_WRAPPER_GROUP=$(mktemp)
      export NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP LD_PRELOAD=$lib
      printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$(id -u)" "$(id -g)" "$PGDATA" >"$NSS_WRAPPER_PASSWD"
      printf 'postgres:x:%s:\n' "$(id -g)" >"$NSS_WRAPPER_GROUP"
    fi
  fi
  log "initialising $PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  waldir=()
  if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then waldir=(--waldir "$POSTGRES_INITDB_WALDIR"); fi
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of flags, split on purpose.
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" "${waldir[@]}" $POSTGRES_INITDB_ARGS
  rm -f "$pwfile"
  unset LD_PRELOAD
  # Reachable over the pod network, with passwords (or trust, when asked for).
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

  # A server for the init scripts only: no TCP, so nobody connects half-way.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
  export PGPASSWORD=$POSTGRES_PASSWORD
  psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres)
  if [ "$POSTGRES_DB" != postgres ]; then
    # psql interpolates :"db" (quoted as an identifier) in what it reads, not in -c.
    "${psql[@]}" --set db="$POSTGRES_DB" >/dev/null <<<'CREATE DATABASE :"db";'
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh) log "running $f"; . "$f" ;;
      *.sql) log "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
      *) log "ignoring $f" ;;
    esac
  done
  unset PGPASSWORD
  pg_ctl -D "$PGDATA" -m fast -w stop
  # The official image's words, which scripts and tests wait for.
  log 'PostgreSQL init process complete; ready for start up.'
fi

exec "$@"
