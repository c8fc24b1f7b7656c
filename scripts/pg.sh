#!/usr/bin/env bash
# A throwaway local PostgreSQL 15 for development and tests — no Docker, no service manager.
#
#   scripts/pg.sh start [DIR] [PORT]   initdb if needed, start, create role and database "relay";
#                                      the last line printed is the connection string
#   scripts/pg.sh stop  [DIR]          stop it (fast shutdown) if it is running
#   scripts/pg.sh url   [DIR] [PORT]   print the connection string
#   scripts/pg.sh status [DIR]         exit 0 if it is running, 3 if not
#
# DIR is the data directory. By default it is .dev/pg in the repository (git-ignored). initdb and pg_ctl refuse to
# run as root, so as root they run as the "postgres" user, who must be able to reach DIR; a checkout under a
# folder that user cannot traverse (a root-owned 700 home, say) gets /tmp/relay-pg-<hash of the repo path>
# instead. That is more robust than loosening permissions on folders this script does not own, and the hash
# keeps two checkouts from sharing a cluster. The choice depends only on the folders' permissions, so start,
# stop and url agree on it. PORT defaults to 5433, beside a system PostgreSQL on 5432.
#
# Durability is off (fsync, synchronous_commit, full_page_writes): a crash may lose the cluster, which is fine
# for data that only tests and local runs make. Authentication is "trust", and the server listens on 127.0.0.1
# only.
set -euo pipefail

readonly PG_VERSION=15
readonly PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin"
readonly DEFAULT_PORT=5433
readonly REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

usage() {
    echo "usage: $0 start [DIR] [PORT] | stop [DIR] | url [DIR] [PORT] | status [DIR]" >&2
    exit 2
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# Runs a PostgreSQL server tool as a user it accepts.
as_pg() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# True if the user that runs the server can traverse every folder down to $1.
pg_can_reach() {
    if is_root; then
        runuser -u postgres -- test -x "$1"
    else
        test -x "$1"
    fi
}

ensure_binaries() {
    if [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" && -x "$PG_BIN/psql" ]]; then
        return
    fi
    if ! is_root; then
        echo "pg.sh: PostgreSQL $PG_VERSION is not installed in $PG_BIN; install postgresql-$PG_VERSION" >&2
        exit 1
    fi
    echo "pg.sh: installing postgresql-$PG_VERSION" >&2
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "postgresql-$PG_VERSION" >&2
}

ensure_postgres_user() {
    if is_root && ! id postgres >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/sh postgres
    fi
}

default_dir() {
    if is_root && ! id postgres >/dev/null 2>&1; then
        # Before the package creates the user: decide as if it could not reach the repository.
        echo "/tmp/relay-pg-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)"
    elif pg_can_reach "$REPO" && { [[ ! -e "$REPO/.dev" ]] || pg_can_reach "$REPO/.dev"; }; then
        echo "$REPO/.dev/pg"
    else
        echo "/tmp/relay-pg-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)"
    fi
}

absolute() {
    case "$1" in
        /*) echo "$1" ;;
        *) echo "$PWD/$1" ;;
    esac
}

is_running() {
    [[ -f "$DIR/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" status -D "$DIR" >/dev/null 2>&1
}

# The port a running cluster listens on (line 4 of postmaster.pid), else the requested one.
effective_port() {
    if is_running && [[ -r "$DIR/postmaster.pid" ]]; then
        sed -n 4p "$DIR/postmaster.pid"
    else
        echo "$PORT"
    fi
}

print_url() {
    echo "Host=127.0.0.1;Port=$(effective_port);Database=relay;Username=relay"
}

init_cluster() {
    echo "pg.sh: creating a cluster in $DIR" >&2
    mkdir -p "$DIR"
    if is_root; then
        chown postgres:postgres "$DIR"
    fi
    chmod 700 "$DIR"

    as_pg "$PG_BIN/initdb" -D "$DIR" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-sync >&2

    # A unix socket path is limited to about 107 bytes; a deep checkout puts the socket in /tmp instead.
    local socket_dir="$DIR"
    if (( ${#DIR} > 80 )); then
        socket_dir=/tmp
    fi

    as_pg tee -a "$DIR/postgresql.conf" >/dev/null <<EOF

# scripts/pg.sh: a throwaway local cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$socket_dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    as_pg tee "$DIR/pg_hba.conf" >/dev/null <<'EOF'
# scripts/pg.sh: trust, on the unix socket and 127.0.0.1 only
local all all              trust
host  all all 127.0.0.1/32 trust
EOF
}

ensure_role_and_database() {
    local port
    port="$(effective_port)"
    local psql=("$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1)
    # SUPERUSER so that tests can create and drop a database of their own.
    "${psql[@]}" -c "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relay') THEN
            CREATE ROLE relay LOGIN SUPERUSER;
        END IF;
    END \$\$;"
    if [[ -z "$("${psql[@]}" -tA -c "SELECT 1 FROM pg_database WHERE datname = 'relay'")" ]]; then
        "${psql[@]}" -c "CREATE DATABASE relay OWNER relay"
    fi
}

start() {
    ensure_binaries
    ensure_postgres_user
    if ! is_running; then
        if [[ ! -f "$DIR/PG_VERSION" ]]; then
            init_cluster
        fi
        if ! pg_can_reach "$DIR"; then
            echo "pg.sh: the postgres user cannot reach $DIR; choose another DIR" >&2
            exit 1
        fi
        as_pg "$PG_BIN/pg_ctl" start -D "$DIR" -w -t 60 -o "-p $PORT" -l "$DIR/server.log" >&2 || {
            echo "pg.sh: the server did not start; the end of $DIR/server.log:" >&2
            tail -n 20 "$DIR/server.log" >&2 || true
            exit 1
        }
    fi
    ensure_role_and_database
    print_url
}

stop() {
    if is_running; then
        as_pg "$PG_BIN/pg_ctl" stop -D "$DIR" -m fast -w >&2
    else
        echo "pg.sh: not running ($DIR)" >&2
    fi
}

[[ $# -ge 1 ]] || usage
COMMAND="$1"
shift
case "$COMMAND" in
    start | url) [[ $# -le 2 ]] || usage ;;
    stop | status) [[ $# -le 1 ]] || usage ;;
    *) usage ;;
esac

if [[ $# -ge 1 && -n "$1" ]]; then
    DIR="$(absolute "$1")"
else
    DIR="$(default_dir)"
fi
PORT="${2:-$DEFAULT_PORT}"
if ! [[ "$PORT" =~ ^[0-9]+$ ]]; then
    echo "pg.sh: PORT must be a number, not '$PORT'" >&2
    exit 2
fi

case "$COMMAND" in
    start) start ;;
    stop) stop ;;
    url) print_url ;;
    status) is_running || exit 3 ;;
esac
