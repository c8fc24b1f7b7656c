#!/usr/bin/env bash
# A throwaway local Redis for development and tests — no Docker, no service manager.
#
#   scripts/redis.sh start [DIR] [PORT]   install Debian's redis-server if needed (as root), start it;
#                                         the last line printed is the StackExchange.Redis configuration string
#   scripts/redis.sh stop  [DIR]          stop it if it is running
#   scripts/redis.sh status [DIR]         exit 0 if it is running, 3 if not
#
# DIR holds its pid file and log (default .dev/redis in the repository, git-ignored). PORT defaults to 6380, beside
# a system Redis on 6379. It listens on 127.0.0.1 only, keeps nothing on disk, and needs no password: it is for
# data that only tests and local runs make.
set -euo pipefail

readonly DEFAULT_PORT=6380
readonly REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

usage() {
    echo "usage: $0 start [DIR] [PORT] | stop [DIR] | status [DIR]" >&2
    exit 2
}

ensure_binaries() {
    if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
        return
    fi
    if [[ $(id -u) -ne 0 ]]; then
        echo "redis.sh: redis-server is not installed; install the Debian package redis-server" >&2
        exit 1
    fi
    echo "redis.sh: installing redis-server" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >&2
}

running() {
    local dir="$1"
    [[ -f "$dir/redis.pid" ]] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null
}

command="${1:-}"
dir="${2:-$REPO/.dev/redis}"
port="${3:-$DEFAULT_PORT}"
case "$command" in
    start)
        ensure_binaries
        mkdir -p "$dir"
        if ! running "$dir"; then
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                echo "redis.sh: port $port on 127.0.0.1 is already in use; pass another: $0 start DIR PORT" >&2
                exit 1
            fi
            redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --pidfile "$dir/redis.pid" \
                --logfile "$dir/redis.log" --dir "$dir" --save "" --appendonly no >/dev/null
            for _ in $(seq 50); do
                if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then break; fi
                sleep 0.1
            done
            redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null
            echo "redis.sh: Redis started on 127.0.0.1:$port" >&2
        fi
        echo "127.0.0.1:$port"
        ;;
    stop)
        if running "$dir"; then
            pid="$(cat "$dir/redis.pid")"
            kill -TERM "$pid"
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            echo "redis.sh: Redis stopped" >&2
        fi
        ;;
    status)
        running "$dir" || exit 3
        ;;
    *) usage ;;
esac
