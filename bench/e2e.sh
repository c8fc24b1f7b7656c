#!/usr/bin/env bash
# The whole relay under load: real PostgreSQL (a fresh database in the scripts/pg.sh cluster), the standalone mock
# APNs, the relay (Release) on 127.0.0.1, and Relay.Bench's e2e mode posting single-recipient messages from many
# concurrent clients for a bounded time. Then the client-only benchmark and a bare @parse/node-apn client
# (bench/node-apn) against the same mock, for comparison: the last line is the relay's rate over node-apn's.
# Prints messages/s, deliveries/s at the mock, p50/p99 and the relay's peak memory, and writes bench/RESULTS-e2e.md.
#
#   bench/e2e.sh                       64 clients for 20 s after 30 s of warm-up
#   CLIENTS=128 DURATION=30s WARMUP=30s bench/e2e.sh
#   RECIPIENTS=64 DEVICES=2 bench/e2e.sh   fan-out: every message to the same 64 recipients with 2 devices each
#   SEED_ACCOUNTS=1000000 bench/e2e.sh   the same load with a million other accounts (two devices each) in PostgreSQL
#   MODE=faults bench/e2e.sh           the relay through a 10 s APNs outage (503 on every push): lost, duplicated
#   MODE=restart bench/e2e.sh          warm start: the relay restarted under load; its rate second by second from its start
#   MODE=realtime IDLE=10000 bench/e2e.sh   the hub: idle connections, POST -> Message latency, no pushes, RSS
#   RELAY_DLL=... RESULTS=... bench/e2e.sh   another build of the relay, results elsewhere (bench/durable.sh)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly CLIENTS="${CLIENTS:-64}"
readonly DURATION="${DURATION:-20s}"
# A fresh .NET process runs far slower while the JIT tiers up: measure after this much load.
readonly WARMUP="${WARMUP:-30s}"
readonly MAX_MESSAGES="${MAX_MESSAGES:-1000000}"
readonly MOCK_PORT="${MOCK_PORT:-2199}"
readonly RELAY_PORT="${RELAY_PORT:-5090}"
# Extra environment for the relay process only, e.g. RELAY_ENV="DOTNET_gcServer=0".
readonly RELAY_ENV="${RELAY_ENV:-}"
readonly CERTS=.dev/bench-certs
readonly WORK=.dev/bench-e2e
readonly TEAM_ID=BENCHTEAM1
readonly KEY_ID=BENCHKEY01
readonly TOPIC=com.example.chat
readonly MOCK="https://127.0.0.1:$MOCK_PORT"
readonly RELAY="http://127.0.0.1:$RELAY_PORT"
readonly MOCK_DLL=tests/Relay.MockApns/bin/Release/net10.0/Relay.MockApns.dll
readonly BENCH_DLL=bench/Relay.Bench/bin/Release/net10.0/Relay.Bench.dll
# By default the relay as the Dockerfile publishes it (ReadyToRun, for this machine's platform).
readonly PUBLISHED=.dev/bench-relay
readonly RELAY_DLL="${RELAY_DLL:-$PUBLISHED/Relay.Api.dll}"
readonly MODE="${MODE:-e2e}"
readonly RESULTS="${RESULTS:-bench/RESULTS-$MODE.md}"
# Set to skip the client-only comparison after the end-to-end run.
readonly SKIP_CLIENT="${SKIP_CLIENT:-}"
mkdir -p "$WORK"

echo "== building (Release)"
dotnet build -c Release -v quiet -nologo tests/Relay.MockApns >/dev/null
dotnet build -c Release -v quiet -nologo bench/Relay.Bench >/dev/null
if [[ "$RELAY_DLL" == "$PUBLISHED/Relay.Api.dll" ]]; then
    dotnet publish src/Relay.Api -c Release --use-current-runtime --no-self-contained -p:UseAppHost=false -o "$PUBLISHED" -v quiet -nologo >/dev/null
fi

pids=()
started_pg=""
DATABASE="relay_bench_$(date +%s)"
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n "${SERVER:-}" ]]; then
        psql "$SERVER" -qc "DROP DATABASE IF EXISTS $DATABASE WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [[ -n "$started_pg" ]]; then scripts/pg.sh stop || true; fi
}
trap cleanup EXIT

scripts/pg.sh status 2>/dev/null || started_pg=1
CONNECTION="$(scripts/pg.sh start | tail -n 1)"
PG_PORT=$(sed -n 's/.*Port=\([0-9]*\).*/\1/p' <<<"$CONNECTION")
SERVER="postgresql://relay@127.0.0.1:$PG_PORT/relay"
# The postmaster, whose backends' CPU the e2e mode adds up.
PG_PID=$(psql "$SERVER" -Atc "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'" | xargs -r ps -o ppid= -p | tr -d ' ')
psql "$SERVER" -qc "CREATE DATABASE $DATABASE" >/dev/null

dotnet "$MOCK_DLL" generate --out "$CERTS" --team-id "$TEAM_ID" --key-id "$KEY_ID" >/dev/null
dotnet "$MOCK_DLL" serve --certs "$CERTS" --host 127.0.0.1 --port "$MOCK_PORT" --team-id "$TEAM_ID" --key-id "$KEY_ID" \
    --topics "$TOPIC" $([[ $MODE == faults ]] && echo --no-record-bodies || echo --no-record) >"$WORK/mock.log" 2>&1 &
pids+=($!)

# A small connection pool: on 2 cores, 8 PostgreSQL backends serve more messages than 20 or 100 contending ones.
start_relay() {
    ASPNETCORE_ENVIRONMENT=Production \
    ASPNETCORE_URLS="$RELAY" \
    ConnectionStrings__Relay="Host=127.0.0.1;Port=$PG_PORT;Database=$DATABASE;Username=relay;Maximum Pool Size=8" \
    Database__MigrateOnStartup=true \
    Apns__TeamId="$TEAM_ID" Apns__KeyId="$KEY_ID" \
    Apns__PrivateKeyPath="$CERTS/apns-key.p8" Apns__TrustedCaPath="$CERTS/ca.pem" \
    Apns__ProductionEndpoint="$MOCK" Apns__SandboxEndpoint="$MOCK" \
    Apns__Apps__0__Topic="$TOPIC" \
    Auth__SigningKey="$SIGNING_KEY" \
    RateLimits__AnonymousPerMinute=1000000 RateLimits__AccountPerMinute=1000000 Realtime__MaxConnectionsPerAccount=1000 \
    Serilog__MinimumLevel__Default=Warning \
        env $RELAY_ENV dotnet "$RELAY_DLL" >>"$WORK/relay.log" 2>&1 &
    RELAY_PID=$!
    pids+=("$RELAY_PID")
}
# One signing key for the run, so the tokens the clients hold stay good across a restart (MODE=restart).
SIGNING_KEY="$(head -c 32 /dev/urandom | base64)"
: >"$WORK/relay.log"
start_relay

for attempt in $(seq 150); do
    if curl -sf --max-time 2 "$RELAY/health/ready" >/dev/null 2>&1 && curl --http2 -ksf --max-time 2 "$MOCK/health" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "${pids[0]}" 2>/dev/null || ! kill -0 "$RELAY_PID" 2>/dev/null || [[ $attempt -eq 150 ]]; then
        echo "e2e.sh: the mock or the relay did not come up; their logs:" >&2
        cat "$WORK/mock.log" "$WORK/relay.log" >&2
        exit 1
    fi
    sleep 0.2
done

# Data size: SEED_ACCOUNTS=1000000 fills the database with that many other accounts, each with SEED_DEVICES (2)
# active devices, before the load starts (the relay has migrated it by now), so lookups and writes run against
# tables and indexes of that size.
if [[ -n "${SEED_ACCOUNTS:-}" ]]; then
    echo "== seeding $SEED_ACCOUNTS accounts with ${SEED_DEVICES:-2} devices each"
    seeded=$(date +%s)
    psql "postgresql://relay@127.0.0.1:$PG_PORT/$DATABASE" -q -v ON_ERROR_STOP=1 \
        -v accounts="$SEED_ACCOUNTS" -v devices="${SEED_DEVICES:-2}" -v topic="$TOPIC" <<'SQL'
INSERT INTO accounts (id, identity_key, created_at, delivery_key_required)
SELECT gen_random_uuid(), sha256(convert_to('seed-' || g, 'UTF8')), now(), false FROM generate_series(1, :accounts) g;
INSERT INTO devices (id, account_id, token, topic, environment, registered_at)
SELECT gen_random_uuid(), a.id, encode(sha256(convert_to(a.id::text || '-' || k, 'UTF8')), 'hex'), :'topic', 'sandbox', now()
FROM accounts a CROSS JOIN generate_series(1, :devices) k;
VACUUM ANALYZE accounts;
VACUUM ANALYZE devices;
SQL
    echo "seeded in $(( $(date +%s) - seeded )) s: $(psql "postgresql://relay@127.0.0.1:$PG_PORT/$DATABASE" -Atc "SELECT (SELECT count(*) FROM accounts) || ' accounts, ' || (SELECT count(*) FROM devices) || ' devices'")"
fi
if [[ $MODE == restart ]]; then
    # Warm start: everything warms up under load, the warm relay is measured for RESTART_AFTER, then stopped (SIGTERM,
    # as a deploy does) and a fresh relay process started on the same database while the clients keep posting; the
    # clients, the mock and PostgreSQL stay warm, so the curve is the new relay's own.
    readonly RESTART_AFTER="${RESTART_AFTER:-10}"
    readonly CURVE="${CURVE:-40}"
    echo "== restart: $CLIENTS clients; after $WARMUP of warm-up and ${RESTART_AFTER} s measured the relay is restarted; ${CURVE} s of its curve"
    rm -f "$WORK/restart.txt"
    RESTART_COMMAND="dotnet $BENCH_DLL e2e --relay $RELAY --mock $MOCK --topic $TOPIC --clients $CLIENTS --warmup $WARMUP --duration $((RESTART_AFTER + CURVE + 3))s --max-messages 100000000 --restart-file $WORK/restart.txt"
    $RESTART_COMMAND >"$WORK/restart-bench.txt" 2>&1 &
    BENCH_PID=$!
    pids+=("$BENCH_PID")
    until grep -q '^warm-up messages/s' "$WORK/restart-bench.txt"; do
        if ! kill -0 "$BENCH_PID" 2>/dev/null; then cat "$WORK/restart-bench.txt" >&2; exit 1; fi
        sleep 0.2
    done
    sleep "$RESTART_AFTER"
    stopped=$(date +%s%3N)
    kill -TERM "$RELAY_PID"
    wait "$RELAY_PID" || true
    exited=$(date +%s%3N)
    started=$(date +%s%3N)
    start_relay
    echo "$stopped $exited $started $RELAY_PID" >"$WORK/restart.txt"
    status=0
    wait "$BENCH_PID" || status=$?
    cat "$WORK/restart-bench.txt"
    {
        echo "# Relay warm-start benchmark"
        echo
        echo "Written by \`MODE=restart bench/e2e.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(nproc) cores; PostgreSQL 15,"
        echo "the mock APNs, the relay and the load generator share it, on 127.0.0.1. RELAY_ENV='$RELAY_ENV'."
        echo
        echo '```'
        echo "$RESTART_COMMAND"
        cat "$WORK/restart-bench.txt"
        echo '```'
    } >"$RESULTS"
    echo "== wrote $RESULTS"
    exit "$status"
fi
if [[ $MODE == realtime ]]; then
    echo "== realtime: ${IDLE:-10000} idle connections, 64 acknowledging recipients"
    REALTIME_COMMAND="dotnet $BENCH_DLL realtime --relay $RELAY --mock $MOCK --topic $TOPIC --idle ${IDLE:-10000} --active 64 --rate ${RATE:-500} --duration $DURATION --relay-pid $RELAY_PID"
    status=0
    $REALTIME_COMMAND | tee "$WORK/realtime.txt" || status=$?
    {
        echo "# Relay realtime benchmark"
        echo
        echo "Written by \`MODE=realtime bench/e2e.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(nproc) cores; PostgreSQL 15,"
        echo "the mock APNs, the relay and the load generator (which also holds every client connection) share it, on 127.0.0.1."
        echo
        echo '```'
        echo "$REALTIME_COMMAND"
        cat "$WORK/realtime.txt"
        echo '```'
    } >"$RESULTS"
    echo "== wrote $RESULTS"
    exit "$status"
fi

if [[ $MODE == faults ]]; then
    echo "== faults: a 10 s window of 503 ServiceUnavailable on every push"
    FAULT_COMMAND="dotnet $BENCH_DLL faults --relay $RELAY --mock $MOCK --topic $TOPIC --clients 32 --rate ${RATE:-500} --duration 30s --fault-at 10s --fault-for 10s"
    status=0
    $FAULT_COMMAND | tee "$WORK/faults.txt" || status=$?
    {
        echo "# Relay fault benchmark: a 10 s APNs outage"
        echo
        echo "Written by \`MODE=faults bench/e2e.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(nproc) cores; PostgreSQL 15,"
        echo "the recording mock APNs, the relay (shipped Delivery:* defaults) and the load generator share it, on 127.0.0.1."
        echo
        echo '```'
        echo "$FAULT_COMMAND"
        cat "$WORK/faults.txt"
        echo '```'
    } >"$RESULTS"
    echo "== wrote $RESULTS"
    exit "$status"
fi

echo "== end-to-end: $CLIENTS clients for $DURATION after $WARMUP of warm-up"
E2E_COMMAND="dotnet $BENCH_DLL e2e --relay $RELAY --mock $MOCK --topic $TOPIC --clients $CLIENTS --duration $DURATION --warmup $WARMUP --max-messages $MAX_MESSAGES --relay-pid $RELAY_PID --postgres-pid $PG_PID${RECIPIENTS:+ --recipients $RECIPIENTS --devices ${DEVICES:-1}}"
$E2E_COMMAND | tee "$WORK/e2e.txt"
PEAK_KB=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$RELAY_PID/status")
PEAK_MIB=$((PEAK_KB / 1024))
echo "relay peak memory (VmHWM): $PEAK_MIB MiB"

CLIENT_COMMAND=""
if [[ -z "$SKIP_CLIENT" ]]; then
echo "== client only, same mock"
CLIENT_COMMAND="dotnet $BENCH_DLL client --endpoint $MOCK --ca $CERTS/ca.pem --key $CERTS/apns-key.p8 --team-id $TEAM_ID --key-id $KEY_ID --topic $TOPIC -n 200000 --concurrency 512 --duration-limit 30s"
$CLIENT_COMMAND | tee "$WORK/client.txt"
else
    : >"$WORK/client.txt"
fi
# The peer the relay is measured against: a bare @parse/node-apn client (bench/node-apn, pinned by its lock file)
# pushing to the same mock, right after, on the same machine.
NODE_COMMAND=""
if [[ -z "$SKIP_CLIENT" ]] && command -v node >/dev/null && command -v npm >/dev/null; then
    echo "== bare node-apn client, same mock"
    if [[ ! -d bench/node-apn/node_modules/@parse/node-apn ]]; then
        (cd bench/node-apn && npm ci --no-audit --no-fund --silent)
    fi
    NODE_COMMAND="node bench/node-apn/bench.js --endpoint $MOCK --ca $CERTS/ca.pem --key $CERTS/apns-key.p8 --team-id $TEAM_ID --key-id $KEY_ID --topic $TOPIC --warmup 10 --duration 20 --concurrency 512"
    $NODE_COMMAND | tee "$WORK/node-apn.txt"
else
    : >"$WORK/node-apn.txt"
fi

value() { sed -n "s/^RESULT .* $1=\([0-9.]*\).*/\1/p" "$2"; }
MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo "# Relay end-to-end benchmark"
    echo
    echo "Written by \`bench/e2e.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(nproc) cores, ${MODEL:-unknown CPU};"
    echo "PostgreSQL 15, the mock APNs, the relay and the load generator all share it, on 127.0.0.1."
    echo
    echo "| what | figure |"
    echo "|---|---|"
    echo "| messages/s ($([[ -n "${RECIPIENTS:-}" ]] && echo "to $RECIPIENTS recipients x ${DEVICES:-1} devices" || echo "single recipient, one device each"), $CLIENTS clients) | $(value messages_per_s "$WORK/e2e.txt") |"
    echo "| deliveries/s at the mock | $(value deliveries_per_s "$WORK/e2e.txt") |"
    echo "| latency p50 / p99 | $(value p50_ms "$WORK/e2e.txt") ms / $(value p99_ms "$WORK/e2e.txt") ms |"
    echo "| failed requests or deliveries | $(value failed "$WORK/e2e.txt") |"
    echo "| relay peak memory (VmHWM) | $PEAK_MIB MiB |"
    echo "| client-only ApnsClient, same mock | $(value rate "$WORK/client.txt") notifications/s |"
    NODE_RATE=$(value notifications_per_s "$WORK/node-apn.txt")
    if [[ -n "$NODE_RATE" ]]; then
        echo "| bare @parse/node-apn client, same mock | $NODE_RATE notifications/s |"
        echo "| relay deliveries/s ÷ node-apn | $(awk -v r="$(value deliveries_per_s "$WORK/e2e.txt")" -v n="$NODE_RATE" 'BEGIN { printf "%.2f", r / n }') |"
    fi
    echo
    echo "Commands:"
    echo
    echo '```'
    echo "bench/e2e.sh   # CLIENTS=$CLIENTS DURATION=$DURATION WARMUP=$WARMUP RELAY_DLL=$RELAY_DLL"
    echo "$E2E_COMMAND"
    echo "$CLIENT_COMMAND"
    echo "$NODE_COMMAND"
    echo '```'
    echo
    echo "End-to-end output:"
    echo
    echo '```'
    cat "$WORK/e2e.txt"
    echo '```'
} >"$RESULTS"
if [[ -s "$WORK/node-apn.txt" ]]; then
    echo "relay ÷ bare node-apn: $(awk -v r="$(value deliveries_per_s "$WORK/e2e.txt")" -v n="$(value notifications_per_s "$WORK/node-apn.txt")" 'BEGIN { printf "%.2f", r / n }')"
fi
echo "== wrote $RESULTS"
