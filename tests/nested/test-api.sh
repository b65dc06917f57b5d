#!/usr/bin/env bash
# Nested: Linux configured and started through the API with curl alone. ember
# starts in L1 with --api-sock and nothing else; l1-api.sh (an L1 hook) sets
# the machine (2 vCPUs), the boot source (the L2 kernel and initrd) and sends
# InstanceStart, then pauses and resumes the running guest. L2 must boot with
# 2 CPUs, run user space and reboot, ending ember with status 0.
export NAME=api
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
preflight "$L2_VMLINUX"
command -v curl >/dev/null || skip "curl is not installed"

# curl and the shared libraries it loads, at the same paths in L1.
HARNESS_OPTS=(--l1-hook "$NESTED_DIR/l1-api.sh" --file "$(command -v curl)=/usr/bin/curl")
while read -r lib; do
  HARNESS_OPTS+=(--file "$lib=$lib")
done < <(ldd "$(command -v curl)" | grep -oE '/[^ ]+\.so[^ ]*' | sort -u)

nested api "$L2_VMLINUX" --api-sock /tmp/api.sock

expect not-started '^L1: api GET / 200 .*"state":"Not started"'
expect machine '^L1: api PUT /machine-config 204'
expect boot-source '^L1: api PUT /boot-source 204'
expect vm-config '^L1: api GET /vm/config 200 .*"kernel_image_path":"/l2/kernel".*"vcpu_count":2'
expect start '^L1: api PUT /actions 204'
expect running '^L1: api GET / 200 .*"state":"Running"'
expect pause '^L1: api PATCH /vm 204'
expect paused '^L1: api GET / 200 .*"state":"Paused"'
[ "$(grep -c '^L1: api PATCH /vm 204' "$LAST_LOG")" = 2 ] || fail "resume: no second 'PATCH /vm 204'"
expect_l2_boot api 2
pass
