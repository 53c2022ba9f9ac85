#!/usr/bin/env bash
# Shows that the HTML report of `chorus stats` opens in a real browser: builds a small demo store
# (about 120 synthetic submissions with varied answers, test-only key costs) in a temporary folder,
# writes `chorus stats --format html` with several tables, and renders it with headless Chromium to
# a PNG. Chromium is installed from Debian's packages (apt-get) when missing. Nothing is written
# into the repository: everything goes to a temporary folder unless OUT_PNG says otherwise.
#
# Usage: scripts/render-report.sh [CHORUS_BINARY] [OUT_PNG]
#   CHORUS_BINARY  default .build/debug/chorus (make report-png builds it and runs this)
#   OUT_PNG        default report.png in the temporary folder
# Environment: WINDOW_SIZE (default 1200,2400), ENTRIES (default 120).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
chorus=$(realpath "${1:-$here/../.build/debug/chorus}" 2>/dev/null || true)
[ -n "$chorus" ] && [ -x "$chorus" ] || { echo "render-report: ${1:-.build/debug/chorus} is not built; run 'make report-png'" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-report.XXXXXX")
png=${2:-$work/report.png}
case "$png" in /*) ;; *) png="$PWD/$png" ;; esac
window=${WINDOW_SIZE:-1200,2400}
entries=${ENTRIES:-120}

# Headless Chromium, from Debian when missing (as the Makefile installs libsodium).
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "render-report: installing chromium with apt-get" >&2
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  browser=$(command -v chromium)
fi

cd "$work"
printf 'passphrase for the report demo\n' > pass
"$chorus" keygen --name reviewer --role reviewer --passphrase-file pass --secret-out secret/reviewer.key \
  --public-out Keys/reviewer.pub --kdf-cost test-only 2>/dev/null >/dev/null
"$chorus" keygen --name analyst --role analyst --passphrase-file pass --secret-out secret/analyst.key \
  --public-out Keys/analyst.pub --kdf-cost test-only 2>/dev/null >/dev/null
"$chorus" init --store store >/dev/null 2>&1

# Answers spread unevenly, so that the tables hold large, small (suppressed) and empty cells.
settings=(workplace workplace workplace workplace education education entertainment healthcare hospitality public-space online home other)
roles=(supervisor supervisor colleague colleague client-or-customer teacher-or-coach partner-or-ex family acquaintance stranger other prefer-not-to-say)
kinds=(verbal verbal,physical non-verbal physical online quid-pro-quo verbal,quid-pro-quo stalking sexual-assault other)
reported=(no no no yes prefer-not-to-say)
consent=(counts-only quote-anonymously)
RANDOM=1983
for i in $(seq 1 "$entries"); do
  s=${settings[RANDOM % ${#settings[@]}]}; r=${roles[RANDOM % ${#roles[@]}]}; k=${kinds[RANDOM % ${#kinds[@]}]}
  rep=${reported[RANDOM % ${#reported[@]}]}; c=${consent[RANDOM % 2]}
  year=()
  if (( RANDOM % 6 != 0 )); then year=(--answer "year=$((1995 + RANDOM % 31))"); fi
  printf 'Synthetic story %d for the report demo (%s, %s).\n' "$i" "$s" "$r" \
    | "$chorus" submit --store store --answer "kind=$k" --answer "setting=$s" --answer "perpetrator-role=$r" \
        "${year[@]}" --answer "reported=$rep" --answer "consent=$c" >/dev/null 2>&1
done
"$chorus" batch --store store >/dev/null 2>&1

html="$work/report.html"
"$chorus" stats --key secret/analyst.key --passphrase-file pass store --format html \
  --by setting --by setting,perpetrator-role --by kind --by year > "$html" 2> stats.err || {
  cat stats.err >&2; echo "render-report: chorus stats failed" >&2; exit 1; }

timeout 180 "$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars --user-data-dir="$work/chromium-profile" \
  --screenshot="$png" --window-size="$window" "file://$html" >chromium.log 2>&1 || true
[ -s "$png" ] || { cat chromium.log >&2; echo "render-report: chromium made no screenshot" >&2; exit 1; }
rm -rf "$work/chromium-profile"

echo "render-report: $entries submissions, report $html"
echo "$png"
