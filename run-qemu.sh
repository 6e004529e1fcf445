#!/usr/bin/env bash
# shellcheck disable=SC2317,SC2154 # (trap handlers are called indirectly; the option variables
# come from the eval in read_options)
# Boot the ptibench image in QEMU (or Bochs) with COM1 on stdout and in a log file, and exit
# with the kernel's verdict. This is the one place that knows the emulators' flags; the options,
# the variant image and the verdict are Python (tools/ptibench_report/harness.py, plan.py).
# See docs/running.md.
set -Eeuo pipefail
# Any unexpected failure of the script itself is "no verdict", never a kernel "fail" (1).
trap 'printf "run-qemu.sh: internal error (line %s, status %s)\n" "$LINENO" "$?" >&2; exit 2' ERR

PROG=run-qemu.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=/usr/bin/python3 # Debian's, as the report tool; any python3 >= 3.11 will do
[[ -x $PYTHON ]] || PYTHON=python3

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
# The Python side: python3 -m ptibench_report.harness plan|variant|nmi|verdict|quote ... (no
# bytecode written): tools/ptibench_report/harness.py, plan.py and nmi.py.
harness() { PYTHONPATH=$ROOT/tools "$PYTHON" -B -m ptibench_report.harness "$@"; }

# The options, checked (messages, the "Try --help" line and status 2 for a bad one), with the
# accelerator, CPU and log chosen: sets accel cpu mem mem_mib smp uefi usb det bochs kind entry
# cmdline timeout log aux_log iso build dry nmi nmi_from what help_text and the array extra.
read_options() {
  local plan
  plan=$(harness plan "$ROOT" "$@") || exit 2
  eval "$plan"
  if [[ -n $help_text ]]; then printf '%s' "$help_text" && exit 0; fi
}

# From a fresh clone: install what is missing (Debian packages; quick and silent when all is
# there), configure, build the image. Build output goes to stderr.
build_image() {
  local tool
  for tool in cmake clang++ ld.lld nasm grub-mkrescue xorriso mformat qemu-system-x86_64 python3; do
    if ! command -v "$tool" >/dev/null; then
      note "$tool is missing: running scripts/install-deps.sh"
      "$ROOT/scripts/install-deps.sh" >&2 || { note "installing the dependencies failed"; exit 2; }
      break
    fi
  done
  if [[ ! -f $ROOT/build/CMakeCache.txt ]]; then
    note "configuring build/"
    cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >&2 ||
      { note "cmake configure failed (missing packages? scripts/install-deps.sh)"; exit 2; }
  fi
  note "building the kernel image (cmake --build build --target kernel)"
  cmake --build "$ROOT/build" --target kernel >&2 || { note "kernel build failed"; exit 2; }
}

# --entry other than full, or --cmdline: boot (and for --dry-run, print) the variant image.
use_variant() {
  [[ $entry != full || -n ${cmdline//[[:space:]]/} ]] || return 0
  if [[ -f $iso ]]; then
    iso=$(harness variant --iso="$iso" --entry="$entry" --cmdline="$cmdline" --cache="$ROOT/build/run-iso") ||
      exit 2
  else
    iso="<variant of $iso for entry $entry, cmdline '$cmdline'>"
  fi
}

qemu_escape() { printf '%s' "${1//,/,,}"; } # a value inside a QEMU -opt k=v,... list

# -bios OVMF.fd, or read-only OVMF_CODE pflash with a temporary copy of its VARS.
ovmf_args() {
  local d c
  for d in /usr/share/ovmf /usr/share/qemu /usr/share/OVMF; do
    if [[ -f $d/OVMF.fd ]]; then cmd+=(-bios "$d/OVMF.fd") && return; fi
  done
  for d in /usr/share/OVMF /usr/share/edk2/ovmf /usr/share/edk2/x64; do
    for c in OVMF_CODE_4M.fd OVMF_CODE.fd; do
      if [[ -f $d/$c && -f $d/${c/CODE/VARS} ]]; then
        cp "$d/${c/CODE/VARS}" "$tmp/OVMF_VARS.fd"
        cmd+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$(qemu_escape "$d/$c")"
          -drive "if=pflash,format=raw,unit=1,file=$(qemu_escape "$tmp/OVMF_VARS.fd")")
        return
      fi
    done
  done
  note "--uefi: no OVMF firmware found (install the ovmf package: scripts/install-deps.sh)"
  exit 2
}

qemu_command() {
  command -v qemu-system-x86_64 >/dev/null || ((dry)) ||
    { note "qemu-system-x86_64 is not installed (scripts/install-deps.sh)"; exit 2; }
  local monitor=none # --nmi: the injector's socket (HMP)
  if [[ -n $nmi ]]; then monitor="unix:$(qemu_escape "$tmp/monitor.sock"),server,nowait"; fi
  cmd=(qemu-system-x86_64 -machine q35 -accel "$accel" -cpu "$cpu" -m "$mem" -smp "$smp"
    -no-reboot -boot reboot-timeout=1000 -display none -monitor "$monitor" -nic none
    -chardev "stdio,id=com1,signal=on,logfile=$(qemu_escape "$log")" -serial chardev:com1
    -device "isa-debug-exit,iobase=0xf4,iosize=0x04" -d cpu_reset -D "$aux_log")
  launch=() # --pin: the whole QEMU process (its vCPU threads with it) on the chosen host CPUs
  if [[ -n $pin ]]; then command -v taskset >/dev/null && launch=(taskset -c "$pin") || note "note: no taskset; not pinned"; fi
  if ((uefi)); then ovmf_args; fi
  if ((usb)); then
    cmd+=(-device "qemu-xhci,id=xhci" -device "usb-storage,bus=xhci.0,drive=stick,bootindex=0"
      -drive "if=none,id=stick,format=raw,readonly=on,file=$(qemu_escape "$iso")")
  else
    cmd+=(-cdrom "$iso")
  fi
  if ((det)); then cmd+=(-icount "shift=0,sleep=off" -rtc "base=2000-01-01T00:00:00,clock=vm"); fi
  cmd+=("${extra[@]}")
}

bochs_command() {
  command -v bochs >/dev/null || ((dry)) || { note "bochs is not installed (scripts/install-deps.sh)"; exit 2; }
  cat >"$tmp/bochsrc" <<EOF
# generated by run-qemu.sh
megs: $mem_mib
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=$cpu, count=$smp, ips=50000000, reset_on_triple_fault=0
clock: sync=none, time0=946684800
ata0-master: type=cdrom, path=image.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=serial.log
port_e9_hack: enabled=1
speaker: enabled=0
sound: driver=dummy
log: bochs.log
panic: action=fatal
display_library: term
EOF
  echo c >"$tmp/debugger.rc"
  cmd=(bochs -q -f bochsrc -rc debugger.rc "${extra[@]}")
  if ((det)); then note "note: Bochs is always deterministic; --deterministic changes nothing"; fi
}

dry_run() {
  if ((bochs)); then
    printf '# bochsrc, written to a temporary directory that also holds image.iso -> %s,\n' "$iso"
    printf '# serial.log -> %s and bochs.log -> %s:\n' "$log" "$aux_log"
    cat "$tmp/bochsrc"
    printf '# command, run in that directory with TERM=dumb, stdin from /dev/null:\n'
    harness quote TERM=dumb "${cmd[@]}"
  else
    harness quote "${launch[@]}" "${cmd[@]}"
  fi
}

emu_pid='' nmi_pid=''
stop_emulator() {
  if [[ -n $nmi_pid ]]; then kill "$nmi_pid" 2>/dev/null || true; fi
  if [[ -n $emu_pid ]] && kill -0 "$emu_pid" 2>/dev/null; then
    if ((bochs)); then # Bochs ignores SIGTERM; timeout leads its own process group
      kill -KILL -- "-$emu_pid" 2>/dev/null || kill -KILL "$emu_pid" 2>/dev/null || true
    else
      kill -TERM "$emu_pid" 2>/dev/null || true
    fi
  fi
}
on_signal() { interrupted=1 && stop_emulator; }

# Waits for emu_pid (a wait interrupted by a signal is retried); sets rc.
wait_emulator() {
  while :; do
    rc=0
    wait "$emu_pid" 2>/dev/null || rc=$? # (no "Killed" message from the shell)
    if ! kill -0 "$emu_pid" 2>/dev/null; then break; fi
  done
}

# Boots; sets rc (the emulator's status through timeout) and elapsed.
boot() {
  local start=$SECONDS tail_pid from
  note "booting $iso ($what; timeout ${timeout}s)"
  note "log: $log"
  interrupted=0 rc=0
  trap on_signal INT TERM HUP
  if ((bochs)); then
    ln -s "$(realpath "$iso")" "$tmp/image.iso"
    ln -s "$log" "$tmp/serial.log"
    : >"$aux_log"
    ln -s "$aux_log" "$tmp/bochs.log"
    (cd "$tmp" && exec env TERM=dumb timeout -s KILL "$timeout" "${cmd[@]}") </dev/null >"$tmp/bochs.out" 2>&1 &
    emu_pid=$!
    tail -n +1 -s 0.2 -f --pid="$emu_pid" "$log" &
    tail_pid=$!
    wait_emulator
    wait "$tail_pid" 2>/dev/null || true
    { printf '\n==== bochs stdout/stderr ====\n'; cat "$tmp/bochs.out"; } >>"$aux_log"
  else
    # On a terminal, QEMU keeps it (Ctrl-C reaches QEMU), so timeout must stay in the
    # foreground process group; otherwise timeout makes its own group and kills all of it.
    if [[ -t 0 ]]; then
      timeout --foreground -k 10 "$timeout" "${launch[@]}" "${cmd[@]}" <&0 &
    else
      timeout -k 10 "$timeout" "${launch[@]}" "${cmd[@]}" </dev/null &
    fi
    emu_pid=$!
    if [[ -n $nmi ]]; then # beside QEMU until it exits (tools/ptibench_report/nmi.py)
      from=() && if [[ $nmi_from == env ]]; then from=(--from-env="$log"); fi
      harness nmi --socket="$tmp/monitor.sock" --spec="$nmi" --pid="$emu_pid" --log="$aux_log" \
        "${from[@]}" </dev/null &
      nmi_pid=$!
    fi
    wait_emulator
    if [[ -n $nmi_pid ]]; then wait "$nmi_pid" || true; fi
  fi
  emu_pid='' elapsed=$((SECONDS - start))
  trap - INT TERM HUP
  if ((interrupted)); then
    note "interrupted; emulator stopped after ${elapsed}s. log: $log"
    exit 130
  fi
}

# The verdict from the emulator's status and the serial log (harness.py judge()); a helper
# that does not answer 0/1/2/124 is no verdict.
verdict() {
  local code emulator=qemu
  if ((bochs)); then emulator=bochs; fi
  code=$(harness verdict --log="$log" --aux-log="$aux_log" --emulator=$emulator \
    --program="${cmd[0]}" --status="$rc" --elapsed="$elapsed" --timeout="$timeout" \
    --cpu="$cpu" --accel="$accel") || code=
  if [[ ! $code =~ ^(0|1|2|124)$ ]]; then
    note "internal error: the verdict helper ($PYTHON -m ptibench_report.harness) failed; log: $log"
    exit 2
  fi
  exit "$code"
}

main() {
  read_options "$@"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/ptibench-run.XXXXXX")
  trap 'stop_emulator; rm -rf "$tmp"' EXIT
  if ((build && !dry)); then build_image; fi
  iso=${iso:-$ROOT/build/kernel/ptibench.iso}
  if [[ ! -f $iso ]]; then
    ((dry)) || { note "no image at $iso; build it with 'cmake --build build --target kernel' (or drop --no-build)"; exit 2; }
    note "note: $iso does not exist (yet)"
  fi
  use_variant
  if ((bochs)); then bochs_command; else qemu_command; fi
  if ((dry)); then dry_run && exit 0; fi
  boot
  verdict
}

main "$@"
