#!/bin/sh
# What `make install` does, checked (run by `make test`): scripts/install.sh on the debug binary into
# a temporary DESTDIR puts every file in its place with its mode; `man -l` renders the page without a
# warning and it says what the command definitions say; bash sources the completions without an
# error, and they complete subcommands and the values of `--format` and `--role`.
# Usage: scripts/check-install.sh [SWIFT]   (builds chorus and generate-manual in .build first)
set -eu
swift=${1:-swift}
cd "$(dirname "$0")/.."
$swift build --product chorus >/dev/null
$swift build --product generate-manual >/dev/null
bin=$($swift build --show-bin-path)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
fail() { echo "install-check: $*" >&2; exit 1; }

DESTDIR="$dest" PREFIX=/usr SOURCE_DATE_EPOCH=1767225600 sh scripts/install.sh "$bin/chorus" "$bin/generate-manual" >/dev/null
p="$dest/usr"
for entry in "bin/chorus 755" "share/man/man1/chorus.1 644" "share/bash-completion/completions/chorus 644" \
             "share/zsh/site-functions/_chorus 644" "share/fish/vendor_completions.d/chorus.fish 644"; do
    set -- $entry
    [ -f "$p/$1" ] || fail "$1 was not installed"
    [ "$(stat -c %a "$p/$1")" = "$2" ] || fail "$1 has mode $(stat -c %a "$p/$1"), not $2"
done

page=$(MANPAGER=cat MANWIDTH=100 LC_ALL=C man -l "$p/share/man/man1/chorus.1" 2>"$dest/man.err") || fail "man -l failed: $(cat "$dest/man.err")"
[ ! -s "$dest/man.err" ] || fail "man -l warned: $(cat "$dest/man.err")"
for words in "SYNOPSIS" "An anonymous disclosure store" "73 cannot create" "--max-story-bytes" "--hide-receipt" "January 1, 2026"; do
    printf '%s' "$page" | grep -q -e "$words" || fail "the man page lacks '$words'"
done

out=$(bash -c '
    source "$1" || exit 3
    COMP_WORDS=(chorus review --format ""); COMP_CWORD=3; _chorus chorus "" --format; echo "formats: ${COMPREPLY[*]}"
    COMPREPLY=(); COMP_WORDS=(chorus keygen --role ""); COMP_CWORD=3; _chorus chorus "" --role; echo "roles: ${COMPREPLY[*]}"
    COMPREPLY=(); COMP_WORDS=(chorus wi); COMP_CWORD=1; _chorus chorus wi chorus; echo "subcommands: ${COMPREPLY[*]}"
' bash "$p/share/bash-completion/completions/chorus" 2>"$dest/bash.err") || fail "bash could not source the completions: $(cat "$dest/bash.err")"
[ ! -s "$dest/bash.err" ] || fail "bash printed errors: $(cat "$dest/bash.err")"
printf '%s\n' "$out" | grep -qx "formats: text jsonl" || fail "--format does not complete to text and jsonl: $out"
printf '%s\n' "$out" | grep -qx "roles: reviewer analyst organisation" || fail "--role does not complete to its roles: $out"
printf '%s\n' "$out" | grep -qx "subcommands: withdraw" || fail "subcommands do not complete: $out"
[ "$("$p/bin/chorus" --version)" = "1.0.0" ] || fail "the installed binary does not run"
echo "install: man page, completions and binary in place (man -l renders the page, bash sources the completions)"
