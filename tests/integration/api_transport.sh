#!/usr/bin/env bash
# The control API's HTTP transport against a real ember waiting for API calls
# (--api-sock, no --kernel): a request in one-byte writes, 1000 pipelined requests,
# 64 concurrent clients, an idle connection that outlives the stall timeout, a stalled
# request, a 10 MB body, garbage, more idle connections than the server keeps. After
# each case a fresh curl must still get 200 from GET /. The client side is
# tests/integration/api_client.py (python3, standard library only).
cd "$(dirname "$0")/../.." && . tests/integration/common.bash

if ! "$EMBER" --help 2>&1 | grep -q -- '--api-sock'; then
	echo "SKIP: api-transport: $EMBER has no --api-sock"
	exit 77
fi
for tool in python3 curl; do
	if ! command -v $tool >/dev/null; then
		echo "SKIP: api-transport: $tool is not installed"
		exit 77
	fi
done

CLIENT=tests/integration/api_client.py
sock=$TMP/api.sock
ember_pid=

stop_ember() {
	[ -n "$ember_pid" ] && kill "$ember_pid" 2>/dev/null && wait "$ember_pid" 2>/dev/null
	ember_pid=
}
trap 'stop_ember; rm -rf "$TMP"' EXIT

# ember waiting for API calls; true once its socket exists.
start_api_ember() {
	"$EMBER" --api-sock "$sock" >"$TMP/ember.out" 2>"$TMP/ember.err" </dev/null &
	ember_pid=$!
	for _ in $(seq 1 200); do
		[ -S "$sock" ] && return 0
		kill -0 "$ember_pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# A fresh curl gets 200 and ember's GET / document.
alive() {
	local code
	code=$(curl -s -o "$TMP/alive.json" -w '%{http_code}' --max-time 10 \
		--unix-socket "$sock" http://localhost/)
	[ "$code" = 200 ] && grep -q '"app_name" *: *"ember"' "$TMP/alive.json"
}

# check NAME COMMAND [ARG]: api_client.py succeeds, ember lives, and still answers.
check() {
	local name=$1 out rc
	shift
	out=$(timeout 120 python3 "$CLIENT" "$sock" "$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "$name" "rc=$rc: $out"
	elif ! kill -0 "$ember_pid" 2>/dev/null; then
		fail "$name" "ember died: $(tail -3 "$TMP/ember.err")"
	elif ! alive; then
		fail "$name" "$out; then GET / from a fresh curl failed"
	else
		pass "$name"
	fi
}

if ! start_api_ember; then
	echo "FAIL: start: ember --api-sock did not create its socket: $(tail -3 "$TMP/ember.err")"
	exit 1
fi

body=$(curl -s --max-time 10 --unix-socket "$sock" http://localhost/)
if grep -q '"app_name" *: *"ember"' <<<"$body" && grep -q '"state" *: *"Not started"' <<<"$body" &&
	grep -q '"vmm_version"' <<<"$body" && grep -q '"id"' <<<"$body"; then
	pass get-root
else
	fail get-root "body=[$body]"
fi

check split-into-bytes split
check pipeline-1000 pipeline 1000
check concurrent-64 concurrent 64
check garbage garbage
check body-10mb bigbody 10485760
check crowd-beyond-max-conns crowd 160

# An idle connection is never timed out (6 s > the 5 s stall timeout), and does not
# keep others from being served meanwhile.
timeout 60 python3 "$CLIENT" "$sock" idle 6 >"$TMP/idle.out" 2>&1 &
idle_pid=$!
for _ in $(seq 1 100); do
	grep -q connected "$TMP/idle.out" && break
	sleep 0.05
done
if ! alive; then
	fail idle-client "GET / failed while an idle connection was open"
elif ! wait $idle_pid; then
	fail idle-client "$(cat "$TMP/idle.out")"
else
	pass idle-client
fi

check stalled-request partial

# curl sends "Expect: 100-continue" with a large body: the 400 comes at once, without
# the body (curl would otherwise wait a second, then send it all).
head -c 60000 /dev/zero | tr '\0' ' ' >"$TMP/big.json"
start=$(date +%s%N)
code=$(curl -s -o "$TMP/expect.json" -w '%{http_code}' --max-time 20 --unix-socket "$sock" \
	-X PUT -H 'Content-Type: application/json' --data-binary @"$TMP/big.json" \
	http://localhost/machine-config)
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$code" = 400 ] && grep -q '"fault_message"' "$TMP/expect.json" && [ $ms -lt 900 ] && alive; then
	pass curl-large-body
else
	fail curl-large-body "code=$code after $ms ms body=[$(head -c 300 "$TMP/expect.json")]"
fi

# The socket path belongs to the running ember: a second one is refused, the first serves on.
timeout 10 "$EMBER" --api-sock "$sock" >"$TMP/second.out" 2>"$TMP/second.err" </dev/null
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q 'Address in use' "$TMP/second.err" && alive; then
	pass second-ember-refused
else
	fail second-ember-refused "rc=$rc err=[$(cat "$TMP/second.err")]"
fi

kill -TERM "$ember_pid"
wait "$ember_pid"
rc=$?
ember_pid=
err=$(cat "$TMP/ember.err")
if crashed; then
	fail sigterm "crashed: rc=$rc err=[$err]"
elif [ $rc -ne 0 ] || [ -e "$sock" ]; then
	fail sigterm "rc=$rc (want 0), socket left behind: $([ -e "$sock" ] && echo yes || echo no)"
else
	pass sigterm-removes-socket
fi

# A small payload limit, as clients set one on purpose (Firecracker takes any positive
# size), and every accepted request in the log at Info: method, path, status, body.
"$EMBER" --api-sock "$sock" --http-api-max-payload-size 250 --level Info \
	>"$TMP/ember.out" 2>"$TMP/ember.err" </dev/null &
ember_pid=$!
for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
put() { curl -s -o "$TMP/put.json" -w '%{http_code}' --max-time 10 --unix-socket "$sock" \
	-X PUT -H 'Content-Type: application/json' --data-binary "$2" "http://localhost$1"; }
small='{"vcpu_count": 1, "mem_size_mib": 64}'
pad=$(printf '%*s' 260 '')
small_code=$(put /machine-config "$small")
big_code=$(put /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": 64 $pad}")
big_answer=$(cat "$TMP/put.json")
if [ "$small_code" = 204 ] && [ "$big_code" = 400 ] &&
	grep -q 'larger than the limit of 250 allowed' <<<"$big_answer"; then
	pass max-payload-250
else
	fail max-payload-250 "small: $small_code, big: $big_code [$big_answer] err=[$(cat "$TMP/ember.err")]"
fi
if grep -qF "API PUT /machine-config: 204 $small" "$TMP/ember.err"; then
	pass accepted-request-logged
else
	fail accepted-request-logged "no line 'API PUT /machine-config: 204 $small' in [$(cat "$TMP/ember.err")]"
fi
stop_ember
finish
