#!/usr/bin/env python3
"""Crash safety of `chorus serve`: SIGKILL while envelopes are being posted.

    python3 Tests/Crash/serve_crash.py [CHORUS] [--rounds 20] [--posts 200] [--seed S]

CHORUS is the chorus binary (default .build/debug/chorus). In a temporary folder it makes an
organisation and a reviewer key, a store, and rounds x posts distinct envelopes (Tests/Crash/
envelopes.py; every post is new to the store, so none takes the duplicate path). Each round starts
`chorus serve` on that one store, sends its posts at once (one thread and one connection each,
`Connection: close`), and SIGKILLs the server once a random number of them (0 to posts) have a
complete `HTTP/1.1 201` answer or are in the inbox (whichever the test sees first), with the others
in flight (when the target is high the server may have answered all of them first; the round's line
says so: "answered 201: 200"). Then:

  - every envelope answered 201 is in store/inbox, byte for byte;
  - every file in store/inbox is one of the posted envelopes, whole, under its own id;
  - nothing but the three folders' usual contents is in the store, and `chorus verify` exits 0.

At the end `chorus review` opens every entry of the inbox with the reviewer key (so the encoder of
envelopes.py and the store agree with the real format). Prints one line per round; exits 0 when
every round passed, 1 otherwise.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import envelopes  # noqa: E402
import serving  # noqa: E402

PASS = "a passphrase for tests\n"


def run(cmd, env, cwd, check=True):
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        raise SystemExit(f"serve_crash: {' '.join(cmd)} exited {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def start_server(chorus, store, env, cwd, log_path):
    proc, port, _ = serving.start_serve(chorus, store, ["--rate", "1000000", "--max-concurrent", "256", "--max-connections", "512",
                                                        "--min-free-mib", "1"], env, cwd, log_path, "serve_crash")
    return proc, port


def post(port, body, timeout=20):
    """Sends one POST /v1/envelopes; returns ("201", None) for a complete 201 answer, else
    (status or "error", detail)."""
    request = (b"POST /v1/envelopes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
               b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    return ("error", f"closed after {len(data)} bytes of the answer")
                data += chunk
            head, rest = data.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            status = lines[0].decode(errors="replace")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(rest) < length:
                chunk = s.recv(65536)
                if not chunk:
                    return ("error", f"{status}: body cut at {len(rest)} of {length} bytes")
                rest += chunk
            if status.startswith("HTTP/1.1 201 "):
                return ("201", None)
            return (status.split(" ")[1] if " " in status else status, rest[:200].decode(errors="replace"))
    except OSError as e:
        return ("error", f"{type(e).__name__}: {e}")


def one_round(n, chorus, store, env, cwd, batch, kill_after, results_log):
    """Posts the batch; SIGKILLs the server once kill_after posts are answered 201 or kill_after new
    entries are in the inbox, whichever the test sees first (the clients read their answers later than
    the server sends them, so the inbox is watched too, to kill while posts are still in flight).
    Returns the outcomes, the 201 answers counted when the kill was sent, and what triggered it."""
    inbox = os.path.join(store, "inbox")
    before = len(os.listdir(inbox))
    proc, port = start_server(chorus, store, env, cwd, os.path.join(cwd, f"serve-{n}.log"))
    outcomes = [None] * len(batch)
    answered = [0]
    killed_at = [None]
    trigger = ["answers"]
    cond = threading.Condition()
    go = threading.Barrier(len(batch) + 1)

    def kill():
        if killed_at[0] is None:
            proc.send_signal(signal.SIGKILL)
            killed_at[0] = answered[0]

    def worker(i):
        go.wait()
        r = post(port, batch[i][1])
        with cond:
            outcomes[i] = r
            if r[0] == "201" and killed_at[0] is None:
                answered[0] += 1
                if answered[0] >= kill_after:
                    kill()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(batch))]
    for t in threads:
        t.start()
    go.wait()
    if kill_after == 0:
        with cond:
            kill()
    while killed_at[0] is None and any(t.is_alive() for t in threads):
        if len(os.listdir(inbox)) - before >= kill_after:
            with cond:
                if killed_at[0] is None:
                    trigger[0] = "inbox"
                kill()
            break
        time.sleep(0.001)
    for t in threads:
        t.join(60)
    with cond:
        if killed_at[0] is None:
            trigger[0] = "all answered"
        kill()  # all answered before the target (when it is the number of posts): kill now
    proc.wait()
    return outcomes, killed_at[0], trigger[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("chorus", nargs="?", default=".build/debug/chorus")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--posts", type=int, default=200)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    o = ap.parse_args()
    chorus = os.path.abspath(o.chorus)
    if not os.access(chorus, os.X_OK):
        raise SystemExit(f"serve_crash: {chorus} is not an executable")
    seed = o.seed if o.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="chorus-serve-crash-")
    env = dict(os.environ, HOME=os.path.join(work, "home"), NO_COLOR="1")
    env.pop("XDG_CONFIG_HOME", None)
    os.makedirs(env["HOME"])
    with open(os.path.join(work, "pass"), "w") as f:
        f.write(PASS)
    for cmd in (
        ["keygen", "--name", "org", "--role", "organisation", "--passphrase-file", "pass", "--secret-out", "org.key",
         "--public-out", "org.pub", "--kdf-cost", "test-only"],
        ["keygen", "--name", "rev", "--role", "reviewer", "--passphrase-file", "pass", "--secret-out", "rev.key",
         "--kdf-cost", "test-only"],
        ["init", "--store", "store"],
        ["recipients", "add", "--store", "store", "--org-key", "org.key", "--passphrase-file", "pass", "Keys/rev.pub"],
    ):
        run([chorus] + cmd, env, work)
    store = os.path.join(work, "store")
    inbox = os.path.join(store, "inbox")
    recipients, digest = envelopes.read_recipients(os.path.join(store, "chorus-recipients.signed"))
    made = time.monotonic()
    posted = {}
    batches = []
    for r in range(o.rounds):
        batch = [envelopes.envelope(recipients, digest, f"round {r} post {i}: a story".encode()) for i in range(o.posts)]
        batches.append(batch)
    print(f"serve_crash: seed {seed}; {o.rounds * o.posts} distinct envelopes made in {time.monotonic() - made:.1f} s; "
          f"store in {work}", flush=True)

    failures = 0
    total_201 = 0
    for r, batch in enumerate(batches):
        for eid, data in batch:
            posted[eid] = data
        kill_after = rng.randint(0, o.posts)
        before = set(os.listdir(inbox))
        round_started = time.monotonic()
        outcomes, killed_after, trigger = one_round(r, chorus, store, env, work, batch, kill_after, None)
        posting = time.monotonic() - round_started
        problems = []
        ok201 = [batch[i][0] for i, res in enumerate(outcomes) if res and res[0] == "201"]
        others = {}
        for res in outcomes:
            if res is None:
                key = "no answer"
            elif res[0] == "error":  # the kind of failure: the exception's name, or where the answer broke off
                key = "error " + (res[1].split(":")[0] if not res[1].startswith("closed") else "closed before an answer")
            else:
                key = res[0]
            if key != "201":
                others[key] = others.get(key, 0) + 1
        if any(res is None for res in outcomes):
            problems.append("a client thread did not finish")
        after = set(os.listdir(inbox))
        for eid in ok201:
            path = os.path.join(inbox, eid)
            if eid not in after:
                problems.append(f"answered 201 but not in the inbox: {eid}")
            elif open(path, "rb").read() != posted[eid]:
                problems.append(f"answered 201 but the inbox file differs: {eid}")
        for name in sorted(after - before):
            if name not in posted:
                problems.append(f"an inbox file that was never posted: {name}")
            elif open(os.path.join(inbox, name), "rb").read() != posted[name]:
                problems.append(f"an inbox file that is not the posted envelope: {name} "
                                f"({os.path.getsize(os.path.join(inbox, name))} of {len(posted[name])} bytes)")
        for name in sorted(before - after):
            problems.append(f"an entry of an earlier round left the inbox: {name}")
        unexpected = sorted(set(os.listdir(store)) - {"chorus-store.json", "chorus-recipients.signed", "inbox", "batches",
                                                        "tombstones", "tmp"})
        if unexpected:
            problems.append(f"unexpected files in the store: {unexpected}")
        leftovers = os.listdir(os.path.join(store, "tmp"))
        v = run([chorus, "verify", store], env, work, check=False)
        verify_line = (v.stdout + v.stderr).strip().splitlines()
        verify_line = verify_line[-1] if verify_line else ""
        verify_line = verify_line.split(": ", 1)[-1]
        if v.returncode != 0:
            problems.append(f"chorus verify exited {v.returncode}: {(v.stdout + v.stderr).strip()}")
        stored_new = len(after - before)
        unanswered_stored = len((after - before) - set(ok201))
        total_201 += len(ok201)
        status = "ok" if not problems else "FAILED"
        other_text = ", ".join(f"{k}: {v}" for k, v in sorted(others.items())) or "none"
        print(f"round {r + 1:2d}: killed after {killed_after} answers (target {kill_after}, reached by {trigger}); answered 201: {len(ok201)}; "
              f"stored: {stored_new} ({unanswered_stored} of them unanswered); other outcomes: {other_text}; "
              f"tmp leftovers: {len(leftovers)}; verify: {verify_line}; "
              f"{posting:.1f} s + {time.monotonic() - round_started - posting:.1f} s of checks - {status}", flush=True)
        for p in problems[:20]:
            print(f"    {p}")
        if problems:
            failures += 1
            with open(os.path.join(work, f"serve-{r}.log"), "rb") as f:
                print("    server stderr: " + f.read().decode(errors="replace").strip().replace("\n", "\n    "))

    # Every entry opens with the reviewer key: the envelopes are real ones.
    entries = len(os.listdir(inbox))
    rv = run([chorus, "review", "--key", "rev.key", "--passphrase-file", "pass", "store", "--format", "jsonl"], env, work, check=False)
    opened = sum(1 for line in rv.stdout.splitlines() if line.startswith("{"))
    if rv.returncode != 0 or opened != entries:
        failures += 1
        print(f"review: exit {rv.returncode}, opened {opened} of {entries} entries: {rv.stderr.strip()[-500:]} - FAILED")
    else:
        print(f"review: the reviewer key opens all {entries} entries of the inbox")
    elapsed = time.monotonic() - started
    print(f"serve_crash: {o.rounds - failures if failures <= o.rounds else 0} of {o.rounds} rounds passed"
          f"{'' if not failures else f' ({failures} failure(s))'}; {total_201} posts answered 201; {elapsed:.1f} s; seed {seed}")
    if failures == 0 and not o.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"serve_crash: the store and the servers' stderr are in {work}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
