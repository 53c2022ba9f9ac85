#!/usr/bin/env python3
"""Refuses an import that goes against the module graph of docs/ARCHITECTURE.md.

The graph is the table between the markers `<!-- layers -->` and `<!-- /layers -->` in
docs/ARCHITECTURE.md: one row per module of Sources/, with the Chorus modules it may import. Every
`import` line of every Swift file under Sources/MODULE must name a module of its row, or a module of
the toolchain or of a package listed under "outside" in the same table. A module of Sources/ missing
from the table is an error too, so the table cannot fall behind the code.
Usage: scripts/check-layers.py [REPO]   (exit 0 when the graph holds, 1 with one line per back edge)
       scripts/check-layers.py --self-test  (plants a back edge in a copy and expects the check to fail)
"""
import os
import re
import sys

def self_test():
    """The checker must find a back edge planted in a copy of the tree: run it there and expect exit 1."""
    import shutil
    import subprocess
    import tempfile
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(os.path.join(here, "Sources"), os.path.join(tmp, "Sources"))
        shutil.copytree(os.path.join(here, "docs"), os.path.join(tmp, "docs"))
        with open(os.path.join(tmp, "Sources", "ChorusFormat", "BackEdge.swift"), "w") as f:
            f.write("internal import ChorusStore\n")
        r = subprocess.run([sys.executable, os.path.abspath(__file__), tmp], capture_output=True, text=True)
        if r.returncode != 1 or "ChorusFormat imports ChorusStore" not in r.stdout:
            sys.exit("check-layers: the self-test planted a back edge and the check did not refuse it:\n" + r.stdout + r.stderr)
    print("layers: the check refuses a planted back edge")


if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
    self_test()
    sys.exit(0)

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
doc = open(os.path.join(root, "docs", "ARCHITECTURE.md"), encoding="utf-8").read()
block = re.search(r"<!-- layers -->(.*?)<!-- /layers -->", doc, re.S)
if not block:
    sys.exit("check-layers: docs/ARCHITECTURE.md has no <!-- layers --> table")

allowed = {}
outside = set()
for line in block.group(1).splitlines():
    cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
    if len(cells) < 2 or cells[0] in ("module", "") or set(cells[0]) <= set("-: "):
        continue
    names = {n.strip().strip("`") for n in cells[1].split(",") if n.strip() and n.strip() != "(none)"}
    if cells[0] == "outside":
        outside |= names
    else:
        allowed[cells[0]] = names

problems = []
sources = os.path.join(root, "Sources")
for module in sorted(os.listdir(sources)):
    folder = os.path.join(sources, module)
    if not os.path.isdir(folder):
        continue
    if module not in allowed:
        problems.append(f"Sources/{module} is not in the layers table of docs/ARCHITECTURE.md")
        continue
    for dirpath, _, files in os.walk(folder):
        for name in sorted(files):
            if not name.endswith(".swift"):
                continue
            path = os.path.join(dirpath, name)
            for number, text in enumerate(open(path, encoding="utf-8"), 1):
                m = re.match(r"\s*(?:@\w+\s+)*(?:(?:public|package|internal|private|fileprivate)\s+)?import\s+(?:\w+\s+)?([A-Za-z_][A-Za-z0-9_]*)", text)
                if not m:
                    continue
                imported = m.group(1)
                if imported == module or imported in allowed[module] or imported in outside:
                    continue
                where = os.path.relpath(path, root)
                if imported in allowed:
                    problems.append(f"{where}:{number}: {module} imports {imported}, which the graph does not allow (a back edge or a skipped layer)")
                else:
                    problems.append(f"{where}:{number}: {module} imports {imported}, which is neither a module of the graph nor listed as outside")

for p in problems:
    print("check-layers: " + p)
if problems:
    sys.exit(1)
print(f"layers: {len(allowed)} modules, every import follows docs/ARCHITECTURE.md")
