#!/usr/bin/env bash
# Coverage-guided fuzzing of the Chorus parsers with libFuzzer (the fuzz package in Tests/Fuzz).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   fuzz each target (default 600 s, all targets)
#   scripts/fuzz.sh --regress [TARGET...]              run every regression and seed once; fail on a crash
#   scripts/fuzz.sh --seeds                            regenerate Tests/Fuzz/Corpus (format 2) from the vectors
#   scripts/fuzz.sh --build [TARGET...]                only build
#   scripts/fuzz.sh --minimize TARGET FILE             shrink a crashing input into FILE.min
# Options (before the other arguments): --no-build (use the binaries already built; lets two runs
# share one build), --jobs N (fuzz N targets at once; default 1), --debug (build with -c debug
# instead of -c release: slower to run, about 5x fewer executions per second, quicker to rebuild).
# Both keep every precondition, bounds and overflow check; both are built with ASan.
#
# Targets: fuzz-envelope fuzz-batch fuzz-keyfiles fuzz-schema fuzz-answers.
# The growing corpus, logs and raw artifacts go into Tests/Fuzz/Work/<target>/ (git-ignored); any
# crash, leak, timeout or out-of-memory input is copied into Tests/Fuzz/Regressions/<target>/ (to
# commit). Exits 1 when a target
# found something (or, with --regress, when an input crashes). Replace a copied artifact by its
# minimised form (--minimize) before committing it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ="$ROOT/Tests/Fuzz"
SCRATCH="$FUZZ/.build-fuzz"
SEEDS_SCRATCH="$FUZZ/.build-seeds"
ALL_TARGETS=(fuzz-envelope fuzz-batch fuzz-keyfiles fuzz-schema fuzz-answers)
SWIFT=${SWIFT:-swift}
CONFIG=release
# Swift's own crash backtracer would run inside a crashing fuzz target and confuse ASan's report.
export SWIFT_BACKTRACE=${SWIFT_BACKTRACE:-enable=no}

max_len() {
    case "$1" in
        fuzz-envelope) echo 70000 ;;   # the largest answers section (65536) plus framing, or a crafted input
        fuzz-batch) echo 200000 ;;     # a signed recipients document, tombstones and a few envelopes
        fuzz-keyfiles) echo 4200 ;;    # key files are at most 4096 bytes
        fuzz-schema) echo 32768 ;;
        fuzz-answers) echo 16384 ;;    # answers are at most 4096 bytes; story sections start at 4096
        *) echo "fuzz.sh: unknown target $1" >&2; exit 64 ;;
    esac
}

build() {
    local t
    for t in "$@"; do
        max_len "$t" >/dev/null
        echo "fuzz.sh: building $t" >&2
        # The package uses swift-tools-version 5.4 on purpose: from 5.5 on, SwiftPM renames an
        # executable's entry point to <module>_main and links `--defsym main=<module>_main`, which
        # fails when the target has no main (libFuzzer's own main is the entry point).
        # ld.gold warns about every ASan helper symbol ("Cannot export local symbol"); drop that noise.
        "$SWIFT" build --package-path "$FUZZ" -c "$CONFIG" \
            -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
            --scratch-path "$SCRATCH" --product "$t" 2>&1 | grep -v "Cannot export local symbol" >&2 || true
        [ -x "$(bin "$t")" ] || { echo "fuzz.sh: build of $t failed" >&2; exit 70; }
    done
}

bin() { echo "$SCRATCH/$CONFIG/$1"; }

seeds() {
    "$SWIFT" build --package-path "$FUZZ" --scratch-path "$SEEDS_SCRATCH" --product fuzz-seeds 2>&1 | tail -n 3 >&2
    "$SEEDS_SCRATCH/debug/fuzz-seeds" "$ROOT"
}

# Run every file of Regressions/<target> and Corpus/<target> once.
regress() {
    local t failed=0 files tmp log
    tmp=$(mktemp -d)
    for t in "$@"; do
        files=()
        while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$FUZZ/Regressions/$t" "$FUZZ/Corpus/$t" -type f ! -name '.*' -print0 2>/dev/null | sort -z)
        if [ ${#files[@]} -eq 0 ]; then printf '%-14s no inputs\n' "$t"; continue; fi
        log="$tmp/$t.log"
        if "$(bin "$t")" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$tmp/" "${files[@]}" >"$log" 2>&1; then
            printf '%-14s %4d inputs  ok\n' "$t" "${#files[@]}"
        else
            failed=1
            printf '%-14s %4d inputs  FAILED\n' "$t" "${#files[@]}"
            # Name every input that fails, each run on its own.
            for f in "${files[@]}"; do
                "$(bin "$t")" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$tmp/" "$f" >"$tmp/one.log" 2>&1 \
                    || { echo "  crashes: ${f#"$ROOT"/}"; grep -m 3 -E "ERROR|FUZZ INVARIANT|Fatal error|SUMMARY" "$tmp/one.log" | sed 's/^/    /'; }
            done
        fi
    done
    rm -rf "$tmp"
    return $failed
}

# Fuzz one target for $2 seconds; writes Work/<target>/result (one line of the summary).
fuzz_one() {
    local t=$1 secs=$2 work="$FUZZ/Work/$1" dict=() regr=() log start end status
    mkdir -p "$work/corpus" "$work/artifacts" "$FUZZ/Regressions/$t"
    [ -f "$FUZZ/Dictionaries/$t.dict" ] && dict=(-dict="$FUZZ/Dictionaries/$t.dict")
    [ -n "$(ls -A "$FUZZ/Regressions/$t" 2>/dev/null)" ] && regr=("$FUZZ/Regressions/$t")
    log="$work/fuzz-$(date -u +%Y%m%dT%H%M%SZ).log"
    rm -f "$work/artifacts/"*
    start=$(date +%s)
    status=0
    # The first folder receives new inputs; the seed and regression folders are only read.
    "$(bin "$t")" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -max_total_time="$secs" \
        -use_value_profile=1 -print_final_stats=1 -artifact_prefix="$work/artifacts/" "${dict[@]}" \
        "$work/corpus" "$FUZZ/Corpus/$t" "${regr[@]}" >"$log" 2>&1 || status=$?
    end=$(date +%s)
    local execs eps done_line cov ft corp found=0 a
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    done_line=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$done_line")
    for a in "$work/artifacts/"*; do
        [ -f "$a" ] || continue
        case "$(basename "$a")" in
            crash-*|leak-*|timeout-*|oom-*)
                cp "$a" "$FUZZ/Regressions/$t/"
                found=$((found + 1))
                echo "fuzz.sh: $t: $(basename "$a") copied to Tests/Fuzz/Regressions/$t/ (log: ${log#"$ROOT"/})" >&2 ;;
        esac
    done
    if [ "$status" -ne 0 ] && [ "$found" -eq 0 ]; then
        echo "fuzz.sh: $t exited with status $status without an artifact; see ${log#"$ROOT"/}" >&2
        found="exit $status"
    fi
    printf '%-14s %6s %12s %8s %6s %7s %14s %s\n' "$t" "$((end - start))" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$found" >"$work/result"
}

NO_BUILD=0
JOBS=1
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) NO_BUILD=1; shift ;;
        --jobs) JOBS=$2; shift 2 ;;
        --debug) CONFIG=debug; shift ;;
        *) break ;;
    esac
done

case "${1:-}" in
    --seeds) seeds; exit 0 ;;
    --build) shift; targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=("${ALL_TARGETS[@]}"); build "${targets[@]}"; exit 0 ;;
    --minimize)
        [ $# -eq 3 ] || { echo "usage: fuzz.sh --minimize TARGET FILE" >&2; exit 64; }
        max_len "$2" >/dev/null
        [ $NO_BUILD -eq 1 ] || build "$2"
        "$(bin "$2")" -minimize_crash=1 -runs=20000 -timeout=10 -rss_limit_mb=2048 -exact_artifact_path="$3.min" "$3" 2>&1 | tail -n 5 || true
        [ -f "$3.min" ] || { echo "fuzz.sh: no minimised input (does $3 still crash $2?)" >&2; exit 1; }
        echo "fuzz.sh: minimised input in $3.min ($(wc -c <"$3.min") bytes, was $(wc -c <"$3"))"
        exit 0 ;;
    --regress)
        shift; targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=("${ALL_TARGETS[@]}")
        [ $NO_BUILD -eq 1 ] || build "${targets[@]}"
        regress "${targets[@]}"; exit $? ;;
esac

SECS=600
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then SECS=$1; shift; fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do max_len "$t" >/dev/null; done
[ $NO_BUILD -eq 1 ] || build "${targets[@]}"

running=0
for t in "${targets[@]}"; do
    echo "fuzz.sh: fuzzing $t for $SECS s" >&2
    fuzz_one "$t" "$SECS" &
    running=$((running + 1))
    if [ $running -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true

echo
printf '%-14s %6s %12s %8s %6s %7s %14s %s\n' target seconds executions exec/s cov ft corpus findings
rc=0
for t in "${targets[@]}"; do
    cat "$FUZZ/Work/$t/result"
    [ "$(awk '{print $8}' "$FUZZ/Work/$t/result")" = 0 ] || rc=1
done
exit $rc
