#!/usr/bin/env bash
# Runs the relay for local use: a throwaway PostgreSQL (or the one named by ConnectionStrings__Relay), the mock APNs
# with a generated development CA and .p8 key, and the relay on http://127.0.0.1:5080. Ctrl-C stops all of it.
#
#   scripts/run.sh [--no-build]
#
# --no-build uses the Release build that is already there (it fails if there is none) instead of building first.
# It writes relayctl's settings for this stack to .dev/relayctl.json, where relayctl finds them when run from the
# repository root. Before starting anything it checks that its ports are free, and exits 1 naming any that is not.
# Environment: RELAY_URL (http://127.0.0.1:5080), MOCK_PORT (2197), RELAY_TOPIC (com.example.chat), RELAY_PG_PORT
# (5433) and RELAY_PG_DIR (scripts/pg.sh's default) for the PostgreSQL it starts, RELAY_DEV_DIR (.dev) for the files
# it generates.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

readonly RELAY_URL="${RELAY_URL:-http://127.0.0.1:5080}"
readonly MOCK_PORT="${MOCK_PORT:-2197}"
readonly TOPIC="${RELAY_TOPIC:-com.example.chat}"
readonly PG_PORT="${RELAY_PG_PORT:-5433}"
readonly PG_DIR="${RELAY_PG_DIR:-}"
readonly DEV="${RELAY_DEV_DIR:-.dev}"
readonly CERTS="$DEV/apns"
readonly RELAY_DLL=src/Relay.Api/bin/Release/net10.0/Relay.Api.dll
readonly MOCK_DLL=tests/Relay.MockApns/bin/Release/net10.0/Relay.MockApns.dll

build=1
for argument in "$@"; do
    case "$argument" in
        --no-build) build="" ;;
        *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
    esac
done

if ! [[ "$RELAY_URL" =~ ^http://(127\.0\.0\.1|localhost):([0-9]+)/?$ ]]; then
    echo "run.sh: RELAY_URL must be http://127.0.0.1:PORT, not '$RELAY_URL'" >&2
    exit 2
fi
readonly RELAY_PORT="${BASH_REMATCH[2]}"

# True if something accepts connections on 127.0.0.1:$1.
port_busy() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Every port this script would listen on must be free: otherwise a relay or mock already running there would answer
# the readiness probes below while the one started here crashes.
pg_running=""
if [[ -z "${ConnectionStrings__Relay:-}" ]] && scripts/pg.sh status "$PG_DIR" 2>/dev/null; then
    pg_running=1
fi
busy=()
port_busy "$RELAY_PORT" && busy+=("$RELAY_PORT (the relay, RELAY_URL)")
port_busy "$MOCK_PORT" && busy+=("$MOCK_PORT (the mock APNs, MOCK_PORT)")
if [[ -z "${ConnectionStrings__Relay:-}" && -z "$pg_running" ]] && port_busy "$PG_PORT"; then
    busy+=("$PG_PORT (PostgreSQL, RELAY_PG_PORT)")
fi
if (( ${#busy[@]} > 0 )); then
    for port in "${busy[@]}"; do
        echo "run.sh: port $port is already in use; stop what listens there (another scripts/run.sh?) or choose another port" >&2
    done
    exit 1
fi

mkdir -p "$DEV"
if [[ -n "$build" ]]; then
    echo "==> building"
    dotnet build src/Relay.Api -c Release -v quiet -nologo
    dotnet build tests/Relay.MockApns -c Release -v quiet -nologo
else
    for dll in "$RELAY_DLL" "$MOCK_DLL"; do
        [[ -f "$dll" ]] || { echo "run.sh: --no-build, but $dll is missing; run without --no-build" >&2; exit 1; }
    done
    echo "==> not building (--no-build): using the existing $RELAY_DLL and $MOCK_DLL"
fi

pids=()
names=()
started_pg=""
cleanup() {
    trap - INT TERM EXIT
    echo
    echo "==> stopping"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n "$started_pg" ]]; then scripts/pg.sh stop "$PG_DIR" || true; fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# Fails, naming the process, unless it is still running.
expect_running() {
    if ! kill -0 "${pids[$1]}" 2>/dev/null; then
        local status=0
        wait "${pids[$1]}" 2>/dev/null || status=$?
        echo "run.sh: ${names[$1]} exited with status $status$2 (see its log above)" >&2
        exit 1
    fi
}

if [[ -z "${ConnectionStrings__Relay:-}" ]]; then
    [[ -n "$pg_running" ]] || started_pg=1
    ConnectionStrings__Relay="$(scripts/pg.sh start "$PG_DIR" "$PG_PORT" | tail -n 1)"
    export ConnectionStrings__Relay
fi

echo "==> mock APNs credentials in $CERTS"
dotnet "$MOCK_DLL" generate --out "$CERTS" >/dev/null
if [[ ! -s "$DEV/signing-key" ]]; then
    (umask 077 && head -c 32 /dev/urandom | base64 > "$DEV/signing-key")
fi

dotnet "$MOCK_DLL" serve --certs "$CERTS" --port "$MOCK_PORT" --topics "$TOPIC" --one-stream-rule &
pids+=($!)
names+=("the mock APNs")
mock_up=""
for _ in $(seq 1 100); do
    expect_running 0 " before it answered"
    if curl -sfk --http2 "https://127.0.0.1:$MOCK_PORT/health" >/dev/null 2>&1; then mock_up=1; break; fi
    sleep 0.2
done
[[ -n "$mock_up" ]] || { echo "run.sh: the mock APNs did not answer on port $MOCK_PORT within 20 s" >&2; exit 1; }

TEAM_ID="$(sed -n 's/.*"teamId" *: *"\([^"]*\)".*/\1/p' "$CERTS/mockapns.json")"
KEY_ID="$(sed -n 's/.*"keyId" *: *"\([^"]*\)".*/\1/p' "$CERTS/mockapns.json")"

ASPNETCORE_ENVIRONMENT=Development \
ASPNETCORE_URLS="$RELAY_URL" \
Database__MigrateOnStartup=true \
Apns__TeamId="$TEAM_ID" \
Apns__KeyId="$KEY_ID" \
Apns__PrivateKeyPath="$CERTS/apns-key.p8" \
Apns__TrustedCaPath="$CERTS/ca.pem" \
Apns__ProductionEndpoint="https://127.0.0.1:$MOCK_PORT" \
Apns__SandboxEndpoint="https://127.0.0.1:$MOCK_PORT" \
Apns__Apps__0__Topic="$TOPIC" \
Auth__SigningKey="$(cat "$DEV/signing-key")" \
    dotnet "$RELAY_DLL" &
pids+=($!)
names+=("the relay")
relay_up=""
for _ in $(seq 1 300); do
    expect_running 1 " before it was ready"
    if curl -sf "$RELAY_URL/health/ready" >/dev/null 2>&1; then relay_up=1; break; fi
    sleep 0.2
done
[[ -n "$relay_up" ]] || { echo "run.sh: the relay was not ready on $RELAY_URL within 60 s" >&2; exit 1; }

# relayctl's settings for this stack: the relay's own keys, with absolute paths so that they hold from anywhere.
json() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }
dev_path="$(cd "$DEV" && pwd -P)"
(umask 077 && cat > "$DEV/relayctl.json" <<EOT
{
  "ConnectionStrings": { "Relay": $(json "$ConnectionStrings__Relay") },
  "Apns": {
    "TeamId": $(json "$TEAM_ID"),
    "KeyId": $(json "$KEY_ID"),
    "PrivateKeyPath": $(json "$dev_path/apns/apns-key.p8"),
    "TrustedCaPath": $(json "$dev_path/apns/ca.pem"),
    "ProductionEndpoint": "https://127.0.0.1:$MOCK_PORT",
    "SandboxEndpoint": "https://127.0.0.1:$MOCK_PORT",
    "Apps": [ { "Topic": $(json "$TOPIC") } ]
  },
  "Relayctl": { "RelayUrl": $(json "$RELAY_URL") }
}
EOT
)

config_option=""
[[ "$dev_path" == "$(pwd -P)/.dev" ]] || config_option=" --config $dev_path/relayctl.json"

cat <<EOT

The relay is running on $RELAY_URL (PostgreSQL: $ConnectionStrings__Relay; mock APNs: https://127.0.0.1:$MOCK_PORT).
Try it:
  curl $RELAY_URL/health/ready
  curl $RELAY_URL/openapi/v1.json
  open $RELAY_URL/docs                          # the API reference
  docs/api.md                                   # account → sign-in → device → first push, with curl
  curl -sk --http2 https://127.0.0.1:$MOCK_PORT/control/notifications   # what the mock APNs received
  dotnet run --project src/Relay.Ctl -- check$config_option   # relayctl, with the settings in $DEV/relayctl.json
Press Ctrl-C to stop everything.
EOT
# Until Ctrl-C, or until either process ends on its own, which is a failure.
while true; do
    expect_running 0 ""
    expect_running 1 ""
    sleep 1
done
