#!/usr/bin/env python3
"""The serve section of scripts/bench.sh: `chorus serve` taking 10,000 posts of distinct envelopes over
32 keep-alive connections, against the C durable-write reference writing the same envelopes.

    serve_bench.py CHORUS BIN_DIR DATA_DIR RESULTS_DIR RUNS

BIN_DIR holds post_load and import_ref (Benchmarks/reference). In DATA_DIR/serve it keeps test-only
keys and 100,000 distinct envelopes with 4 KiB stories (made once with Tests/Crash/envelopes.py,
kept between runs). Each of RUNS rounds (alternating the order) starts the server on a fresh store
(`--rate 1000000 --max-concurrent 256`), posts the first 10,000 envelopes with post_load, reads the
server's VmHWM, stops it with SIGTERM; and runs import_ref on the same 10,000 files into a fresh
folder. Then once, on a fresh store, the server takes the first 10,000 envelopes and then the other
90,000 (`--inbox-quota 200000`), with VmHWM read after each part, the inbox counted and
`chorus verify` run. Writes RESULTS_DIR/serve.json and serve_chorus.median / serve_ref.median (the
seconds of 10,000 envelopes), and prints what it measured.
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, os.path.join(root, "Tests", "Crash"))
import envelopes  # noqa: E402
import serving  # noqa: E402

chorus, bindir, data, results, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
work = os.path.join(data, "serve")
os.makedirs(work, exist_ok=True)
env = dict(os.environ, NO_COLOR="1", XDG_CONFIG_HOME=os.path.join(work, "config"))
TOTAL, FIRST, CONNECTIONS = 100_000, 10_000, 32
# Smaller figures, for trying the script out only (SERVE_BENCH_SIZES=TOTAL,FIRST).
if os.environ.get("SERVE_BENCH_SIZES"):
    TOTAL, FIRST = (int(x) for x in os.environ["SERVE_BENCH_SIZES"].split(","))


def say(text):
    print(text, file=sys.stderr, flush=True)


def run(cmd, **kw):
    p = subprocess.run(cmd, env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if p.returncode != 0:
        raise SystemExit(f"serve_bench: {' '.join(cmd)} exited {p.returncode}: {p.stdout}{p.stderr}")
    return p


# Keys (test-only costs) and a signed recipients file to take the recipients from.
if not os.path.exists(os.path.join(work, "rev.pub")):
    with open(os.path.join(work, "pass"), "w") as f:
        f.write("chorus serve benchmark passphrase (test-only keys)\n")
    run([chorus, "keygen", "--name", "org", "--role", "organisation", "--passphrase-file", "pass", "--secret-out", "org.key",
         "--public-out", "org.pub", "--kdf-cost", "test-only"])
    run([chorus, "keygen", "--name", "rev", "--role", "reviewer", "--passphrase-file", "pass", "--secret-out", "rev.key",
         "--public-out", "rev.pub", "--kdf-cost", "test-only"])


def fresh_store():
    store = os.path.join(work, "store")
    subprocess.run(["rm", "-rf", store], check=True)
    run([chorus, "init", "--store", store])
    run([chorus, "recipients", "add", "--store", store, "--org-key", "org.key", "--passphrase-file", "pass", "rev.pub"])
    return store


envdir = os.path.join(work, "envelopes")
if not os.path.exists(os.path.join(envdir, "done")):
    subprocess.run(["rm", "-rf", envdir], check=True)
    store = fresh_store()
    t = time.monotonic()
    envelopes.make(os.path.join(store, "chorus-recipients.signed"), TOTAL, envdir, story_bytes=4096)
    open(os.path.join(envdir, "done"), "w").close()
    say(f"-- made {TOTAL:,} envelopes in {time.monotonic() - t:.1f} s")
paths = sorted(os.path.join(envdir, n) for n in os.listdir(envdir) if n.endswith(".env"))
assert len(paths) == TOTAL, f"{envdir} holds {len(paths)} envelopes, not {TOTAL}"
lists = {}
for name, part in (("first", paths[:FIRST]), ("rest", paths[FIRST:])):
    lists[name] = os.path.join(work, f"list-{name}")
    with open(lists[name], "w") as f:
        f.write("\n".join(part) + "\n")


def start_server(store, *extra):
    return serving.start_serve(chorus, store, ["--rate", "1000000", "--max-concurrent", "256", *extra], env, work,
                               os.path.join(work, "serve.log"), "serve_bench")


def stop_server(proc, log):
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = "killed after 30 s"
    log.seek(0)
    text = log.read().decode(errors="replace")
    if code != 0 or "stopped" not in text:
        say(f"serve_bench: the server exited {code}: {text.strip()}")
    return code, text


def hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def load(port, which):
    p = subprocess.run([os.path.join(bindir, "post_load"), str(port), str(CONNECTIONS), lists[which]],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line, _, figures_first_other = p.stdout.strip().partition(" first_other=")
    figures = dict(kv.split("=", 1) for kv in line.split())
    figures["first_other"] = figures_first_other
    for k in ("posts", "accepted", "other", "errors", "reconnects"):
        figures[k] = int(figures.get(k, 0))
    for k in ("seconds", "per_second", "p50_ms", "p99_ms", "max_ms", "cpu_seconds"):
        figures[k] = float(figures.get(k, 0))
    figures["exit"] = p.returncode
    if p.returncode != 0 or figures["accepted"] != figures["posts"]:
        say(f"serve_bench: post_load: {p.stdout.strip()} {p.stderr.strip()}")
    return figures


def server_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


serve_runs, ref_runs = [], []
for r in range(runs):
    order = ("serve", "ref") if r % 2 == 0 else ("ref", "serve")
    for what in order:
        if what == "serve":
            store = fresh_store()
            proc, port, log = start_server(store)
            cpu0 = server_cpu(proc.pid)
            figures = load(port, "first")
            figures["server_cpu_seconds"] = server_cpu(proc.pid) - cpu0
            figures["vmhwm_kib"] = hwm(proc.pid)
            figures["inbox"] = len(os.listdir(os.path.join(store, "inbox")))
            figures["server_exit"], _ = stop_server(proc, log)
            serve_runs.append(figures)
            say(f"-- serve, round {r + 1}: {figures['accepted']:,} accepted in {figures['seconds']:.3f} s "
                f"({figures['per_second']:.0f}/s), p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms, "
                f"VmHWM {figures['vmhwm_kib']} KiB, server CPU {figures['server_cpu_seconds']:.2f} s, "
                f"load generator CPU {figures['cpu_seconds']:.2f} s, inbox {figures['inbox']:,}; other answers "
                f"{figures['other']} (first: {figures['first_other']}), connection errors {figures['errors']}, "
                f"reconnects {figures['reconnects']}")
        else:
            dest = os.path.join(work, "ref")
            subprocess.run(["rm", "-rf", dest], check=True)
            os.makedirs(dest)
            t = time.monotonic()
            subprocess.run([os.path.join(bindir, "import_ref"), dest] + paths[:FIRST], check=True)
            seconds = time.monotonic() - t
            ref_runs.append(seconds)
            say(f"-- C durable-write reference, round {r + 1}: {FIRST:,} in {seconds:.3f} s ({FIRST / seconds:.0f}/s)")
            subprocess.run(["rm", "-rf", dest], check=True)

# 100,000 posts on one server: VmHWM after the first 10,000 and after all.
store = fresh_store()
proc, port, log = start_server(store, "--inbox-quota", "200000")
first = load(port, "first")
hwm10 = hwm(proc.pid)
rest = load(port, "rest")
hwm100 = hwm(proc.pid)
code, text = stop_server(proc, log)
inbox = len(os.listdir(os.path.join(store, "inbox")))
verify = subprocess.run([chorus, "verify", store], env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
say(f"-- serve, {TOTAL:,} posts on one server: VmHWM {hwm10} KiB after {FIRST:,}, {hwm100} KiB after {TOTAL:,}; "
    f"the last {TOTAL - FIRST:,} at {rest['per_second']:.0f}/s (p50 {rest['p50_ms']:.2f} ms, p99 {rest['p99_ms']:.2f} ms); "
    f"inbox {inbox:,}; verify exit {verify.returncode}: {verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else ''}")
subprocess.run(["rm", "-rf", store], check=True)

med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
summary = {
    "runs": serve_runs, "ref_seconds": ref_runs,
    "per_second": med([x["per_second"] for x in serve_runs]),
    "seconds": med([x["seconds"] for x in serve_runs]),
    "ref_per_second": FIRST / med(ref_runs),
    "p50_ms": med([x["p50_ms"] for x in serve_runs]), "p99_ms": med([x["p99_ms"] for x in serve_runs]),
    "generator_cpu_seconds": med([x["cpu_seconds"] for x in serve_runs]),
    "server_cpu_seconds": med([x["server_cpu_seconds"] for x in serve_runs]),
    "all_accepted": all(x["accepted"] == x["posts"] == x["inbox"] for x in serve_runs)
    and first["accepted"] + rest["accepted"] == TOTAL == inbox,
    "vmhwm_10k_kib": hwm10, "vmhwm_100k_kib": hwm100, "inbox_100k": inbox, "verify_100k": verify.returncode,
    "rest": rest, "server_exit_100k": code,
}
with open(os.path.join(results, "serve.json"), "w") as f:
    json.dump(summary, f, indent=1)
with open(os.path.join(results, "serve_chorus.median"), "w") as f:
    f.write(f"{FIRST / summary['per_second']:.6f}\n")
with open(os.path.join(results, "serve_ref.median"), "w") as f:
    f.write(f"{med(ref_runs):.6f}\n")
say(f"serve: {summary['per_second']:.0f} accepted/s against {summary['ref_per_second']:.0f}/s for the C reference "
    f"({summary['per_second'] / summary['ref_per_second']:.2f}); p50 {summary['p50_ms']:.2f} ms, p99 {summary['p99_ms']:.2f} ms")
