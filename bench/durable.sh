#!/usr/bin/env bash
# What durable delivery costs: bench/e2e.sh against the relay as it was on the commit before durable delivery
# (BASELINE, built in a detached worktree under /tmp), then against this checkout, back to back on the same
# machine, then the fault run (MODE=faults). Writes bench/RESULTS-durable.md with both rates and their ratio.
#
#   bench/durable.sh                     64 clients, 30 s warm-up, 20 s measured, each relay
#   BASELINE=<commit> WARMUP=40s bench/durable.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The commit before "Durable delivery: messages and deliveries committed before the answer ..." (a985530).
readonly BASELINE="${BASELINE:-30228f4}"
readonly TREE="${TMPDIR:-/tmp}/relay-baseline-$BASELINE"
export WARMUP="${WARMUP:-30s}" DURATION="${DURATION:-20s}" CLIENTS="${CLIENTS:-64}"

if [[ ! -d "$TREE" ]]; then
    git worktree add --detach "$TREE" "$BASELINE" >/dev/null
fi
echo "== building the baseline relay ($BASELINE)"
dotnet build -c Release -v quiet -nologo "$TREE/src/Relay.Api" >/dev/null

echo "== baseline: $(git log --oneline -1 "$BASELINE")"
RELAY_DLL="$TREE/src/Relay.Api/bin/Release/net10.0/Relay.Api.dll" RESULTS=.dev/bench-e2e/baseline.md SKIP_CLIENT=1 bench/e2e.sh
cp .dev/bench-e2e/e2e.txt .dev/bench-e2e/baseline.txt
echo "== durable: $(git log --oneline -1 HEAD)"
RESULTS=.dev/bench-e2e/durable.md SKIP_CLIENT=1 bench/e2e.sh
cp .dev/bench-e2e/e2e.txt .dev/bench-e2e/durable.txt
echo "== faults"
fault_status=0
MODE=faults RESULTS=.dev/bench-e2e/faults.md bench/e2e.sh || fault_status=$?

value() { sed -n "s/^RESULT .* $1=\([0-9.]*\).*/\1/p" "$2"; }
base_rate=$(value messages_per_s .dev/bench-e2e/baseline.txt)
durable_rate=$(value messages_per_s .dev/bench-e2e/durable.txt)
ratio=$(awk -v d="$durable_rate" -v b="$base_rate" 'BEGIN { printf "%.2f", d / b }')
{
    echo "# What durable delivery costs"
    echo
    echo "Written by \`bench/durable.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Machine: $(nproc) cores; PostgreSQL 15, the mock APNs,"
    echo "the relay and the load generator share it, on 127.0.0.1. Each relay is a fresh process, loaded for $WARMUP before"
    echo "$DURATION are measured, with $CLIENTS clients posting single-recipient messages. The baseline is commit"
    echo "\`$(git log --oneline -1 "$BASELINE")\`, the last before durable delivery."
    echo
    echo "| relay | messages/s | deliveries/s at the mock | p50 | p99 |"
    echo "|---|---|---|---|---|"
    for run in baseline durable; do
        echo "| $run | $(value messages_per_s .dev/bench-e2e/$run.txt) | $(value deliveries_per_s .dev/bench-e2e/$run.txt) | $(value p50_ms .dev/bench-e2e/$run.txt) ms | $(value p99_ms .dev/bench-e2e/$run.txt) ms |"
    done
    echo
    echo "Durable ÷ baseline: **$ratio**."
    echo
    echo "Baseline output:"
    echo
    echo '```'
    cat .dev/bench-e2e/baseline.txt
    echo '```'
    echo
    echo "Durable output:"
    echo
    echo '```'
    cat .dev/bench-e2e/durable.txt
    echo '```'
    echo
    sed 's/^# /## /' .dev/bench-e2e/faults.md
} >bench/RESULTS-durable.md
echo "== wrote bench/RESULTS-durable.md (durable ÷ baseline = $ratio)"
exit "$fault_status"
