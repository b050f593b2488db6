#!/usr/bin/env bash
# Fuzz smoke run: builds every target in fuzz/fuzz_targets once, then runs each for
# SECONDS_PER_TARGET seconds from a fresh corpus seeded with fuzz/seeds/<target>/.
# Exits non-zero if any target crashes (panic, abort, sanitizer report, timeout, out of memory)
# and prints where the crashing input was saved (fuzz/artifacts/<target>/, gitignored).
#
#   bash fuzz/run.sh 60
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). The toolchain is stable, so the
# nightly-only flags cargo-fuzz passes (sanitizer, coverage instrumentation) are allowed with
# RUSTC_BOOTSTRAP=1. Builds go to $FUZZ_TARGET_DIR, by default "$CARGO_TARGET_DIR-fuzz" (or
# ~/.cache/luckygas/target-fuzz), outside the clone and apart from the workspace's own builds.
set -euo pipefail

secs=${1:?usage: bash fuzz/run.sh SECONDS_PER_TARGET}
[[ $secs =~ ^[0-9]+$ ]] || { echo "fuzz/run.sh: SECONDS_PER_TARGET must be a whole number, got '$secs'" >&2; exit 2; }

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$fuzz_dir"

cargo fuzz --version >/dev/null 2>&1 || {
    echo "fuzz/run.sh: cargo-fuzz is missing; install it with: cargo install cargo-fuzz --locked" >&2
    exit 2
}

export RUSTC_BOOTSTRAP=1
target_dir=${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$HOME/.cache/luckygas/target}-fuzz}
host=$(rustc -vV | sed -n 's/^host: //p')
bin_dir="$target_dir/$host/release"

mapfile -t targets < <(cargo fuzz list)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz/run.sh: no fuzz targets found" >&2; exit 2; }

# One build for all targets: release, debug assertions, AddressSanitizer (cargo-fuzz defaults).
cargo fuzz build --target-dir "$target_dir"

work=$(mktemp -d "${TMPDIR:-/tmp}/luckygas-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

failed=()
for t in "${targets[@]}"; do
    corpus="$work/corpus/$t"
    found="$work/artifacts/$t"
    mkdir -p "$corpus" "$found"
    if [ -d "seeds/$t" ]; then
        cp -R "seeds/$t/." "$corpus"/
    else
        echo "fuzz/run.sh: warning: no seeds/$t, starting from an empty corpus" >&2
    fi
    # A local corpus from earlier `cargo fuzz run`s (gitignored) is read too, but not written.
    extra=()
    [ -d "corpus/$t" ] && extra=("corpus/$t")

    log="$work/$t.log"
    echo "fuzz/run.sh: $t for ${secs}s" >&2
    rc=0
    # -timeout: one input may take at most 10 s; the outer timeout is a backstop for hangs that
    # libFuzzer itself cannot interrupt.
    timeout --kill-after=30 $((secs + 120)) "$bin_dir/$t" \
        -max_total_time="$secs" -rss_limit_mb=4096 -max_len=65536 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$found/" \
        "$corpus" "${extra[@]}" >"$log" 2>&1 || rc=$?

    if [ "$rc" -eq 0 ]; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        echo "fuzz/run.sh: $t ok (${runs:-?} runs, $(find "$corpus" -type f | wc -l) corpus inputs)" >&2
        continue
    fi

    failed+=("$t")
    mkdir -p "artifacts/$t"
    cp "$log" "artifacts/$t/last-run.log"
    echo "fuzz/run.sh: $t FAILED (exit status $rc); full log: $fuzz_dir/artifacts/$t/last-run.log" >&2
    # The panic message or sanitizer report, then libFuzzer's summary (the backtrace is in the log).
    grep -m 3 -A 2 -E 'panicked at|^==[0-9]+==ERROR|ERROR: libFuzzer' "$log" >&2 || true
    tail -n 12 "$log" >&2
    inputs=$(find "$found" -type f)
    if [ -z "$inputs" ]; then
        echo "fuzz/run.sh: $t left no crashing input (killed by the outer timeout?)" >&2
    fi
    for f in $inputs; do
        cp "$f" "artifacts/$t/"
        saved="$fuzz_dir/artifacts/$t/$(basename "$f")"
        echo "fuzz/run.sh: crashing input of $t: $saved" >&2
        echo "fuzz/run.sh:   reproduce: $bin_dir/$t $saved" >&2
    done
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz/run.sh: crashes in: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz/run.sh: all ${#targets[@]} targets ran ${secs}s each without a crash" >&2
