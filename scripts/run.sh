#!/usr/bin/env bash
# Runs the relay for local use: a throwaway PostgreSQL (or the one named by ConnectionStrings__Relay), the mock APNs
# with a generated development CA and .p8 key, and the relay on http://127.0.0.1:5080. Ctrl-C stops all of it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

readonly RELAY_URL="${RELAY_URL:-http://127.0.0.1:5080}"
readonly MOCK_PORT="${MOCK_PORT:-2197}"
readonly TOPIC="${RELAY_TOPIC:-com.example.chat}"
readonly DEV=.dev
readonly CERTS="$DEV/apns"
mkdir -p "$DEV"

echo "==> building"
dotnet build src/Relay.Api -c Release -v quiet -nologo
dotnet build tests/Relay.MockApns -c Release -v quiet -nologo

pids=()
started_pg=""
cleanup() {
    trap - INT TERM EXIT
    echo
    echo "==> stopping"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n "$started_pg" ]]; then scripts/pg.sh stop || true; fi
}
trap cleanup INT TERM EXIT

if [[ -z "${ConnectionStrings__Relay:-}" ]]; then
    scripts/pg.sh status 2>/dev/null || started_pg=1
    ConnectionStrings__Relay="$(scripts/pg.sh start | tail -n 1)"
    export ConnectionStrings__Relay
fi

echo "==> mock APNs credentials in $CERTS"
dotnet tests/Relay.MockApns/bin/Release/net10.0/Relay.MockApns.dll generate --out "$CERTS" >/dev/null
if [[ ! -s "$DEV/signing-key" ]]; then
    head -c 32 /dev/urandom | base64 > "$DEV/signing-key"
    chmod 600 "$DEV/signing-key"
fi

dotnet tests/Relay.MockApns/bin/Release/net10.0/Relay.MockApns.dll serve --certs "$CERTS" --port "$MOCK_PORT" \
    --topics "$TOPIC" --one-stream-rule &
pids+=($!)
for _ in $(seq 1 100); do
    kill -0 "${pids[0]}" 2>/dev/null || { echo "run.sh: the mock APNs did not start (is port $MOCK_PORT taken? set MOCK_PORT)" >&2; exit 1; }
    curl -sfk --http2 "https://127.0.0.1:$MOCK_PORT/health" >/dev/null 2>&1 && break
    sleep 0.2
done

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
    dotnet src/Relay.Api/bin/Release/net10.0/Relay.Api.dll &
pids+=($!)
for _ in $(seq 1 150); do
    kill -0 "${pids[1]}" 2>/dev/null || { echo "run.sh: the relay did not start (see its log above)" >&2; exit 1; }
    curl -sf "$RELAY_URL/health/ready" >/dev/null 2>&1 && break
    sleep 0.2
done

cat <<EOT

The relay is running on $RELAY_URL (PostgreSQL: $ConnectionStrings__Relay; mock APNs: https://127.0.0.1:$MOCK_PORT).
Try it:
  curl $RELAY_URL/health/ready
  curl $RELAY_URL/openapi/v1.json
  open $RELAY_URL/docs                          # the API reference
  docs/api.md                                   # account → sign-in → device → first push, with curl
  curl -sk --http2 https://127.0.0.1:$MOCK_PORT/control/notifications   # what the mock APNs received
Press Ctrl-C to stop everything.
EOT
# Until Ctrl-C, or until either process ends on its own.
while kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null; do
    sleep 1
done
