#!/usr/bin/env bash
# The folder-level include graph of the product code (every tracked .c/.h outside
# tests/, guest-min/ and perf/; "." is the top level, vmm.c and main.c):
#
#   scripts/include-graph.sh          one "FROM -> TO (N includes)" line per edge
#   scripts/include-graph.sh --dot    the same as a Graphviz digraph (docs/folders.dot)
#   scripts/include-graph.sh --check  test lines: PASS, or FAIL naming each pair of
#                                     folders that include each other (with the files)
#                                     and the folders of any longer loop
#
# Folders include each other in one direction only (README, "Architecture"): a cycle
# means neither side can be read, tested or moved without the other.
set -euo pipefail
cd "$(dirname "$0")/.."

# edges: "FROM TO FILE" for each quoted include that leaves its folder.
edges() {
	local f d inc t
	git ls-files '*.c' '*.h' | grep -vE '^(tests|guest-min|perf)/' | while read -r f; do
		d=$(dirname "$f")
		sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f" | while read -r inc; do
			t=$(dirname "$(realpath -m --relative-to=. "$d/$inc")")
			[ "$t" = "$d" ] || echo "$d $t $f"
		done
	done
}

all=$(edges | sort)

if [ "${1:-}" = --dot ]; then
	echo "// Which folder includes which (scripts/include-graph.sh --dot)."
	echo "digraph folders {"
	echo "	graph [rankdir=BT, fontname=\"Helvetica\"]; node [shape=box, fontname=\"Helvetica\"];"
	# Edges only: how many includes an edge stands for changes with every file.
	awk '{ print "\t\"" $1 "\" -> \"" $2 "\";" }' <<<"$all" | sed 's/"\."/"vmm.c"/' | sort -u
	echo "}"
	exit 0
fi

if [ "${1:-}" != --check ]; then
	awk '{ n[$1 " -> " $2]++ } END { for (e in n) print e " (" n[e] " includes)" }' <<<"$all" | sort
	exit 0
fi

bad=0
while read -r a b; do
	[[ "$a" < "$b" ]] || continue
	grep -q "^$b $a " <<<"$all" || continue
	files=$(awk -v a="$a" -v b="$b" '($1 == a && $2 == b) || ($1 == b && $2 == a) { print $3 }' <<<"$all" |
		sort -u | tr '\n' ' ')
	echo "FAIL: include-graph: $a and $b include each other: $files"
	bad=1
done < <(awk '{ print $1, $2 }' <<<"$all" | sort -u)

# Longer cycles (a -> b -> c -> a) too: tsort names the folders of each loop.
loops=$(awk '$1 != "." { print $1, $2 }' <<<"$all" | sort -u | tsort 2>&1 >/dev/null | grep -v 'input contains a loop' || true)
if [ -n "$loops" ]; then
	echo "FAIL: include-graph: folders in an include loop: $(sed 's/^tsort: //' <<<"$loops" | tr '\n' ' ')"
	bad=1
fi

[ $bad = 1 ] || echo "PASS: include-graph: $(wc -l < <(awk '{ print $1, $2 }' <<<"$all" | sort -u)) edges between folders, none both ways"
exit $bad
