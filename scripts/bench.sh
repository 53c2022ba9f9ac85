#!/usr/bin/env bash
# Chorus benchmarks, side by side with their references, in one run (issue "Performance").
#
#   scripts/bench.sh [--large] [--runs N] [--data DIR] [--no-micro] [--serve-only]
#
# Builds release binaries (`make release`: the root package, with the Swift runtime linked in, into
# .build-release; the Benchmarks package into Benchmarks/.build-bench; the C references with
# cc -O2 -lsodium -lpthread), generates batches of 10,000 and 100,000 entries (and 1,000,000 with
# --large) with chorus-bulkgen, then times:
#   chorus stats            against Benchmarks/reference/stats_ref.c (all cores) and stats_pynacl.py
#   chorus stats, 21 tables (every built-in field and pair) with K = 5, against the same counting with
#                           K = 1: the time of suppression and the joint audit beside counting
#   chorus review --format jsonl > /dev/null   against stats_ref -s (the story section opened too)
#   chorus submit --out     against age -r, on the same 4 KiB story
#   chorus import (10,000 envelopes)           against Benchmarks/reference/import_ref.c
#   chorus serve: 10,000 posts of distinct envelopes over 32 keep-alive connections (the load from
#                           Benchmarks/reference/post_load.c, by Benchmarks/serve_bench.py), against
#                           import_ref writing the same envelopes; its peak RSS after 10,000 and 100,000
#                           (the serve section is timed by serve_bench.py, not timing.py: medians of 3 rounds)
# with Benchmarks/timing.py (each command and its reference in alternation, medians over --runs
# rounds, 5 by default; peak RSS from wait4), prints each ratio, and writes Benchmarks/RESULTS.md,
# with a profile (perf, else callgrind) of every target missed. Generated data goes to --data
# (default /tmp/chorus-bench; about 5 KB per entry), never into the repository; batches are kept
# between runs and made again only when missing. --serve-only runs the serve section alone (no batches,
# no chorus-bulkgen) and writes its tables into the results folder, not Benchmarks/RESULTS.md.
# Installs age, python3-nacl, valgrind and strace with apt-get when they are missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
large=0
runs=5
micro=1
serve_only=0
# Generated data is kept between runs; the folder is named by the format version (FORMAT.md), so
# data of an earlier version is never reused.
data=${CHORUS_BENCH_DATA:-/tmp/chorus-bench-v2}
while [ $# -gt 0 ]; do
  case "$1" in
    --large) large=1 ;;
    --runs) runs=$2; shift ;;
    --data) data=$2; shift ;;
    --no-micro) micro=0 ;;
    --serve-only) serve_only=1 ;;
    -h|--help) sed -n 2,26p "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 64 ;;
  esac
  shift
done
case "$runs" in ''|*[!0-9]*|0) echo "bench: --runs needs a whole number of at least 1" >&2; exit 64 ;; esac
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

say "Tools"
need=()
if [ $serve_only = 0 ]; then
  command -v age >/dev/null || need+=(age)
  command -v valgrind >/dev/null || need+=(valgrind)
  command -v strace >/dev/null || need+=(strace)
  /usr/bin/python3 -c 'import nacl' 2>/dev/null || need+=(python3-nacl)
fi
{ command -v pkg-config >/dev/null && pkg-config --exists libsodium; } || need+=(libsodium-dev pkg-config)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} with apt-get" >&2
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

say "Build (release)"
make -C "$root" --no-print-directory release 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" >&2 || true
chorus="$root/.build-release/release/chorus"
[ -x "$chorus" ] || { echo "bench: the release build of chorus failed" >&2; exit 1; }
bin="$data/bin"
mkdir -p "$bin"
cc -O2 -D_GNU_SOURCE -o "$bin/stats_ref" "$root/Benchmarks/reference/stats_ref.c" -lsodium -lpthread
cc -O2 -o "$bin/import_ref" "$root/Benchmarks/reference/import_ref.c" -lsodium
cc -O2 -o "$bin/measure" "$root/Benchmarks/reference/measure.c"
cc -O2 -o "$bin/post_load" "$root/Benchmarks/reference/post_load.c" -lpthread
py=/usr/bin/python3
pynacl="$root/Benchmarks/reference/stats_pynacl.py"
if [ $serve_only = 0 ]; then
(cd "$root/Benchmarks" && swift build -c release --scratch-path .build-bench --product chorus-bulkgen 2>&1 \
  | grep -E "error|Build complete" >&2 || true)
bulkgen="$root/Benchmarks/.build-bench/release/chorus-bulkgen"
[ -x "$bulkgen" ] || { echo "bench: the build of chorus-bulkgen failed" >&2; exit 1; }
fi

sizes=(10000 100000)
[ $large = 1 ] && sizes+=(1000000)
[ $serve_only = 1 ] && sizes=()
say "Data in $data"
mkdir -p "$data"
need_kb=0
for n in "${sizes[@]}"; do [ -f "$data/b$n.batch" ] || need_kb=$((need_kb + n * 5 + 1024)); done
need_kb=$((need_kb + 10000 * 6 + 200000)) # import envelopes and stores, with room to spare
[ -f "$data/serve/envelopes/done" ] || need_kb=$((need_kb + 100000 * 5))
need_kb=$((need_kb + 100000 * 6)) # the serve section's store of 100,000
free_kb=$(df -Pk "$data" | awk 'NR==2 {print $4}')
if [ "$free_kb" -lt "$need_kb" ]; then
  echo "bench: $data needs about $((need_kb / 1024)) MiB free and has $((free_kb / 1024)) MiB" >&2
  exit 1
fi
keys="$data/keys"
for n in "${sizes[@]}"; do
  if [ ! -f "$data/b$n.batch" ]; then
    rm -f "$data/b$n.batch.tmp"
    "$bulkgen" --keys "$keys" --count "$n" --out "$data/b$n.batch.tmp" && mv "$data/b$n.batch.tmp" "$data/b$n.batch"
  fi
done
if [ $serve_only = 0 ] && [ ! -f "$data/envelopes/done" ]; then
  rm -rf "$data/envelopes"
  "$bulkgen" --keys "$keys" --count 10000 --envelopes "$data/envelopes" && touch "$data/envelopes/done"
fi
head -c 4096 /dev/urandom | base64 -w 76 | head -c 4096 > "$data/story.txt"
if [ $serve_only = 0 ]; then
  [ -f "$data/age.key" ] || age-keygen -o "$data/age.key" 2>/dev/null
  age_recipient=$(grep -o 'age1[0-9a-z]*' "$data/age.key" | head -n 1)
  mkdir -p "$data/Keys" && cp "$keys/reviewer.pub" "$keys/analyst.pub" "$data/Keys/"
fi
pass="$keys/passphrase"
export NO_COLOR=1
# The organisation key of the generated batches is pinned here on first use, not in ~/.config.
export XDG_CONFIG_HOME="$data/config"

# The machine, and what else runs on it.
snapshot_load() { cut -d' ' -f1-3 /proc/loadavg; }
busy() { ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 >= 10 {printf "%s%s (%s%% CPU)", sep, $2, $1; sep=", "}'; }
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
load_start=$(snapshot_load)
busy_start=$(busy)

results="$data/results"
rm -rf "$results" && mkdir -p "$results"
# side_by_side RUNS WARMUP NAME=[PREPARE;;]COMMAND ...: interleaved runs (Benchmarks/timing.py);
# writes $results/NAME.median (seconds), NAME.rss (KiB) and NAME.json.
side_by_side() { python3 "$root/Benchmarks/timing.py" "$bin/measure" "$results" "$@"; }

if [ $serve_only = 0 ]; then
say "stats: chorus against the C reference and PyNaCl"
for n in "${sizes[@]}"; do
  b="$data/b$n.batch"
  r=$runs; w=1; few=$(( runs < 3 ? runs : 3 ))
  [ "$n" -ge 1000000 ] && { r=$few; w=0; }
  stats="$chorus stats --key $keys/analyst.key --passphrase-file $pass $b --by setting --releases $data/releases-stats"
  ref="$bin/stats_ref $keys/analyst.key $pass $b"
  echo "-- stats, $n entries" >&2
  same_series=()
  if [ "$n" -ge 1000000 ]; then
    # The 100,000-entry batch again, in the same series: the per-entry comparison of the two sizes
    # must not depend on how busy the machine was ten minutes earlier.
    same_series=("stats_chorus_100000_beside_1000000=$chorus stats --key $keys/analyst.key --passphrase-file $pass $data/b100000.batch --by setting --releases $data/releases-stats")
  fi
  side_by_side "$r" "$w" "stats_chorus_$n=$stats" "${same_series[@]}" "stats_ref_$n=$ref" \
    "stats_refhash_$n=$bin/stats_ref -H $keys/analyst.key $pass $b"
  if [ "$n" -le 100000 ]; then
    side_by_side "$few" 0 "stats_pynacl_$n=$py $pynacl $keys/analyst.key $pass $b"
  fi
  # The counts must agree.
  $stats 2>/dev/null | awk '$2 ~ /^[0-9]+$/ && $1 != "All" {print $1, $2}' | sort > "$results/counts_chorus_$n"
  $ref | awk -F'\t' 'NR > 1 && $2 ~ /^[0-9]+$/ {print $1, $2}' | sort > "$results/counts_ref_$n"
  if cmp -s "$results/counts_chorus_$n" "$results/counts_ref_$n"; then echo same > "$results/agree_$n"; else echo DIFFERENT > "$results/agree_$n"; fi
done

say "stats: the joint audit of the built-in questionnaire, every field and every pair of fields (21 tables)"
# The same 21 tables counted with K = 1 (no suppression, no audit) and with K = 5 (suppression of each
# table, then the joint audit): the difference is the protection, the ratio says whether it dominates.
alltables=""
fields=(kind setting perpetrator-role year reported consent)
for ((i = 0; i < ${#fields[@]}; i++)); do
  alltables="$alltables --by ${fields[$i]}"
  for ((j = i + 1; j < ${#fields[@]}; j++)); do alltables="$alltables --by ${fields[$i]},${fields[$j]}"; done
done
for n in "${sizes[@]}"; do
  b="$data/b$n.batch"
  r=$(( runs < 3 ? runs : 3 )); [ "$n" -ge 1000000 ] && r=1
  echo "-- stats with 21 tables, $n entries" >&2
  side_by_side "$r" 0 \
    "audit_count_$n=rm -rf $data/releases;;$chorus stats --key $keys/analyst.key --passphrase-file $pass $b $alltables --min-count 1 --unsafe-small-cells --releases $data/releases" \
    "audit_full_$n=rm -rf $data/releases;;$chorus stats --key $keys/analyst.key --passphrase-file $pass $b $alltables --audit-time-limit 3600 --releases $data/releases"
  # What the audit changed, from its note (one run).
  rm -rf "$data/releases"
  $chorus stats --key "$keys/analyst.key" --passphrase-file "$pass" "$b" $alltables --audit-time-limit 3600 --releases "$data/releases" \
    2>&1 >/dev/null | grep -o 'the joint audit .*' > "$results/audit_note_$n" || echo "the joint audit changed nothing" > "$results/audit_note_$n"
done
rm -rf "$data/releases"

say "review: chorus --format jsonl against the C reference that also opens the story"
review_sizes=(10000 100000)
for n in "${review_sizes[@]}"; do
  b="$data/b$n.batch"
  echo "-- review, $n entries" >&2
  side_by_side "$runs" 1 "review_chorus_$n=$chorus review --key $keys/reviewer.key --passphrase-file $pass $b --format jsonl" \
    "review_ref_$n=$bin/stats_ref -s $keys/reviewer.key $pass $b"
done

say "submit --out against age -r (4 KiB story)"
answers="--answer kind=verbal --answer setting=workplace --answer perpetrator-role=colleague --answer reported=no --answer consent=counts-only"
side_by_side $((runs * 6)) 2 \
  "submit_chorus=rm -f $data/submit.env;;$chorus submit --out $data/submit.env --recipients $data/Keys $answers --file $data/story.txt" \
  "submit_age=rm -f $data/submit.age;;age -r $age_recipient -o $data/submit.age $data/story.txt"

say "import of 10,000 envelopes against the C durable-write reference"
importdir="$data/import"
printf '%s\n' "$data"/envelopes/*.env > "$data/envelope-list"
side_by_side "$(( runs < 3 ? runs : 3 ))" 0 \
  "import_chorus=rm -rf $importdir && $chorus init --store $importdir;;$chorus import --store $importdir @$data/envelope-list" \
  "import_ref=rm -rf $importdir && mkdir -p $importdir;;$bin/import_ref $importdir @$data/envelope-list"
rm -rf "$importdir"
fi

say "serve: 10,000 posts of distinct envelopes over 32 keep-alive connections"
# The release server on a fresh store (--rate 1000000 --max-concurrent 256), post_load from the same
# 10,000 envelopes kept in $data/serve (100,000 made once with Tests/Crash/envelopes.py), against
# import_ref writing those 10,000 one after the other; then 100,000 posts on one server for its RSS.
python3 "$root/Benchmarks/serve_bench.py" "$chorus" "$bin" "$data" "$results" "$(( runs < 3 ? runs : 3 ))"

if [ $serve_only = 0 ] && [ $micro = 1 ]; then
  say "micro-benchmarks (package-benchmark)"
  # (The plugin exits 0 even when the benchmarks do not build: look for its table.)
  if (cd "$root/Benchmarks" && swift package --scratch-path .build-bench --disable-sandbox benchmark --format markdown --no-progress \
        > "$results/micro.md" 2> "$results/micro.log") && grep -q '^| Metric' "$results/micro.md" && ! grep -q 'failed to run' "$results/micro.md"; then
    # Without the tool's colour codes and what it prints while building (before its first heading).
    sed -i -e 's/\x1b\[[0-9;]*m//g' "$results/micro.md"
    awk 'found || /^## / { found = 1; print }' "$results/micro.md" > "$results/micro.tmp" && mv "$results/micro.tmp" "$results/micro.md"
  else
    cat "$results/micro.md" >> "$results/micro.log"
    : > "$results/micro.md"
    echo "bench: the micro-benchmarks did not run; see $results/micro.log" >&2
  fi
fi

load_end=$(snapshot_load)
busy_end=$(busy)

say "Results"
out_md="$root/Benchmarks/RESULTS.md"
[ $serve_only = 1 ] && out_md="$results/RESULTS.md"
BENCH_SERVE_ONLY=$serve_only python3 - "$results" "$out_md" "$large" "$(nproc)" "$cpu_model" "$load_start" "$load_end" \
  "$busy_start" "$busy_end" "$runs" "$(uname -srm)" "$(swift --version 2>/dev/null | head -n1)" "$(pkg-config --modversion libsodium)" \
  "$(age --version 2>/dev/null)" "$(/usr/bin/python3 -c 'import nacl; print(nacl.__version__)')" <<'PY'
import os, sys, datetime
(res, out, large, nproc, cpu, load0, load1, busy0, busy1, runs, kernel, swiftv, sodium, agev, naclv) = sys.argv[1:16]
def med(name):
    p = os.path.join(res, name + ".median")
    return float(open(p).read()) if os.path.exists(p) else None
def rss(name):
    p = os.path.join(res, name + ".rss")
    try: return int(open(p).read().strip()) / 1024
    except Exception: return None
def s(x): return "n/a" if x is None else f"{x:.3f} s"
def mib(x): return "n/a" if x is None else f"{x:.1f} MiB"
sizes = [10000, 100000] + ([1000000] if large == "1" else [])
lines, verdicts = [], []
def verdict(name, ok, detail):
    verdicts.append((name, "met" if ok else "**missed**", detail))
lines.append("## chorus stats (answers only, `--by setting`, analyst key, all cores)\n")
lines.append("| entries | chorus stats | C reference | ratio (C time / chorus time) | C reference + batch checksum | PyNaCl (1 core) | chorus / PyNaCl speed-up | chorus µs per entry | chorus peak RSS | C peak RSS | counts agree |")
lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--|")
per_entry = {}
for n in sizes:
    c, r, rh, p = med(f"stats_chorus_{n}"), med(f"stats_ref_{n}"), med(f"stats_refhash_{n}"), med(f"stats_pynacl_{n}")
    ratio = r / c if c and r else None
    per_entry[n] = c / n * 1e6 if c else None
    agree = open(os.path.join(res, f"agree_{n}")).read().strip() if os.path.exists(os.path.join(res, f"agree_{n}")) else "n/a"
    lines.append(f"| {n:,} | {s(c)} | {s(r)} | {'n/a' if ratio is None else f'{ratio:.2f}'} | {s(rh)} | {s(p)} | "
                 f"{'n/a' if not (p and c) else f'{p / c:.1f}×'} | {'n/a' if per_entry[n] is None else f'{per_entry[n]:.1f}'} | "
                 f"{mib(rss(f'stats_chorus_{n}'))} | {mib(rss(f'stats_ref_{n}'))} | {agree} |")
    if n == 100000 and ratio is not None:
        verdict("stats throughput ≥ 0.8 of the C reference at 100,000 entries", ratio >= 0.8, f"{ratio:.2f}")
beside = med("stats_chorus_100000_beside_1000000")
if large == "1" and per_entry.get(1000000) and (beside or per_entry.get(100000)):
    # Against the 100,000-entry batch timed in the same series as the 1,000,000 one (alternating).
    base = beside / 100000 * 1e6 if beside else per_entry[100000]
    growth = per_entry[1000000] / base
    verdict("stats at 1,000,000: time per entry within 10% of the 100,000 figure", growth <= 1.10,
            f"{per_entry[1000000]:.1f} µs against {base:.1f} µs ({(growth - 1) * 100:+.1f}%)" +
            (" (100,000 entries timed in the same series)" if beside else ""))
    m1, m10 = rss("stats_chorus_1000000"), rss("stats_chorus_10000")
    if m1 and m10:
        verdict("stats at 1,000,000: peak RSS < 100 MiB and within 20% of the 10,000 figure", m1 < 100 and m1 <= 1.2 * m10,
                f"{m1:.1f} MiB against {m10:.1f} MiB ({(m1 / m10 - 1) * 100:+.1f}%)")
if beside:
    lines.append(f"\nIn the series of the 1,000,000-entry batch, chorus stats on the 100,000-entry batch took {s(beside)} "
                 f"({beside / 100000 * 1e6:.1f} µs per entry); the per-entry target compares with that figure.")
lines.append("\nThe C reference does the libsodium calls that decoding the answers needs and nothing else; Chorus also "
             "checks each batch's BLAKE2b checksum (FORMAT.md 6), so the column with `-H` (the reference with that "
             "checksum too) is shown for comparison. The C reference maps the batch into memory, so its RSS includes the file's pages.\n")
lines.append("## chorus stats with the joint audit (the built-in questionnaire: 6 fields and 15 pairs, 21 tables)\n")
lines.append("| entries | counting only (K = 1, no audit) | counting, suppression and joint audit (K = 5) | protection's share of the time | what the audit did |")
lines.append("|---:|---:|---:|---:|:--|")
for n in sizes:
    c, f = med(f"audit_count_{n}"), med(f"audit_full_{n}")
    note_path = os.path.join(res, f"audit_note_{n}")
    note = open(note_path).read().strip() if os.path.exists(note_path) else "n/a"
    share = (f - c) / f if c and f else None
    lines.append(f"| {n:,} | {s(c)} | {s(f)} | {'n/a' if share is None else f'{share * 100:.0f}%'} | {note} |")
    if share is not None:
        verdict(f"the joint audit does not dominate the run at {n:,} entries (under half its time)", share < 0.5, f"{share * 100:.0f}% of {s(f)}")
lines.append("")
lines.append("## chorus review (`--format jsonl > /dev/null`, reviewer key, all cores)\n")
lines.append("| entries | chorus review | C reference (`-s`: story opened too) | ratio (C time / chorus time) | chorus peak RSS |")
lines.append("|---:|---:|---:|---:|---:|")
for n in (10000, 100000):
    c, r = med(f"review_chorus_{n}"), med(f"review_ref_{n}")
    ratio = r / c if c and r else None
    lines.append(f"| {n:,} | {s(c)} | {s(r)} | {'n/a' if ratio is None else f'{ratio:.2f}'} | {mib(rss(f'review_chorus_{n}'))} |")
    if n == 100000 and ratio is not None:
        verdict("review throughput ≥ 0.7 of the C reference (story too) at 100,000 entries", ratio >= 0.7, f"{ratio:.2f}")
lines.append("\n## chorus submit --out and chorus import\n")
lines.append("| what | chorus | reference | ratio | target |")
lines.append("|---|---:|---:|---:|---|")
c, a = med("submit_chorus"), med("submit_age")
if c and a:
    lines.append(f"| submit --out, one 4 KiB story, whole process (peak RSS {mib(rss('submit_chorus'))}) | {s(c)} | {s(a)} (`age -r`) | {c / a:.2f}× the time of age | ≤ 2.0× |")
    verdict("submit --out whole-process time ≤ 2.0 × age -r", c / a <= 2.0, f"{c / a:.2f}×")
c, r = med("import_chorus"), med("import_ref")
if c and r:
    lines.append(f"| import of 10,000 envelopes | {s(c)} | {s(r)} (C durable writes) | {r / c:.2f} of the reference's throughput | ≥ 0.8 |")
    verdict("import of 10,000 envelopes ≥ 0.8 of the C durable-write reference", r / c >= 0.8, f"{r / c:.2f}")
serve_path = os.path.join(res, "serve.json")
if os.path.exists(serve_path):
    import json
    sv = json.load(open(serve_path))
    if os.environ.get("BENCH_SERVE_ONLY") == "1":
        lines = []  # the other sections did not run
    ratio = sv["per_second"] / sv["ref_per_second"]
    lines.append("\n## chorus serve (`POST /v1/envelopes`, 10,000 distinct envelopes, 32 keep-alive connections)\n")
    lines.append("| what | chorus serve | C durable-write reference | ratio | target |")
    lines.append("|---|---:|---:|---:|---|")
    lines.append(f"| accepted envelopes per second (201 answers; one at a time for the reference) | {sv['per_second']:,.0f} | "
                 f"{sv['ref_per_second']:,.0f} | {ratio:.2f} of the reference's throughput | ≥ 0.8 |")
    lines.append(f"| latency of one post, p50 / p99 | {sv['p50_ms']:.2f} ms / {sv['p99_ms']:.2f} ms | | | |")
    h10, h100 = sv["vmhwm_10k_kib"] / 1024, sv["vmhwm_100k_kib"] / 1024
    lines.append(f"| server peak RSS (VmHWM) after 10,000 / 100,000 posts | {h10:.1f} MiB / {h100:.1f} MiB | | "
                 f"{h100 / h10:.2f}× | flat (≤ 1.2×) |")
    lines.append(f"\nCPU of the 10,000 posts: server {sv['server_cpu_seconds']:.2f} s, load generator {sv['generator_cpu_seconds']:.2f} s "
                 f"(`Benchmarks/reference/post_load.c`, one thread per connection); every post answered 201 and stored: "
                 f"{'yes' if sv['all_accepted'] else '**no**'}; `chorus verify` of the 100,000-entry inbox exited {sv['verify_100k']}.\n")
    verdict("serve: accepted envelopes per second ≥ 0.8 of the C durable-write reference", ratio >= 0.8, f"{ratio:.2f}")
    verdict("serve: peak RSS after 100,000 posts within 20% of the figure after 10,000", h100 <= 1.2 * h10,
            f"{h100:.1f} MiB against {h10:.1f} MiB ({(h100 / h10 - 1) * 100:+.1f}%)")
    verdict("serve: every one of the 10,000 and 100,000 posts answered 201 and stored", sv["all_accepted"], "yes" if sv["all_accepted"] else "no")
head = [
    "# Chorus benchmark results\n",
    f"Written by `scripts/bench.sh{' --large' if large == '1' else ''}` on {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; "
    f"every figure below comes from that run: medians of {runs} rounds in which each command and its reference run in alternation "
    f"(3 rounds at most for PyNaCl, import and 1,000,000 entries; {int(runs) * 6} for submit), with `Benchmarks/timing.py`. "
    f"Peak RSS is the median of the peak resident set sizes of the same runs (wait4).\n",
    "## Machine\n",
    f"- {nproc} cores: {cpu}; {kernel}",
    f"- {swiftv}; libsodium {sodium}; {agev and 'age ' + agev}; PyNaCl {naclv}",
    f"- load average (1, 5, 15 min) at the start: {load0}; at the end: {load1}",
    f"- other processes using ≥ 10% of a CPU at the start: {busy0 or 'none'}; at the end: {busy1 or 'none'}",
    "",
    "## Targets\n",
    "| target | result | measured |",
    "|---|---|---|",
] + [f"| {a} | {b} | {c} |" for a, b, c in verdicts] + [""]
text = "\n".join(head + lines) + "\n"
extra = os.environ.get("BENCH_NOTES_FILE")
micro = os.path.join(res, "micro.md")
if os.path.exists(micro) and os.path.getsize(micro) > 0:
    text += "\n## Micro-benchmarks (package-benchmark, `Benchmarks/Benchmarks/ChorusMicro`)\n\n" + open(micro).read() + "\n"
elif os.path.exists(os.path.join(res, "micro.log")):
    text += "\n## Micro-benchmarks\n\nThey did not build or run in this run (see micro.log in the results folder).\n"
open(out + ".tables", "w").write(text)
open(os.path.join(res, "missed"), "w").write("".join(f"{a}\n" for a, b, c in verdicts if b != "met"))
print(text)
PY

# Where the time goes, for every missed target: perf (cpu-clock samples) where it works, else callgrind.
# (Profiling is best effort: `head` closing a pipe early must not stop the script.)
set +e +o pipefail
profiles="$results/profiles.md"
: > "$profiles"
perf_ok=0
perf record -e cpu-clock -o "$results/probe.perf" -- true >/dev/null 2>&1 && perf_ok=1
profile() { # TITLE COMMAND...
  local title=$1; shift
  local f="$results/profile-$RANDOM"
  { echo; echo "### $title"; echo; echo '```'; } >> "$profiles"
  if [ $perf_ok = 1 ] && perf record -e cpu-clock -F 999 -g -o "$f.perf" -- "$@" > /dev/null 2>&1; then
    { echo "perf record -e cpu-clock: $*"
      perf report -i "$f.perf" --stdio 2>/dev/null | grep -m1 '^# Samples' | sed 's/^# //'
      echo "samples by library:"
      perf report -i "$f.perf" --no-children --sort dso -g none --stdio -F overhead,sample,dso 2>/dev/null | grep -v '^#' | grep -v '^$' | head -10
      echo; echo "hottest functions (self):"
      perf report -i "$f.perf" --no-children --sort dso,symbol -g none --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 | cut -c1-160
    } >> "$profiles"
  else
    valgrind --tool=callgrind --callgrind-out-file="$f.cg" "$@" > /dev/null 2>&1 || true
    { echo "valgrind --tool=callgrind: $*"; callgrind_annotate --inclusive=yes "$f.cg" 2>/dev/null | sed -n '/PROGRAM TOTALS/,+30p' | cut -c1-160; } >> "$profiles"
  fi
  echo '```' >> "$profiles"
}
while read -r missed; do
  case "$missed" in
    stats\ throughput*)
      profile "chorus stats, 100,000 entries" $chorus stats --key "$keys/analyst.key" --passphrase-file "$pass" "$data/b100000.batch" --by setting
      profile "C reference, 100,000 entries (for comparison)" "$bin/stats_ref" "$keys/analyst.key" "$pass" "$data/b100000.batch" ;;
    stats\ at*time*)
      # Samples per entry: compare the totals of the two profiles (10 times the entries).
      profile "chorus stats, 100,000 entries" $chorus stats --key "$keys/analyst.key" --passphrase-file "$pass" "$data/b100000.batch" --by setting
      profile "chorus stats, 1,000,000 entries" $chorus stats --key "$keys/analyst.key" --passphrase-file "$pass" "$data/b1000000.batch" --by setting ;;
    stats\ at*RSS*)
      { echo; echo "### Peak memory of chorus stats, 1,000,000 entries (KiB, each run)"; echo; echo '```'; cat "$results/stats_chorus_1000000.json"; echo; echo '```'; } >> "$profiles" ;;
    review*)
      profile "chorus review --format jsonl, 10,000 entries" bash -c "$chorus review --key $keys/reviewer.key --passphrase-file $pass $data/b10000.batch --format jsonl > /dev/null" ;;
    submit*)
      rm -f "$data/submit.env"
      { echo; echo "### chorus submit --out: instructions (callgrind), then system calls (strace -c)"; echo; echo '```'; } >> "$profiles"
      valgrind --tool=callgrind --callgrind-out-file="$results/submit.cg" $chorus submit --out "$data/submit.env" --recipients "$data/Keys" $answers --file "$data/story.txt" > /dev/null 2>&1 || true
      callgrind_annotate --inclusive=yes "$results/submit.cg" 2>/dev/null | sed -n '/PROGRAM TOTALS/,+25p' | cut -c1-160 >> "$profiles"
      rm -f "$data/submit.env"
      strace -c -f -o "$results/submit.strace" $chorus submit --out "$data/submit.env" --recipients "$data/Keys" $answers --file "$data/story.txt" > /dev/null 2>&1 || true
      head -n 20 "$results/submit.strace" >> "$profiles"
      rm -f "$data/submit.age"
      echo "age -r, for comparison:" >> "$profiles"
      strace -c -f -o "$results/age.strace" age -r "$age_recipient" -o "$data/submit.age" "$data/story.txt" > /dev/null 2>&1 || true
      head -n 12 "$results/age.strace" >> "$profiles"
      echo '```' >> "$profiles" ;;
    import*)
      rm -rf "$importdir" && $chorus init --store "$importdir" 2>/dev/null
      { echo; echo "### chorus import of 10,000 envelopes: system calls (strace -c), then the C reference's"; echo; echo '```'; } >> "$profiles"
      strace -c -f -o "$results/import.strace" bash -c "$chorus import --store $importdir \$(cat $data/envelope-list) 2>/dev/null" || true
      { echo "user time of chorus import by function (perf):"; } >> "$profiles"
      if [ $perf_ok = 1 ]; then
        rm -rf "$importdir" && $chorus init --store "$importdir" 2>/dev/null
        perf record -e cpu-clock -F 999 -o "$results/import.perf" -- bash -c "$chorus import --store $importdir \$(cat $data/envelope-list) 2>/dev/null" > /dev/null 2>&1
        perf report -i "$results/import.perf" --comm chorus --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15 | cut -c1-160 >> "$profiles"
      fi
      head -n 25 "$results/import.strace" >> "$profiles"
      rm -rf "$importdir" && mkdir -p "$importdir"
      strace -c -f -o "$results/importref.strace" bash -c "$bin/import_ref $importdir \$(cat $data/envelope-list) 2>/dev/null" || true
      head -n 15 "$results/importref.strace" >> "$profiles"
      echo '```' >> "$profiles"
      rm -rf "$importdir" ;;
  esac
done < "$results/missed"
if [ -s "$profiles" ]; then
  { echo; echo "## Where the time goes (profiles of the missed targets, taken by this run)"; cat "$profiles"; } >> "$out_md.tables"
fi
set -e -o pipefail
notes="$root/Benchmarks/RESULTS-notes.md"
[ $serve_only = 1 ] && notes=/nonexistent # the notes are about a whole run
{ cat "$out_md.tables"; [ -f "$notes" ] && { echo; cat "$notes"; }; } > "$out_md"
rm -f "$out_md.tables"
echo "wrote $out_md" >&2
