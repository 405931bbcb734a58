#!/usr/bin/env bash
# PostgreSQL and Redis for local development and tests, from the Debian packages (no Docker).
#
#   infra/local/services.sh [ensure]   start whichever of the two does not answer, wait for both
#   infra/local/services.sh check      only report whether both answer
#
# Exit status 0 when both answer; 1 (with the service named on stderr) when either does not.
#
# Environment:
#   TPH_PG_HOST / TPH_PG_PORT         PostgreSQL to check (default 127.0.0.1 / 5432)
#   TPH_REDIS_HOST / TPH_REDIS_PORT   Redis to check (default 127.0.0.1 / 6379)
#   TPH_SERVICES_TIMEOUT              seconds `ensure` waits for both (default 30)
#
# Only a service on this machine (127.0.0.1, localhost, ::1) is ever started; a missing package is
# installed with apt-get only when running as root. Redis runs without persistence. Nothing is
# ever stopped.

set -euo pipefail

PG_HOST="${TPH_PG_HOST:-127.0.0.1}"
PG_PORT="${TPH_PG_PORT:-5432}"
REDIS_HOST="${TPH_REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${TPH_REDIS_PORT:-6379}"
TIMEOUT="${TPH_SERVICES_TIMEOUT:-30}"

PROG="$(basename "$0")"

say() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }

usage() {
    cat <<EOF
usage: $PROG [ensure|check]
  ensure  (default) start PostgreSQL ($PG_HOST:$PG_PORT) and Redis ($REDIS_HOST:$REDIS_PORT) when
          they do not answer, and wait up to ${TIMEOUT}s for both
  check   only report whether both answer
EOF
}

have() { command -v "$1" >/dev/null 2>&1; }

is_local() {
    case "$1" in
        127.0.0.1 | localhost | ::1) return 0 ;;
        *) return 1 ;;
    esac
}

# A command bounded in time when coreutils' timeout exists (a black-holed host must not hang us).
bounded() {
    if have timeout; then
        timeout 3 "$@"
    else
        "$@"
    fi
}

pg_up() {
    have pg_isready || return 1
    bounded pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2
}

redis_up() {
    local answer
    if have redis-cli; then
        answer="$(bounded redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null || true)"
    else
        # No redis-cli: speak RESP over bash's /dev/tcp.
        answer="$(bounded bash -c '
            exec 3<>"/dev/tcp/$0/$1" || exit 1
            printf "PING\r\n" >&3
            IFS= read -r line <&3 && printf "%s" "$line"
        ' "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null || true)"
    fi
    [[ "${answer%$'\r'}" == "PONG" || "${answer%$'\r'}" == "+PONG" ]]
}

# apt_install PACKAGE: install a Debian package, only as root and only where apt-get exists.
apt_install() {
    local package="$1"
    if [[ "$(id -u)" -ne 0 ]]; then
        warn "$package is not installed, and installing it needs root: sudo apt-get install -y $package"
        return 1
    fi
    if ! have apt-get; then
        warn "$package is not installed, and there is no apt-get here to install it"
        return 1
    fi
    say "installing $package (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$package"
}

start_postgres() {
    if ! is_local "$PG_HOST"; then
        warn "PostgreSQL at $PG_HOST:$PG_PORT is not on this machine; not starting it"
        return 0
    fi
    if [[ ! -d /etc/postgresql ]] || ! have pg_ctlcluster; then
        apt_install postgresql || return 0
    fi
    # The newest installed version with a cluster named main.
    local version
    version="$(
        for dir in /etc/postgresql/*/main; do
            if [[ -d "$dir" ]]; then basename "$(dirname "$dir")"; fi
        done | sort -V | tail -n 1
    )"
    if [[ -z "$version" ]]; then
        warn "no PostgreSQL cluster named main under /etc/postgresql; not starting PostgreSQL"
        return 0
    fi
    say "starting PostgreSQL $version/main"
    # Fails when the cluster already runs (e.g. it listens elsewhere): the wait below tells.
    pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
        warn "pg_ctlcluster $version main start failed (exit $?)"
}

start_redis() {
    if ! is_local "$REDIS_HOST"; then
        warn "Redis at $REDIS_HOST:$REDIS_PORT is not on this machine; not starting it"
        return 0
    fi
    if ! have redis-server; then
        apt_install redis-server || return 0
    fi
    say "starting Redis on 127.0.0.1:$REDIS_PORT (no persistence)"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no ||
        warn "redis-server failed to start (exit $?)"
}

check() {
    local failed=0
    if pg_up; then
        say "PostgreSQL answers at $PG_HOST:$PG_PORT"
    else
        have pg_isready || warn "pg_isready is not installed (package postgresql-client)"
        warn "PostgreSQL does not answer at $PG_HOST:$PG_PORT"
        failed=1
    fi
    if redis_up; then
        say "Redis answers at $REDIS_HOST:$REDIS_PORT"
    else
        warn "Redis does not answer PONG at $REDIS_HOST:$REDIS_PORT"
        failed=1
    fi
    return "$failed"
}

ensure() {
    pg_up || start_postgres
    redis_up || start_redis

    local deadline=$((SECONDS + TIMEOUT))
    local pg_ok=0 redis_ok=0
    while :; do
        ((pg_ok)) || { pg_up && pg_ok=1; } || true
        ((redis_ok)) || { redis_up && redis_ok=1; } || true
        if ((pg_ok && redis_ok)) || ((SECONDS >= deadline)); then
            break
        fi
        sleep 0.5
    done

    if ((!pg_ok)); then
        warn "FAILED: PostgreSQL does not answer at $PG_HOST:$PG_PORT after ${TIMEOUT}s"
    fi
    if ((!redis_ok)); then
        warn "FAILED: Redis does not answer PONG at $REDIS_HOST:$REDIS_PORT after ${TIMEOUT}s"
    fi
    if ((!pg_ok || !redis_ok)); then
        exit 1
    fi
    say "PostgreSQL ($PG_HOST:$PG_PORT) and Redis ($REDIS_HOST:$REDIS_PORT) answer"
}

case "${1:-ensure}" in
    ensure) ensure ;;
    check) check || exit 1 ;;
    -h | --help | help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
esac
