#!/bin/sh
# Installs chorus under $DESTDIR$PREFIX (PREFIX defaults to /usr/local): the binary, a man page
# generated from the command definitions (swift-argument-parser's generate-manual, which reads
# `chorus --experimental-dump-help`), and bash, zsh and fish completions (`chorus
# --generate-completion-script`).
# Usage: scripts/install.sh CHORUS_BINARY GENERATE_MANUAL_BINARY   (`make install` builds both)
set -eu
binary=$1
generator=$2
prefix=${PREFIX:-/usr/local}
root=${DESTDIR:-}
bindir="$root$prefix/bin"
mandir="$root$prefix/share/man/man1"
bashdir="$root$prefix/share/bash-completion/completions"
zshdir="$root$prefix/share/zsh/site-functions"
fishdir="$root$prefix/share/fish/vendor_completions.d"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The page's date: SOURCE_DATE_EPOCH when set (reproducible builds), else the last commit's, else today.
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
else
    date=$(git -C "$(dirname "$0")/.." log -1 --format=%cs 2>/dev/null || date -u +%Y-%m-%d)
fi
"$generator" "$binary" --date "$date" --output-directory "$tmp"
# An empty line is a warning in mdoc: a paragraph break says the same.
sed 's/^$/.Pp/' "$tmp/chorus.1" > "$tmp/chorus.1.page"
"$binary" --generate-completion-script bash > "$tmp/chorus.bash"
"$binary" --generate-completion-script zsh > "$tmp/_chorus"
"$binary" --generate-completion-script fish > "$tmp/chorus.fish"

install -d "$bindir" "$mandir" "$bashdir" "$zshdir" "$fishdir"
install -m 0755 "$binary" "$bindir/chorus"
install -m 0644 "$tmp/chorus.1.page" "$mandir/chorus.1"
install -m 0644 "$tmp/chorus.bash" "$bashdir/chorus"
install -m 0644 "$tmp/_chorus" "$zshdir/_chorus"
install -m 0644 "$tmp/chorus.fish" "$fishdir/chorus.fish"
echo "installed chorus into $root$prefix: bin/chorus, share/man/man1/chorus.1, bash, zsh and fish completions"
