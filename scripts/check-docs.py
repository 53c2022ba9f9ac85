#!/usr/bin/env python3
"""Every test that SECURITY.md cites must exist.

SECURITY.md backs each claim with tests written `Target/File: test` (the test function `test` in
Tests/Target/File.swift), sometimes followed by more test names of the same file in their own
backticks (`other`), and with envelope vectors by name (`fail-…`, `good-…`). A renamed or removed test
would leave a promise without its proof: this check fails, naming each citation that points nowhere.
Usage: scripts/check-docs.py [REPO]
"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
text = open(os.path.join(root, "SECURITY.md"), encoding="utf-8").read()
vectors = set(os.listdir(os.path.join(root, "Tests", "ChorusCoreTests", "Vectors")))
problems = []
current = None
checked = 0


def functions(target, name):
    path = os.path.join(root, "Tests", target, name + ".swift")
    if not os.path.exists(path):
        return None
    return set(re.findall(r"func\s+([A-Za-z_][A-Za-z0-9_]*)\s*[(<]", open(path, encoding="utf-8").read()))


for paragraph in re.split(r"\n\s*\n", text):
    current = None
    for span in re.findall(r"`([^`]+)`", paragraph):
        m = re.fullmatch(r"(Chorus[A-Za-z]*Tests)/([A-Za-z]+)(?::\s*(.+))?", span.strip())
        if m:
            target, name, tests = m.group(1), m.group(2), m.group(3)
            found = functions(target, name)
            if name == "Vectors":
                current = None
                continue
            if found is None:
                problems.append(f"SECURITY.md cites Tests/{target}/{name}.swift, which does not exist")
                current = None
                continue
            current = (target, name, found)
            for t in (tests or "").split(","):
                t = t.strip()
                if not t:
                    continue
                checked += 1
                if t not in found:
                    problems.append(f"SECURITY.md cites {target}/{name}: {t}, which is no test function there")
            continue
        if re.fullmatch(r"(fail|good)-[a-z0-9-]+", span):
            checked += 1
            if span not in vectors:
                problems.append(f"SECURITY.md cites the vector {span}, which is not in Tests/ChorusCoreTests/Vectors")
            continue
        if current and re.fullmatch(r"[a-z][a-z0-9]*[A-Z][A-Za-z0-9]+", span):
            checked += 1
            if span not in current[2]:
                problems.append(f"SECURITY.md cites {current[0]}/{current[1]}: {span}, which is no test function there")

for p in problems:
    print("check-docs: " + p)
if problems:
    sys.exit(1)
print(f"docs: the {checked} tests and vectors SECURITY.md cites all exist")
