#!/usr/bin/env bash
# Quick bench run for CI: every criterion bench with few, short samples, then the bench summary
# checked against benches/budgets.toml. Fails when a p95 is over its budget, when a budgeted
# bench did not run, or when a bench has no budget.
#
#   bash benches/quick.sh
#
# It builds in the dev profile, the one `cargo test --workspace` builds (with the workspace's
# opt-level overrides: the solver at 3, dependencies at 2), and with the same feature
# resolution (`--workspace`), so after the tests it only compiles the bench targets: the bench
# profile would rebuild the whole dependency tree with LTO. The budgets are therefore for this
# profile, not for release builds; benches/README.md has both sets of figures.
#
# Criterion writes to a fresh folder, so that results of an earlier run cannot stand in for a
# bench that did not run this time. Extra arguments go to criterion (e.g. a bench name filter).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

target_dir=${CARGO_TARGET_DIR:-target}
export CRITERION_HOME="$target_dir/criterion-quick"
rm -rf "$CRITERION_HOME"

# Criterion's minimum of 10 samples; about 1 s of warm-up and 2 s of measurement per bench
# (criterion takes longer when 10 samples do not fit). `--quick` would keep only 2 samples: no p95.
cargo bench --locked --workspace --profile dev --bench '*' -- \
    --sample-size 10 --warm-up-time 1 --measurement-time 2 --noplot "$@"

# Built by the command above, with the same features: `cargo run` would resolve features for the
# summary alone and rebuild the solver.
"$target_dir/debug/bench-summary" --criterion-dir "$CRITERION_HOME" --budgets benches/budgets.toml --check
