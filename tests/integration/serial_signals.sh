#!/usr/bin/env bash
# Serial input from a pipe reaches the guest; SIGTERM and SIGINT end a running VM with 0.
cd "$(dirname "$0")/../.." && . tests/integration/common.bash
require_kvm

printf 'hello there\n' | timeout 60 "$EMBER" --kernel "$GUEST" --cmdline read >"$TMP/out" 2>"$TMP/err"
rc=$?
out=$(tr -d '\r' <"$TMP/out")
if [ "$rc" -eq 0 ] && grep -qx 'read: hello there' <<<"$out"; then
	pass stdin-pipe
else
	fail stdin-pipe "rc=$rc out=[$out] err=[$(cat "$TMP/err")]"
fi

# More input than the 64-byte FIFO holds: the event thread must pause and resume.
big=$(printf 'z%.0s' $(seq 1 200))
out=$(printf '%s\n' "$big" | timeout 60 "$EMBER" --kernel "$GUEST" --cmdline read 2>/dev/null | tr -d '\r')
if grep -qx "read: $big" <<<"$out"; then
	pass stdin-beyond-fifo
else
	fail stdin-beyond-fifo "out=[$out]"
fi

for sig in TERM INT; do
	mkfifo "$TMP/in.$sig"
	exec 9<>"$TMP/in.$sig" # held open and silent: the guest waits for input
	timeout 60 "$EMBER" --kernel "$GUEST" --cmdline read <"$TMP/in.$sig" >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	sleep 0.5
	kill -"$sig" $pid
	wait $pid
	rc=$?
	exec 9>&-
	if [ $rc -eq 0 ] && ! grep -q 'read:' "$TMP/out"; then
		pass "sig$sig-clean-exit"
	else
		fail "sig$sig-clean-exit" "rc=$rc err=[$(cat "$TMP/err")]"
	fi
done
finish
