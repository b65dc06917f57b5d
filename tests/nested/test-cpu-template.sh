#!/usr/bin/env bash
# Nested: CPU templates seen by Linux. L2 (2 vCPUs, from a config file) prints what
# /proc/cpuinfo says (tests/nested/l2-cpu.sh):
#   - the static template T2A (machine-config "cpu_template", an AMD template; L1's
#     CPU is an AMD EPYC): family 6, model 63, stepping 2 on every vCPU, ERMS shown,
#     SSE4.2 and BMI2 left as the host has them;
#   - a custom template (the config file's "cpu-config") clearing SSE4.2 (CPUID 1
#     ecx bit 20) and BMI2 (7.0 ebx bit 8): both gone from the flags, SSE4.1 kept,
#     the host's own family (23) shown.
# (Not AVX: L2 never shows it here, its kernel turns XSAVE off on TCG's inconsistent
# XSAVE sizes, with or without a template.)
export NAME=cpu-template
# shellcheck source=tests/nested/lib.sh disable=SC2034
. "$(dirname "$0")/lib.sh"
preflight "$L2_VMLINUX"

# boot_with LABEL MACHINE_EXTRA CPU_CONFIG: L2 from a config file whose machine-config
# has MACHINE_EXTRA (JSON members) and, when CPU_CONFIG is not empty, that cpu-config.
boot_with() {
  local cfg=$NESTED_WORK/$NAME-$1.json cc=""
  [ -z "$3" ] || cc=", \"cpu-config\": $3"
  cat >"$cfg" <<JSON
{"boot-source": {"kernel_image_path": "/l2/kernel", "initrd_path": "/l2/initrd",
                 "boot_args": "l2test=run:/tests/cpu.sh"},
 "machine-config": {"vcpu_count": 2, "mem_size_mib": $L2_MEM $2}$cc}
JSON
  HARNESS_OPTS=(--file "$cfg=/tmp/vm.json")
  nested "$1" "$L2_VMLINUX" --config-file /tmp/vm.json --no-api
  expect_l2_boot "$1" 2
  expect "$1" '^L2: cpu same-flags-on-all=yes'
}
has_flag() { grep -Eq "^L2: cpu flags=(.* )?$2( |\$)" "$LAST_LOG" || fail "$1: no '$2' in L2's flags"; }
lacks_flag() { ! grep -Eq "^L2: cpu flags=(.* )?$2( |\$)" "$LAST_LOG" || fail "$1: '$2' still in L2's flags"; }

boot_with t2a ', "cpu_template": "T2A"' ""
expect t2a '^L2: cpu family=6 model=63 stepping=2$'
has_flag t2a erms
has_flag t2a sse4_2
has_flag t2a bmi2

no_sse42_bmi2='{"cpuid_modifiers": [
  {"leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [
    {"register": "ecx", "bitmap": "0bxxxxxxxxxxx0xxxxxxxxxxxxxxxxxxxx"}]},
  {"leaf": "0x7", "subleaf": "0x0", "flags": 1, "modifiers": [
    {"register": "ebx", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxx0xxxxxxxx"}]}]}'
boot_with custom "" "$no_sse42_bmi2"
expect custom '^L2: cpu family=23 model=1 '
lacks_flag custom sse4_2
lacks_flag custom bmi2
has_flag custom sse4_1
pass
