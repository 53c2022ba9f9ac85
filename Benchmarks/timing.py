#!/usr/bin/env python3
"""Times commands side by side for scripts/bench.sh: interleaved runs, medians, peak RSS.

    timing.py MEASURE RESULTS_DIR RUNS WARMUP NAME=COMMAND [NAME=COMMAND ...]

Each round runs every command once, in turn, alternating the order from round to round (A B, then
B A, ...), so that a machine whose speed drifts (other work, a shared host) moves every command
alike and the ratios taken from one call stay fair. A command is split like a shell would (shlex)
and started without a shell, with stdout and stderr to /dev/null, through MEASURE (the small C
program Benchmarks/reference/measure.c), which times it and reads its peak RSS from wait4. `@FILE` in a command
stands for the lines of FILE as separate arguments (for 10,000 envelope paths). A command may be
preceded by a preparation run through bash before every run and not timed:
NAME=PREPARE;;COMMAND.

For each NAME it writes NAME.median (seconds), NAME.rss (the median of the peak resident set sizes
in KiB) and NAME.json (every run), and prints one line per command. A command that
exits non-zero stops everything (exit 1): a benchmark of a failing command means nothing.
"""
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile


def expand(command):
    argv = []
    for word in shlex.split(command):
        if word.startswith("@") and os.path.isfile(word[1:]):
            with open(word[1:]) as f:
                argv.extend(line.rstrip("\n") for line in f if line.strip())
        else:
            argv.append(word)
    path = shutil.which(argv[0])
    if path is None:
        sys.exit(f"timing: cannot find {argv[0]}")
    argv[0] = path
    return argv


def run_once(measure, name, prepare, argv):
    if prepare:
        subprocess.run(["bash", "-c", prepare], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with tempfile.NamedTemporaryFile("r", prefix="timing-") as result:
        done = subprocess.run([measure, result.name] + argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if done.returncode != 0:
            sys.exit(f"timing: {name} exited {done.returncode}: {' '.join(argv[:8])}{' ...' if len(argv) > 8 else ''}")
        seconds, kib = result.read().split()
    return float(seconds), int(kib)


def main():
    measure, results, runs, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    commands = []
    for spec in sys.argv[5:]:
        name, _, rest = spec.partition("=")
        prepare, _, command = rest.rpartition(";;")
        commands.append((name, prepare, expand(command)))
    for _ in range(warmup):
        for name, prepare, argv in commands:
            run_once(measure, name, prepare, argv)
    times = {name: [] for name, _, _ in commands}
    rss = {name: [] for name, _, _ in commands}
    for round_ in range(runs):
        order = commands if round_ % 2 == 0 else list(reversed(commands))
        for name, prepare, argv in order:
            t, m = run_once(measure, name, prepare, argv)
            times[name].append(t)
            rss[name].append(m)
    for name, _, argv in commands:
        median = statistics.median(times[name])
        with open(os.path.join(results, name + ".median"), "w") as f:
            f.write(f"{median}\n")
        with open(os.path.join(results, name + ".rss"), "w") as f:
            f.write(f"{int(statistics.median(rss[name]))}\n")
        with open(os.path.join(results, name + ".json"), "w") as f:
            json.dump({"command": argv[:12], "arguments": len(argv), "times": times[name], "maxrss_kib": rss[name]}, f)
        spread = f"{min(times[name]):.3f} to {max(times[name]):.3f}"
        print(f"  {name}: median {median:.3f} s ({spread} s, {runs} runs), peak RSS {statistics.median(rss[name]) / 1024:.1f} MiB",
              file=sys.stderr)


if __name__ == "__main__":
    main()
