#!/usr/bin/env bash
# The whole Chorus story on the embedded default (a directory store), in a temporary folder:
# keys, a few hundred synthetic submissions, a batch, a withdrawal, review, and published counts.
# Usage: scripts/demo.sh [CHORUS_BINARY]   (make demo builds the binary and runs this)
set -euo pipefail

chorus=$(realpath "${1:-$(dirname "$0")/../.build/debug/chorus}" 2>/dev/null || true)
[ -x "$chorus" ] || { echo "demo: $chorus is not built; run 'make demo'" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/chorus-demo.XXXXXX")
cd "$work"
# The pins of organisation keys go in the demo's own folder, not in your ~/.config.
export XDG_CONFIG_HOME="$work/config"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. Keys: a reviewer (opens answers and stories), an analyst (answers only), and the organisation's signing key"
printf 'demo passphrase for the reviewer\n' > reviewer.pass
printf 'demo passphrase for the analyst\n' > analyst.pass
printf 'demo passphrase for the organisation\n' > org.pass
"$chorus" keygen --name reviewer --role reviewer --passphrase-file reviewer.pass --secret-out secret/reviewer.key --public-out Keys/reviewer.pub
"$chorus" keygen --name analyst --role analyst --passphrase-file analyst.pass --secret-out secret/analyst.key --public-out Keys/analyst.pub
"$chorus" keygen --name demo-org --role organisation --passphrase-file org.pass --secret-out secret/org.key --public-out org.pub
cat Keys/reviewer.pub
"$chorus" key show Keys/analyst.pub

say "2. The store: a directory, created once; the organisation signs its recipients and questionnaire"
"$chorus" init --store store
"$chorus" recipients add --store store --org-key secret/org.key --passphrase-file org.pass Keys/reviewer.pub Keys/analyst.pub
"$chorus" recipients list store

say "2b. A submitter pins the organisation's fingerprint (here: given explicitly; else pinned on first use)"
printf 'The first story, sealed only after the recipients were shown.\n' \
  | "$chorus" submit --store store --org-fingerprint org.pub --answer kind=verbal --answer setting=workplace \
      --answer perpetrator-role=colleague --answer year=2024 --answer reported=no --answer consent=counts-only >> receipts.txt

say "3. 300 synthetic submissions, sealed before they touch the disk (answers spread so that some counts are small)"
settings=(workplace workplace workplace workplace education education entertainment healthcare hospitality public-space online home other)
roles=(supervisor supervisor colleague colleague client-or-customer teacher-or-coach partner-or-ex family acquaintance stranger other prefer-not-to-say)
kinds=(verbal verbal,physical non-verbal physical online quid-pro-quo verbal,quid-pro-quo stalking sexual-assault other)
reported=(no no no yes prefer-not-to-say)
consent=(counts-only quote-anonymously)
openings=("It happened during my first month." "I had trusted them for years." "Nobody else was there." "It went on for a long time." "I only understood later what it was.")
RANDOM=2017
for i in $(seq 2 300); do
  s=${settings[RANDOM % ${#settings[@]}]}; r=${roles[RANDOM % ${#roles[@]}]}; k=${kinds[RANDOM % ${#kinds[@]}]}
  year=$((2000 + RANDOM % 26)); rep=${reported[RANDOM % ${#reported[@]}]}; c=${consent[RANDOM % 2]}
  printf '%s (synthetic story %d for the demo: %s, %s.)\n' "${openings[RANDOM % ${#openings[@]}]}" "$i" "$s" "$r" \
    | "$chorus" submit --store store --answer "kind=$k" --answer "setting=$s" --answer "perpetrator-role=$r" \
        --answer "year=$year" --answer "reported=$rep" --answer "consent=$c" 2>/dev/null >> receipts.txt
done
echo "submitted $(wc -l < receipts.txt) stories; the store holds only sealed envelopes named by a hash:"
ls store/inbox | sed -n 1,3p; echo "..."

say "3b. The intake server on loopback (behind Tor in a deployment: chorus serve --torrc prints the lines)"
"$chorus" serve --store store --listen 127.0.0.1:0 2> serve.err &
serve_pid=$!
for _ in $(seq 1 100); do grep -q 'listening on' serve.err 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' serve.err | head -n 1)
head -n 1 serve.err
printf 'A story sent to the intake server: sealed here, only the envelope crossed the network.\n' \
  | "$chorus" submit --to "$url" --answer kind=online --answer setting=online --answer perpetrator-role=stranger \
      --answer reported=no --answer consent=counts-only 2>/dev/null >> receipts.txt
echo "sent one story to $url/v1/envelopes; the form for a browser is $url/"
kill -TERM "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
tail -n 1 serve.err

say "4. The operator closes the inbox into one shuffled batch"
batch=$("$chorus" batch --store store)
echo "$batch"

say "5. A submitter withdraws their story with the receipt (read from stdin, never argv)"
head -n 1 receipts.txt | "$chorus" withdraw --store store

say "6. Structure check, no key needed"
"$chorus" verify store

say "7. The reviewer reads three stories (review prints them all; we show the first three)"
"$chorus" review --key secret/reviewer.key --passphrase-file reviewer.pass store | awk '/^=====/{n++} n<=3' || true

say "8. The analyst publishes counts: small cells are suppressed, and their complements too"
"$chorus" stats --key secret/analyst.key --passphrase-file analyst.pass store --by setting
"$chorus" stats --key secret/analyst.key --passphrase-file analyst.pass store --by setting,perpetrator-role
"$chorus" stats --key secret/analyst.key --passphrase-file analyst.pass store --by setting --format html > report.html

say "Done"
echo "The HTML report is $work/report.html"
echo "Everything of this demo is in $work (delete it when done)."
