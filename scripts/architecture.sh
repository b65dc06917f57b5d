#!/usr/bin/env bash
# The README's pictures and the code they show:
#   docs/architecture.dot  threads, one block request, one API call (hand-written);
#                          every "DIR/FILE.c\nFUNCTION" label names a function of that file
#   docs/folders.dot       which folder includes which (scripts/include-graph.sh --dot)
# each rendered to an .svg that carries the sha256 of its source.
#
#   scripts/architecture.sh           test lines: PASS, or FAIL naming what drifted
#   scripts/architecture.sh --render  rewrite docs/folders.dot and both .svg (Graphviz)
set -euo pipefail
cd "$(dirname "$0")/.."

sum() { sha256sum "$1" | cut -c1-64; }

render() { # DOT SVG: the picture, with its source's hash after the XML header
	dot -Tsvg "$1" | sed "1a <!-- source $1 sha256 $(sum "$1") -->" >"$2"
}

if [ "${1:-}" = --render ]; then
	command -v dot >/dev/null || { echo "architecture: needs Graphviz's dot (apt-get install graphviz)" >&2; exit 1; }
	scripts/include-graph.sh --dot >docs/folders.dot
	render docs/architecture.dot docs/architecture.svg
	render docs/folders.dot docs/folders.svg
	exit 0
fi

bad=0
fail() { echo "FAIL: architecture: $*"; bad=1; }

# Every function the picture names is defined in the file it names.
n=0
while read -r file fn; do
	n=$((n + 1))
	[ -f "$file" ] || { fail "docs/architecture.dot names $file, which does not exist"; continue; }
	grep -qE "^[a-z].*[ *]$fn\(.*[^;]$" "$file" ||
		fail "docs/architecture.dot names $file: $fn, which $file does not define"
done < <(grep -oE '"[a-z_./]+\.c\\n[a-z_0-9]+' docs/architecture.dot | tr -d '"' | sed 's/\\n/ /')
[ "$n" -gt 0 ] || fail "docs/architecture.dot names no function"

[ "$(scripts/include-graph.sh --dot)" = "$(cat docs/folders.dot)" ] ||
	fail "docs/folders.dot is not the include graph of the code (scripts/architecture.sh --render)"
for d in architecture folders; do
	grep -q "^<!-- source docs/$d.dot sha256 $(sum docs/$d.dot) -->$" "docs/$d.svg" 2>/dev/null ||
		fail "docs/$d.svg was not rendered from docs/$d.dot as it is (scripts/architecture.sh --render)"
done
[ $bad = 1 ] || echo "PASS: architecture: the pictures match the code ($n functions named, folder graph current)"
exit $bad
