#!/usr/bin/env bash
# Custom CPU templates (PUT /cpu-config, the config file's "cpu-config"), seen from inside
# the guest: guest-min's cpuid and rdmsr programs print what its vCPU reports. A CPUID
# bit cleared and a value field set reach the guest; an MSR's bits are set
# and the others kept; a feature bit this host's KVM lacks, a leaf KVM does not offer, a
# capability KVM lacks and malformed bitmaps are refused with one line naming them.
cd "$(dirname "$0")/../.." && . tests/integration/common.bash
require_kvm
command -v curl >/dev/null || { echo "SKIP: cpu_template: curl is not installed"; exit 77; }
GUEST_ABS=$(readlink -f "$GUEST")

# boot_with CPUCONFIG CMDLINE: guest-min from a config file with that cpu-config (JSON or
# empty for none); sets $out, $err, $rc.
boot_with() {
	local cc=${1:+, \"cpu-config\": $1}
	echo "{\"boot-source\": {\"kernel_image_path\": \"$GUEST_ABS\", \"boot_args\": \"$2\"},
	       \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 32}$cc}" >"$TMP/vm.json"
	run_ember --config-file "$TMP/vm.json" --no-api
}

# reg LEAF REG: that register of the guest's "cpuid LEAF" line in $out.
reg() { sed -n "s/^cpuid $1: .*$2=\(0x[0-9a-f]*\).*/\1/p" <<<"$out" | head -n1; }
bits() { # N set bits at positions...: a 32-char bitmap, x elsewhere
	local s="" i
	for ((i = 31; i >= 0; i--)); do
		if [[ " $* " == *" $i=1 "* ]]; then s+=1; elif [[ " $* " == *" $i=0 "* ]]; then s+=0; else s+=x; fi
	done
	echo "0b$s"
}

boot_with "" "cpuid 0x1 0x7 0x80000001"
[ $rc -eq 0 ] || fail baseline "rc=$rc err=[$err] out=[$out]"
ecx1=$(reg 0x1.0x0 ecx)
ebx7=$(reg 0x7.0x0 ebx)
# A feature the guest has by default (SSE3, ecx bit 0, on every x86-64 KVM host) goes;
# the stepping (eax bits 3-0) becomes 5.
[ $((ecx1 & 1)) = 1 ] || fail baseline-has-sse3 "ecx=$ecx1"
tmpl="{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": [
	{\"register\": \"ecx\", \"bitmap\": \"$(bits 0=0)\"},
	{\"register\": \"eax\", \"bitmap\": \"$(bits 3=0 2=1 1=0 0=1)\"}]}],
	\"msr_modifiers\": [{\"addr\": \"0x1a0\", \"bitmap\": \"0b$(printf 'x%.0s' $(seq 51))11$(printf 'x%.0s' $(seq 11))\"}]}"
boot_with "$tmpl" "cpuid 0x1"
ecx=$(reg 0x1.0x0 ecx)
eax=$(reg 0x1.0x0 eax)
if [ $rc -eq 0 ] && [ $((ecx & 1)) = 0 ] && [ $((ecx | 1)) = $((ecx1)) ] && [ $((eax & 15)) = 5 ]; then
	pass cpuid-bits-reach-the-guest
else
	fail cpuid-bits-reach-the-guest "rc=$rc ecx $ecx1 -> $ecx, eax $eax; err=[$err]"
fi
boot_with "$tmpl" "rdmsr 0x1a0"
msr=$(sed -n 's/^rdmsr 0x1a0: //p' <<<"$out")
[ -n "$msr" ] && [ $((msr & 0x1800)) = $((0x1800)) ] && [ $((msr & 1)) = 1 ] &&
	pass msr-bits-set-others-kept || fail msr-bits-set-others-kept "MISC_ENABLE=$msr out=[$out]"

# The same template over the API, and GET /vm/config shows it in a form that boots again.
SOCK=$TMP/api.sock
timeout 60 "$EMBER" --api-sock "$SOCK" >"$TMP/serial" 2>"$TMP/stderr" </dev/null &
apid=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
api() { curl -s --max-time 10 --unix-socket "$SOCK" -X "$1" -o "$TMP/body" -w '%{http_code}' \
	"http://localhost$2" ${3:+--data-binary "$3"}; }
code=$(api PUT /cpu-config "$tmpl")
[ "$code" = 204 ] && pass put-cpu-config || fail put-cpu-config "HTTP $code $(cat "$TMP/body")"
code=$(api PUT /cpu-config '{"cpuid_modifiers": [{"leaf": "0x1", "subleaf": 0, "flags": 0, "modifiers": [{"register": "ecx", "bitmap": "0b0101"}]}]}')
[ "$code" = 400 ] && grep -q '4 bits, a bitmap here has 32' "$TMP/body" && pass short-bitmap-refused ||
	fail short-bitmap-refused "HTTP $code $(cat "$TMP/body")"
code=$(api PUT /cpu-config '{"reg_modifiers": [{"addr": "0x1", "bitmap": "0b1"}]}')
[ "$code" = 400 ] && grep -q 'ARM' "$TMP/body" && pass arm-fields-refused || fail arm-fields-refused "HTTP $code $(cat "$TMP/body")"
code=$(api GET /vm/config)
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["cpu-config"]; assert c["msr_modifiers"][0]["addr"] == 0x1a0; assert len(c["cpuid_modifiers"]) == 2' "$TMP/body" 2>/dev/null &&
	pass vm-config-shows-cpu-config || fail vm-config-shows-cpu-config "$(cat "$TMP/body")"
kill "$apid" 2>/dev/null
wait "$apid" 2>/dev/null

# Refusals at start (the host decides): a feature bit KVM does not offer (the first bit
# of leaf 7's ebx the guest did not see), a leaf KVM does not have, a capability it lacks.
missing=""
for i in $(seq 0 31); do [ $(((ebx7 >> i) & 1)) = 0 ] && { missing=$i; break; }; done
if [ -n "$missing" ]; then
	boot_with "{\"cpuid_modifiers\": [{\"leaf\": 7, \"subleaf\": 0, \"flags\": 1, \"modifiers\": [{\"register\": \"ebx\", \"bitmap\": \"$(bits $missing=1)\"}]}]}" "hello"
	[ $rc -eq 1 ] && grep -q "CPUID 0x7.0 ebx bits .*this host's KVM cannot provide them" <<<"$err" &&
		[ "$(wc -l <<<"$err")" = 1 ] && pass feature-host-lacks-refused || fail feature-host-lacks-refused "bit $missing rc=$rc err=[$err]"
else
	fail feature-host-lacks-refused "leaf 7 ebx has every bit: $ebx7"
fi
boot_with '{"cpuid_modifiers": [{"leaf": "0x4fffffff", "subleaf": 0, "flags": 0, "modifiers": [{"register": "eax", "bitmap": "0b1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}]}]}' "hello"
[ $rc -eq 1 ] && grep -q 'CPUID leaf 0x4fffffff subleaf 0x0 is not one KVM offers' <<<"$err" &&
	pass unknown-leaf-refused || fail unknown-leaf-refused "rc=$rc err=[$err]"
boot_with '{"kvm_capabilities": ["!121", "99999"]}' "hello"
[ $rc -eq 1 ] && grep -q 'KVM lacks capability 99999' <<<"$err" && pass missing-capability-refused ||
	fail missing-capability-refused "rc=$rc err=[$err]"
boot_with '{"msr_modifiers": [{"addr": "0xzz", "bitmap": "0b1"}]}' "hello"
[ $rc -eq 152 ] && grep -q 'msr_modifiers.addr: expected a number' <<<"$err" && pass bad-number-refused ||
	fail bad-number-refused "rc=$rc err=[$err]"

# Static templates (machine-config "cpu_template"): this host's vendor's one reaches the
# guest (family 6 model 0x3f stepping 2, ERMS shown, 0x80000008 ebx as T2A's); the
# other vendor's is refused when configured, over the API and from a config file.
vendor=$(sed -n 's/^vendor_id[[:space:]]*: //p' /proc/cpuinfo | head -n1)
case $vendor in
AuthenticAMD) mine=T2A other=C3 other_vendor=Intel ;;
GenuineIntel) mine=T2 other=T2A other_vendor=AMD ;;
*) mine="" ;;
esac
boot_static() {
	echo "{\"boot-source\": {\"kernel_image_path\": \"$GUEST_ABS\", \"boot_args\": \"$2\"},
	       \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 32, \"cpu_template\": \"$1\"}}" >"$TMP/vm.json"
	run_ember --config-file "$TMP/vm.json" --no-api
}
if [ -z "$mine" ]; then
	skip static-templates "this host's CPU vendor '$vendor' has no Firecracker template"
else
	boot_static "$mine" "cpuid 0x1 0x7 0x80000008"
	eax=$(reg 0x1.0x0 eax) ebx7=$(reg 0x7.0x0 ebx) ebx88=$(reg 0x80000008.0x0 ebx)
	if ! grep -qw erms /proc/cpuinfo; then # the template shows ERMS; a host without it refuses
		[ $rc -eq 1 ] && grep -q "CPUID 0x7.0 ebx bits 0x00000200" <<<"$err" &&
			pass static-template-reaches-the-guest || fail static-template-reaches-the-guest "rc=$rc err=[$err]"
	elif [ $rc -eq 0 ] && [ -n "$eax" ] && [ $((eax & 0x0fff3fff)) = $((0x306f2)) ] &&
		[ $((ebx7 & 0x200)) = $((0x200)) ] && [ $((ebx7 & 0x10000)) = 0 ] &&
		{ [ "$mine" != T2A ] || [ $((ebx88 & 0x1c0205)) = $((0x1c0004)) ]; }; then
		pass static-template-reaches-the-guest
	else
		fail static-template-reaches-the-guest "$mine rc=$rc eax=$eax ebx7=$ebx7 ebx88=$ebx88 err=[$err]"
	fi
	boot_static "$other" "hello"
	[ $rc -eq 152 ] && grep -q "cpu_template $other is for $other_vendor hosts; this host's CPU is $vendor" <<<"$err" &&
		[ "$(wc -l <<<"$err")" = 1 ] && pass other-vendor-template-refused-in-file ||
		fail other-vendor-template-refused-in-file "rc=$rc err=[$err]"

	SOCK=$TMP/api2.sock
	timeout 60 "$EMBER" --api-sock "$SOCK" >"$TMP/serial" 2>"$TMP/stderr" </dev/null &
	apid=$!
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
	code=$(api PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": 32, \"cpu_template\": \"$mine\"}")
	[ "$code" = 204 ] && [ "$(api GET /machine-config)" = 200 ] && grep -q "\"cpu_template\": *\"$mine\"" "$TMP/body" &&
		pass api-static-template || fail api-static-template "HTTP $code $(cat "$TMP/body")"
	code=$(api PATCH /machine-config "{\"vcpu_count\": 2, \"cpu_template\": \"$other\"}")
	[ "$code" = 400 ] && grep -q "is for $other_vendor hosts" "$TMP/body" && [ "$(api GET /machine-config)" = 200 ] &&
		grep -q "\"vcpu_count\": *1" "$TMP/body" && grep -q "\"cpu_template\": *\"$mine\"" "$TMP/body" &&
		pass api-other-vendor-refused-keeps-config || fail api-other-vendor-refused-keeps-config "HTTP $code $(cat "$TMP/body")"
	code=$(api PATCH /machine-config '{"cpu_template": "None"}')
	[ "$code" = 204 ] && [ "$(api GET /machine-config)" = 200 ] && ! grep -q cpu_template "$TMP/body" &&
		pass api-none-drops-template || fail api-none-drops-template "HTTP $code $(cat "$TMP/body")"
	kill "$apid" 2>/dev/null
	wait "$apid" 2>/dev/null
fi
finish
