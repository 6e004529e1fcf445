#!/usr/bin/env bash
# A benchmark of the suite itself (not a test): the wall time of a run in each environment, from
# the emulator's start to its exit (firmware, GRUB with no countdown, the kernel), written as
# a Markdown table to docs/suite-timing.md (or to stdout with --stdout).
#
#   scripts/time-suite.sh [--stdout] [--entry full|quick]
set -euo pipefail
cd "$(dirname "$0")/.."

out=docs/suite-timing.md
entry=full
while [ $# -gt 0 ]; do
  case "$1" in
    --stdout) out=/dev/stdout ;;
    --entry) entry="${2:?--entry needs full or quick}"; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "time-suite.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

./run-qemu.sh --dry-run > /dev/null        # builds the image if it is missing
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

envs=(
  "QEMU TCG, BIOS, CD, -cpu max|--accel tcg"
  "QEMU TCG, UEFI (OVMF), CD|--accel tcg --uefi"
  "QEMU TCG, UEFI, USB stick|--accel tcg --uefi --usb"
  "QEMU TCG -icount (deterministic)|--deterministic"
  "Bochs corei7_haswell_4770|--bochs corei7_haswell_4770"
)

rows=""
for e in "${envs[@]}"; do
  name=${e%%|*}
  read -r -a args <<< "${e#*|}"
  log="$logs/run.log"
  start=$(date +%s.%N)
  status=0
  ./run-qemu.sh --no-build --entry "$entry" --log "$log" "${args[@]}" > /dev/null 2>&1 || status=$?
  end=$(date +%s.%N)
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  summary=$(grep -a -o 'PTIBENCH {"type":"summary"[^}]*}' "$log" | tail -n 1 || true)
  ok=$(sed -n 's/.*"ok":\([0-9]*\).*/\1/p' <<< "$summary")
  skipped=$(sed -n 's/.*"skipped":\([0-9]*\).*/\1/p' <<< "$summary")
  verdict=$([ "$status" = 0 ] && echo pass || echo "exit $status")
  rows+="| $name | ${secs} s | ${ok:-?} ok, ${skipped:-?} skipped | $verdict |"$'\n'
  echo "time-suite.sh: $name: ${secs} s ($verdict)" >&2
done

cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)
{
  echo "# How long a run takes"
  echo
  echo "Wall time of one \`suite=$entry\` run per environment, from the emulator's start to its exit"
  echo "(firmware, GRUB without its countdown, as run-qemu.sh's images boot, and the kernel), measured by \`scripts/time-suite.sh\` on"
  echo "$(date -u +%Y-%m-%d), on a host with $(nproc) CPUs ($cpu), one run each. It is a"
  echo "benchmark of the suite, not a test: nothing here is a pass/fail threshold. On real hardware"
  echo "the kernel's part takes seconds; the emulators execute every instruction in software."
  echo
  echo "| environment | wall time | variants | verdict |"
  echo "|---|---|---|---|"
  printf '%s' "$rows"
} > "$out"
