"""Starting `chorus serve` for the crash test and the serve benchmark: on a free loopback port, its
stderr in a log file, and the port read from the line it prints once it listens."""

import re
import subprocess
import time


def start_serve(chorus, store, extra, env, cwd, log_path, who):
    """Starts `chorus serve --store STORE --listen 127.0.0.1:0 EXTRA…`; returns (process, port, log).
    Exits with a message naming `who` when it has not said it listens within 30 s."""
    log = open(log_path, "w+b")
    proc = subprocess.Popen([chorus, "serve", "--store", store, "--listen", "127.0.0.1:0", *extra],
                            env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log.seek(0)
        m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", log.read())
        if m:
            return proc, int(m.group(1)), log
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.kill()
    log.seek(0)
    raise SystemExit(f"{who}: chorus serve did not start: {log.read().decode(errors='replace')}")
