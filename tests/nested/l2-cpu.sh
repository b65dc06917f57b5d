#!/bin/sh
# L2 side of tests/nested/test-cpu-template.sh, /tests/cpu.sh in the L2 initramfs
# (l2test=run:/tests/cpu.sh): what Linux made of the CPU it was given, from
# /proc/cpuinfo of CPU 0 and of every CPU:
#   L2: cpu family=F model=M stepping=S
#   L2: cpu flags=... (CPU 0's flags line, one space between flags)
#   L2: cpu same-flags-on-all=yes|no (every CPU's flags line is CPU 0's)
field() { sed -n "s/^$1[[:space:]]*: //p" /proc/cpuinfo | head -n1; }
echo "L2: cpu family=$(field 'cpu family') model=$(field model) stepping=$(field stepping)"
echo "L2: cpu flags=$(field flags)"
if [ "$(grep '^flags' /proc/cpuinfo | sort -u | wc -l)" = 1 ]; then
  echo "L2: cpu same-flags-on-all=yes"
else
  echo "L2: cpu same-flags-on-all=no"
fi
