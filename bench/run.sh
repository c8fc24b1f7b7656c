#!/usr/bin/env bash
# Benchmarks Relay.Apns's ApnsClient against the standalone mock APNs, then h2load against the same mock with one
# fixed valid request for this machine's ceiling; prints both rates and their ratio and writes bench/RESULTS.md.
#
#   bench/run.sh                      200,000 notifications, 256 in flight, 2 connections, at most 60 s per tool
#   N=50000 CONCURRENCY=256 CONNECTIONS=1 STREAMS=500 PORT=2197 LIMIT=60s bench/run.sh
#   CLIENT_ENV="DOTNET_gcServer=1" bench/run.sh      environment for the client process only
#
# CLIENT_ENV is empty by default: the client needs no runtime setting (it once did, when SocketsHttpHandler rented a
# 32 KiB buffer per queued request and ran ArrayPool.Shared dry).
#
# Everything runs on 127.0.0.1, bounded in count and time; the mock is stopped (SIGTERM) on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly N="${N:-200000}"
readonly CONCURRENCY="${CONCURRENCY:-256}"
readonly CONNECTIONS="${CONNECTIONS:-2}"
readonly STREAMS="${STREAMS:-500}"
readonly PORT="${PORT:-2197}"
readonly LIMIT="${LIMIT:-60s}"   # seconds, with the s
readonly LIMIT_SECONDS="${LIMIT%s}"
readonly CLIENT_ENV="${CLIENT_ENV-}"
readonly H2LOAD_STREAMS="${H2LOAD_STREAMS:-$((CONCURRENCY / CONNECTIONS))}"
readonly CERTS=.dev/bench-certs
readonly WORK=.dev/bench-run
readonly TEAM_ID=BENCHTEAM1
readonly KEY_ID=BENCHKEY01
readonly TOPIC=com.example.chat
readonly ENDPOINT="https://127.0.0.1:$PORT"
readonly MOCK_DLL=tests/Relay.MockApns/bin/Release/net10.0/Relay.MockApns.dll
readonly BENCH_DLL=bench/Relay.Bench/bin/Release/net10.0/Relay.Bench.dll

mkdir -p "$WORK"
if curl --http2 -ksf --max-time 2 "$ENDPOINT/health" >/dev/null 2>&1; then
    echo "run.sh: something already answers on port $PORT; stop it or set PORT" >&2
    exit 1
fi

echo "== building (Release)"
dotnet build -c Release -v quiet -nologo tests/Relay.MockApns >/dev/null
dotnet build -c Release -v quiet -nologo bench/Relay.Bench >/dev/null

echo "== development credentials in $CERTS"
dotnet "$MOCK_DLL" generate --out "$CERTS" --team-id "$TEAM_ID" --key-id "$KEY_ID"

echo "== starting the mock on $ENDPOINT"
dotnet "$MOCK_DLL" serve --certs "$CERTS" --host 127.0.0.1 --port "$PORT" --team-id "$TEAM_ID" --key-id "$KEY_ID" \
    --topics "$TOPIC" --no-record >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
stop_mock() {
    if kill -0 "$MOCK_PID" 2>/dev/null; then
        kill -TERM "$MOCK_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$MOCK_PID" 2>/dev/null || break; sleep 0.1; done
    fi
}
trap stop_mock EXIT
# The mock's CPU time (user + system, in clock ticks) tells how much of the machine each load left to it.
mock_cpu() { awk '{ print $14 + $15 }' "/proc/$MOCK_PID/stat"; }
readonly TICKS=$(getconf CLK_TCK)
for attempt in $(seq 100); do
    if curl --http2 -ksf --max-time 2 "$ENDPOINT/health" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$MOCK_PID" 2>/dev/null || [[ $attempt -eq 100 ]]; then
        echo "run.sh: the mock did not come up; its log:" >&2
        cat "$WORK/mock.log" >&2
        exit 1
    fi
    sleep 0.2
done

CLIENT_COMMAND="dotnet $BENCH_DLL client --endpoint $ENDPOINT --ca $CERTS/ca.pem --key $CERTS/apns-key.p8 --team-id $TEAM_ID --key-id $KEY_ID --topic $TOPIC -n $N --concurrency $CONCURRENCY --connections $CONNECTIONS --streams $STREAMS --duration-limit $LIMIT"

# A fresh mock spends its first seconds compiling itself (tiered JIT): warm it up so that neither measured run
# pays for that, and so that the mock's CPU per request compares like with like.
echo "== warming up the mock (not measured)"
# shellcheck disable=SC2086
env $CLIENT_ENV dotnet "$BENCH_DLL" client --endpoint "$ENDPOINT" --ca "$CERTS/ca.pem" --key "$CERTS/apns-key.p8" \
    --team-id "$TEAM_ID" --key-id "$KEY_ID" --topic "$TOPIC" -n 400000 --warmup 0 --concurrency "$CONCURRENCY" \
    --duration-limit 10s >"$WORK/warmup.txt"

echo "== client benchmark"
BEFORE=$(mock_cpu)
# shellcheck disable=SC2086 # CLIENT_ENV and the command are word lists on purpose.
env $CLIENT_ENV $CLIENT_COMMAND | tee "$WORK/client.txt"
MOCK_CPU_CLIENT=$(( $(mock_cpu) - BEFORE ))
CLIENT_RATE=$(sed -n 's/^RESULT .* rate=\([0-9]*\).*/\1/p' "$WORK/client.txt")
CLIENT_P50=$(sed -n 's/^RESULT .* p50_ms=\([0-9.]*\).*/\1/p' "$WORK/client.txt")
CLIENT_P99=$(sed -n 's/^RESULT .* p99_ms=\([0-9.]*\).*/\1/p' "$WORK/client.txt")
CLIENT_ERRORS=$(sed -n 's/^RESULT .* errors=\([0-9]*\).*/\1/p' "$WORK/client.txt")
CLIENT_SENT=$(sed -n 's/^RESULT .* sent=\([0-9]*\).*/\1/p' "$WORK/client.txt")
CLIENT_CPU=$(sed -n 's/^RESULT .* cpu_us_per_op=\([0-9.]*\).*/\1/p' "$WORK/client.txt")
MOCK_US_CLIENT=$(awk -v t="$MOCK_CPU_CLIENT" -v hz="$TICKS" -v n="$CLIENT_SENT" 'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }')

H2LOAD_RATE=""
H2LOAD_COMMAND=""
MOCK_US_H2LOAD="n/a"
H2LOAD_CPU="n/a"
if ! command -v h2load >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing h2load (nghttp2-client)"
    (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nghttp2-client) >"$WORK/apt.log" 2>&1 \
        || echo "run.sh: could not install nghttp2-client (see $WORK/apt.log)" >&2
fi
if command -v h2load >/dev/null 2>&1; then
    echo "== h2load ceiling: the same mock, one fixed valid request"
    JWT=$(dotnet "$BENCH_DLL" jwt --key "$CERTS/apns-key.p8" --team-id "$TEAM_ID" --key-id "$KEY_ID")
    DEVICE=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '{"aps":{"alert":{"title":"New message"},"mutable-content":1,"sound":"default"},"ciphertext":"%s","messageId":"%s"}' \
        "$(head -c 160 /dev/urandom | base64 -w0)" "$(cat /proc/sys/kernel/random/uuid)" >"$WORK/body.json"
    EXPIRATION=$(( $(date +%s) + 2592000 ))
    H2LOAD_COMMAND="timeout $((2 * LIMIT_SECONDS)) h2load -n $N -c $CONNECTIONS -m $H2LOAD_STREAMS -d $WORK/body.json -H 'authorization: bearer <jwt>' -H 'apns-topic: $TOPIC' -H 'apns-push-type: alert' -H 'apns-priority: 10' -H 'apns-expiration: $EXPIRATION' -H 'apns-id: <uuid>' -H 'content-type: application/json' $ENDPOINT/3/device/<token>"
    # h2load's own time bound (-D) would ignore -n: bound it from outside instead.
    BEFORE=$(mock_cpu)
    TIMEFORMAT='%U %S'
    { time timeout "$((2 * LIMIT_SECONDS))" h2load -n "$N" -c "$CONNECTIONS" -m "$H2LOAD_STREAMS" -d "$WORK/body.json" \
        -H "authorization: bearer $JWT" -H "apns-topic: $TOPIC" -H "apns-push-type: alert" -H "apns-priority: 10" \
        -H "apns-expiration: $EXPIRATION" -H "apns-id: $(cat /proc/sys/kernel/random/uuid)" -H "content-type: application/json" \
        "$ENDPOINT/3/device/$DEVICE" >"$WORK/h2load.txt"; } 2>"$WORK/h2load.time"
    cat "$WORK/h2load.txt"
    if ! grep -q "status codes: [0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx" "$WORK/h2load.txt"; then
        echo "run.sh: h2load got answers other than 200: its request is not valid" >&2
        exit 1
    fi
    H2LOAD_RATE=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$WORK/h2load.txt" | cut -d. -f1)
    H2LOAD_DONE=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$WORK/h2load.txt")
    H2LOAD_CPU=$(awk -v n="$H2LOAD_DONE" '{ printf "%.1f", n ? ($1 + $2) * 1e6 / n : 0 }' "$WORK/h2load.time")
    MOCK_US_H2LOAD=$(awk -v t="$(( $(mock_cpu) - BEFORE ))" -v hz="$TICKS" -v n="$H2LOAD_DONE" 'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }')
else
    echo "run.sh: h2load not found and not installable; only the client figure is reported" >&2
fi

RATIO="n/a"
if [[ -n "$H2LOAD_RATE" && "$H2LOAD_RATE" -gt 0 ]]; then
    RATIO=$(awk -v c="$CLIENT_RATE" -v h="$H2LOAD_RATE" 'BEGIN { printf "%.2f", c / h }')
fi

echo
echo "== result: client $CLIENT_RATE notifications/s (p50 $CLIENT_P50 ms, p99 $CLIENT_P99 ms, $CLIENT_ERRORS errors)," \
    "h2load ${H2LOAD_RATE:-n/a} requests/s, ratio $RATIO"

MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    echo "# Relay.Apns client benchmark"
    echo
    echo "Written by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(nproc) cores, ${MODEL:-unknown CPU}," \
        "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) memory, $(dotnet --version) SDK;" \
        "the mock, the client and h2load share it, on 127.0.0.1."
    echo
    echo "| what | rate | p50 | p99 | errors | sender CPU / request | mock CPU / request |"
    echo "|---|---|---|---|---|---|---|"
    echo "| ApnsClient (Relay.Bench \`client\`) | $CLIENT_RATE notifications/s | $CLIENT_P50 ms | $CLIENT_P99 ms | $CLIENT_ERRORS | $CLIENT_CPU µs | $MOCK_US_CLIENT µs |"
    echo "| h2load, one fixed valid request (the ceiling) | ${H2LOAD_RATE:-n/a} requests/s | | | | $H2LOAD_CPU µs | $MOCK_US_H2LOAD µs |"
    echo
    echo "Client / ceiling: **$RATIO**."
    echo
    echo "How to read it: the sender and the mock share this machine's cores, so a request costs the sender's CPU plus"
    echo "the mock's, and the rate is about cores / (sender + mock) CPU per request. The mock costs about the same under"
    echo "either load; the difference is the sender: Relay.Apns's own HTTP/2 (framing, HPACK, flow control), TLS through"
    echo ".NET's SslStream and the async machinery against nghttp2's C. The mock was warmed up first by an unmeasured"
    echo "client run (a cold mock JIT-compiles itself during the first seconds and would double its cost per request)."
    echo
    echo "Settings: N=$N CONCURRENCY=$CONCURRENCY CONNECTIONS=$CONNECTIONS STREAMS=$STREAMS LIMIT=$LIMIT CLIENT_ENV=\"$CLIENT_ENV\"."
    echo
    echo "Commands:"
    echo
    echo '```'
    echo "dotnet $MOCK_DLL serve --certs $CERTS --host 127.0.0.1 --port $PORT --team-id $TEAM_ID --key-id $KEY_ID --topics $TOPIC --no-record"
    echo "${CLIENT_ENV:+$CLIENT_ENV }dotnet $BENCH_DLL client ... -n 400000 --warmup 0 --duration-limit 10s   # the mock's warm-up, not measured"
    echo "${CLIENT_ENV:+$CLIENT_ENV }$CLIENT_COMMAND"
    [[ -n "$H2LOAD_COMMAND" ]] && echo "$H2LOAD_COMMAND"
    echo '```'
    echo
    echo "Client output:"
    echo
    echo '```'
    grep -v '^RESULT' "$WORK/client.txt"
    echo '```'
    if [[ -f "$WORK/h2load.txt" && -n "$H2LOAD_RATE" ]]; then
        echo
        echo "h2load output (summary):"
        echo
        echo '```'
        grep -E '^(finished|requests|status codes|traffic|time for request|req/s)' "$WORK/h2load.txt"
        echo '```'
    fi
} >bench/RESULTS.md
echo "wrote bench/RESULTS.md"
