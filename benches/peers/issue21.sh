#!/usr/bin/env bash
# Issue 21's figures in one panel run with the peers, one core each: the three newer families
# (SDVRPTW, GVRP, TSP) against PyVRP at 10 s (SDVRPTW also against PyVRP started as upstream now
# starts it), and CVRP X against HGS-CVRP at 10 s (up to 400 clients, and 401-1000) and at 60 s
# (five of up to 400 clients with seeds 1, 2 and 3; the five largest with seed 1). Every solution
# is scored by PyVRP's evaluator and ours by `luckygas check`; rows in OUT/results.jsonl, the
# summary on stdout (see panel.py; `panel.py --summarize OUT/results.jsonl` prints it again).
#
#   bash benches/peers/issue21.sh [OUT] [CORES]
#
# Needs the release binary (cargo build --release -p planner-api --bin luckygas; LUCKYGAS_BIN
# names it when the target directory is elsewhere) and the peers' virtual environment (python3 -m
# venv .venv-peers && .venv-peers/bin/pip install -r ../shared/tools/peer-bench/requirements.txt).
# About 8,000 s of solving in all (PyVRP runs that overrun their limit are killed at 3 times it
# plus 10 s): about 70 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

out=${1:-out/issue21}
cores=${2:-$(nproc)}
new=../shared/datasets/pyvrp-instances-new
x=../shared/datasets/pyvrp-instances/CVRP

jobs=()
for family in SDVRPTW GVRP TSP; do
    panel=$(tr '[:upper:]' '[:lower:]' <<<"$family")
    jobs+=(--job "$panel|ours|1|10|$new/$family/*.vrp" --job "$panel|pyvrp|1|10|$new/$family/*.vrp")
done
# PyVRP 0.14.1 as its upstream fix of issue #1193 starts it (see pyvrp_ils.py): on SDVRPTW the
# release's own start overruns the limit by minutes.
jobs+=(--job "sdvrptw|pyvrp-ils|1|10|$new/SDVRPTW/*.vrp")
jobs+=(--job "cvrp|hgs|1|10|$x/X-n*.vrp|400" --job "cvrp|ours|1|10|$x/X-n*.vrp|400")
jobs+=(--job "cvrp1000|hgs|1|10|$x/X-n*.vrp|401-1001" --job "cvrp1000|ours|1|10|$x/X-n*.vrp|401-1001")
for name in X-n101-k25 X-n153-k22 X-n200-k36 X-n256-k16 X-n303-k21; do
    jobs+=(--job "cvrp60|hgs|1|60|$x/$name.vrp||1,2,3" --job "cvrp60|ours|1|60|$x/$name.vrp||1,2,3")
done
for name in X-n876-k59 X-n916-k207 X-n936-k151 X-n957-k87 X-n1001-k43; do
    jobs+=(--job "cvrp1000-60|hgs|1|60|$x/$name.vrp" --job "cvrp1000-60|ours|1|60|$x/$name.vrp")
done

exec .venv-peers/bin/python benches/peers/panel.py --python .venv-peers/bin/python --luckygas "${LUCKYGAS_BIN:-target/release/luckygas}" \
    --cores "$cores" --out "$out" "${jobs[@]}"
