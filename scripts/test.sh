#!/usr/bin/env bash
# Runs every test. Uses the PostgreSQL named by ConnectionStrings__Relay, or starts the throwaway local cluster of
# scripts/pg.sh (and stops it again if this script started it). Each test class creates and drops its own database.
# Redis likewise: RELAY_TEST_REDIS names one, or scripts/redis.sh starts a throwaway one (installing redis-server).
# The mock APNs, its CA and its .p8 key are made in-process by the tests themselves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The API reference test drives Debian's headless Chromium.
if [[ ! -x /usr/bin/chromium ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        echo "test.sh: installing chromium" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
    else
        echo "test.sh: /usr/bin/chromium is missing; install the Debian package chromium" >&2
    fi
fi

started_pg=""
if [[ -z "${ConnectionStrings__Relay:-}" ]]; then
    if ! scripts/pg.sh status 2>/dev/null; then
        started_pg=1
    fi
    ConnectionStrings__Relay="$(scripts/pg.sh start | tail -n 1)"
    export ConnectionStrings__Relay
fi
# Redis, for the scale-out tests, the same way: the one named by RELAY_TEST_REDIS, or a throwaway one.
started_redis=""
if [[ -z "${RELAY_TEST_REDIS:-}" ]]; then
    if ! scripts/redis.sh status 2>/dev/null; then
        started_redis=1
    fi
    RELAY_TEST_REDIS="$(scripts/redis.sh start | tail -n 1)"
    export RELAY_TEST_REDIS
fi
cleanup() {
    if [[ -n "$started_pg" ]]; then
        scripts/pg.sh stop || true
    fi
    if [[ -n "$started_redis" ]]; then
        scripts/redis.sh stop || true
    fi
}
trap cleanup EXIT

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
results="$(mktemp -d)"
status=0
dotnet test RelayServer.sln -c Release --logger "console;verbosity=normal" --results-directory "$results" "$@" \
    2>&1 | tee "$results/output.txt" || status=$?

# Every failed test again, with its message, so the end of a long log names what failed.
if grep -qE '^[[:space:]]+Failed [^:]' "$results/output.txt"; then
    echo "failed tests:"
    grep -E -A 4 '^[[:space:]]+Failed [^:]' "$results/output.txt" | grep -vE '^[[:space:]]+Stack Trace:' || true
fi
# One closing line for humans and CI: the totals over every test project.
awk '/^[[:space:]]+Passed:[[:space:]]+[0-9]+$/ { p += $2 } /^[[:space:]]+Failed:[[:space:]]+[0-9]+$/ { f += $2 }
     /^[[:space:]]+Skipped:[[:space:]]+[0-9]+$/ { s += $2 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$results/output.txt" || true
exit "$status"
