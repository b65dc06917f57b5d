#!/bin/sh
# L1 hook of tests/nested/test-api.sh: ember in L1 starts with only --api-sock;
# in "pre" a background job waits for the socket and drives ember with curl
# as a user would: machine config, boot source (the L2 kernel and initrd),
# InstanceStart, a pause and resume of the running Linux guest, GET / and
# GET /vm/config. Every answer is logged as "L1: api METHOD PATH CODE BODY" to a
# file that "post" prints once ember has exited (the console carries the L2
# kernel's lines meanwhile, and they would interleave mid-line).
SOCK=/tmp/api.sock
api() {
  if [ $# -ge 3 ]; then
    code=$(curl -s --max-time 20 --unix-socket "$SOCK" -X "$1" -H 'Content-Type: application/json' \
      --data-binary "$3" -o /tmp/api.body -w '%{http_code}' "http://localhost$2")
  else
    code=$(curl -s --max-time 20 --unix-socket "$SOCK" -X "$1" -o /tmp/api.body \
      -w '%{http_code}' "http://localhost$2")
  fi
  echo "L1: api $1 $2 $code $(cat /tmp/api.body 2>/dev/null)" >>/tmp/api.log
}
case $1 in
  pre)
    (
      i=0
      while [ ! -S "$SOCK" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
      api GET /
      api PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}'
      api PUT /boot-source '{"kernel_image_path": "/l2/kernel", "initrd_path": "/l2/initrd"}'
      api GET /vm/config
      api PUT /actions '{"action_type": "InstanceStart"}'
      api GET /
      api PATCH /vm '{"state": "Paused"}'
      api GET /
      sleep 1
      api PATCH /vm '{"state": "Resumed"}'
      api GET /
    ) & ;;
  post) cat /tmp/api.log ;;
esac
