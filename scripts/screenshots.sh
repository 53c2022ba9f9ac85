#!/usr/bin/env bash
# PNGs of the submission form of `chorus serve` as headless Chromium shows it with JavaScript off:
# the empty form (whole page, 1000 px wide and as a 390 px wide phone), the form sent back with a
# problem, the filled form, and the receipt page (1000 and 390 px). Runs Tests/Browser/form_test.py
# (which makes its own temporary store and server) with --screenshots, so the pictures are of the
# pages the test checks. Nothing is written into the repository.
#
# Usage: scripts/screenshots.sh [CHORUS_BINARY] [OUTDIR]
#   CHORUS_BINARY  default $CHORUS, else .build/debug/chorus
#   OUTDIR         default a new temporary folder (printed)
# Needs chromium, chromium-driver and python3's selenium (make browser-check installs them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
chorus=${1:-${CHORUS:-$here/../.build/debug/chorus}}
[ -x "$chorus" ] || { echo "screenshots: $chorus is not built; run 'swift build' or pass the binary" >&2; exit 1; }
out=${2:-$(mktemp -d "${TMPDIR:-/tmp}/chorus-screenshots.XXXXXX")}
mkdir -p "$out"
out=$(cd "$out" && pwd)

python3 "$here/../Tests/Browser/form_test.py" "$chorus" --screenshots "$out" >&2 || {
  echo "screenshots: the browser test failed (the pictures taken before the failure are in $out)" >&2; exit 1; }
ls -1 "$out"/*.png >&2
echo "$out"
