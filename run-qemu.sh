#!/usr/bin/env bash
# shellcheck disable=SC2317 # (the trap handlers are called indirectly)
# Boot the ptibench image in QEMU (or Bochs) with COM1 on stdout and in a log file, and exit
# with the kernel's verdict. This is the one place that knows the emulators' flags; the variant
# image and the verdict are Python (tools/ptibench_report/harness.py). See docs/running.md.
set -Eeuo pipefail
# Any unexpected failure of the script itself is "no verdict", never a kernel "fail" (1).
trap 'printf "run-qemu.sh: internal error (line %s, status %s)\n" "$LINENO" "$?" >&2; exit 2' ERR

PROG=run-qemu.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEFAULT_BOCHS_MODEL=corei7_haswell_4770
PYTHON=/usr/bin/python3 # Debian's, as the report tool; any python3 >= 3.11 will do
[[ -x $PYTHON ]] || PYTHON=python3

usage() {
  cat <<EOF
Usage: ./run-qemu.sh [OPTIONS] [-- EMULATOR-ARGS...]

Boot build/kernel/ptibench.iso (building it first if needed) in QEMU, or in Bochs with --bochs,
with COM1 on stdout and in a log file. Exit status: 0 the kernel reported pass, 1 fail, 2 no
verdict (emulator died, triple fault, no summary record) or a bad option, 124 timeout.

Emulator:
  --accel auto|kvm|tcg   QEMU accelerator (auto: kvm only when /proc/cpuinfo shows vmx or svm
                         and /dev/kvm is usable, else tcg)
  --cpu MODEL            CPU model (default: host with kvm, max with tcg; the Bochs model)
  --mem SIZE             guest RAM, e.g. 256M or 1G (default: 256M)
  --smp N                number of CPUs (default: 1)
  --uefi                 boot with OVMF (UEFI) instead of the BIOS (QEMU only)
  --usb                  boot the image as a USB stick instead of a CD (QEMU only)
  --deterministic        -icount shift=0,sleep=off: the TSC counts instructions (TCG only)
  --bochs [MODEL]        run Bochs instead of QEMU (default model: $DEFAULT_BOCHS_MODEL)
Kernel:
  --entry full|quick|selftest|seeds   GRUB menu entry to boot (default: full)
  --cmdline "k=v ..."    words appended to the entry's kernel command line
  --iso PATH             boot this image instead (implies --no-build)
  --no-build             do not build; use the image as it is
Run:
  --timeout SECONDS      hard limit for the emulator run (default: 900)
  --log FILE             serial log (default: logs/<YYYYmmdd-HHMMSS>-<tcg|kvm|bochs>-<cpu>
                         [-uefi][-usb][-det].log); the emulator's log goes beside it
                         (<name>.qemu.log or <name>.bochs.log)
  --dry-run              print the emulator command (and Bochs config), exit 0; builds no
                         kernel, but does make the variant image
  -h, --help             this text
  -- ARGS...             passed to the emulator verbatim (Bochs: extra config lines)

--entry other than full, or --cmdline, boots a variant image made from the image's own kernel
and grub.cfg (cached in build/run-iso/). See docs/running.md.
EOF
}

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
bad_usage() {
  note "$*"
  printf "Try '%s --help'.\n" "./$PROG" >&2
  exit 2
}
# The Python side: python3 -m ptibench_report.harness variant|verdict ... (no bytecode written)
harness() { PYTHONPATH=$ROOT/tools "$PYTHON" -B -m ptibench_report.harness "$@"; }

accel=auto cpu='' mem=256M smp=1 uefi=0 usb=0 det=0 bochs=0 entry=full cmdline='' timeout=900
log='' iso='' build=1 dry=0 extra=()

parse_options() {
  local arg opt val has_val
  while (($#)); do
    arg=$1 opt=$1 val='' has_val=0
    shift
    if [[ $opt == --*=* ]]; then val=${opt#*=} opt=${opt%%=*} has_val=1; fi
    case $opt in
      --accel | --cpu | --mem | --smp | --entry | --cmdline | --timeout | --log | --iso)
        if ((!has_val)); then
          (($#)) || bad_usage "option $opt needs a value"
          val=$1
          shift
        fi
        printf -v "${opt#--}" '%s' "$val" ;; # the variable of the same name
      --bochs)
        bochs=1
        if ((has_val)); then cpu=$val; elif (($#)) && [[ $1 != -* ]]; then cpu=$1 && shift; fi ;;
      --uefi | --usb | --deterministic | --no-build | --dry-run | -h | --help)
        ((!has_val)) || bad_usage "option $opt takes no value"
        case $opt in
          --uefi) uefi=1 ;; --usb) usb=1 ;; --deterministic) det=1 ;; --no-build) build=0 ;;
          --dry-run) dry=1 ;; *) usage && exit 0 ;;
        esac ;;
      --) extra=("$@") && break ;;
      *) bad_usage "unknown option: $arg" ;;
    esac
  done
}

check_options() {
  case $accel in auto | kvm | tcg) ;; *) bad_usage "--accel must be auto, kvm or tcg (got '$accel')" ;; esac
  case $entry in full | quick | selftest | seeds) ;; *)
    bad_usage "--entry must be full, quick, selftest or seeds (got '$entry')" ;; esac
  [[ $mem =~ ^([1-9][0-9]*)([MmGg]?)$ ]] || bad_usage "--mem must be a size like 256M or 1G (got '$mem')"
  mem_mib=${BASH_REMATCH[1]}
  if [[ ${BASH_REMATCH[2]} == [Gg] ]]; then mem_mib=$((mem_mib * 1024)); fi
  [[ $smp =~ ^[1-9][0-9]*$ ]] || bad_usage "--smp must be a positive integer (got '$smp')"
  [[ $timeout =~ ^[1-9][0-9]*$ ]] || bad_usage "--timeout must be a positive number of seconds (got '$timeout')"
  [[ -z $cpu || $cpu =~ ^[A-Za-z0-9_.,=+-]+$ ]] || bad_usage "--cpu: unexpected characters in '$cpu'"
  if [[ -n $iso ]]; then
    build=0
    [[ -f $iso ]] || ((dry)) || bad_usage "--iso: no such file: $iso"
  fi
  if ((bochs)); then
    [[ $accel == auto ]] || bad_usage "--accel is for QEMU; Bochs always emulates"
    ((!uefi)) || bad_usage "--uefi is not supported with --bochs (no OVMF for Bochs here)"
    ((!usb)) || bad_usage "--usb is not supported with --bochs (the Bochs BIOS boots the CD)"
    cpu=${cpu:-$DEFAULT_BOCHS_MODEL} kind=bochs
    return
  fi
  local kvm_usable=0
  if [[ -e /dev/kvm && -r /dev/kvm && -w /dev/kvm ]]; then kvm_usable=1; fi
  if [[ $accel == auto ]]; then
    accel=tcg
    if ((!det && kvm_usable)) && grep -qwE 'vmx|svm' /proc/cpuinfo 2>/dev/null; then accel=kvm; fi
  elif [[ $accel == kvm ]]; then
    ((!det)) || bad_usage "--deterministic needs TCG (icount), not --accel kvm"
    ((kvm_usable)) || ((dry)) || bad_usage "--accel kvm: /dev/kvm is missing or not accessible"
  fi
  if [[ -z $cpu ]]; then if [[ $accel == kvm ]]; then cpu=host; else cpu=max; fi; fi
  [[ $accel == kvm || $cpu != host ]] || bad_usage "--cpu host needs KVM; with TCG use max or a named model"
  kind=$accel
}

# logs/<date>-<kind>-<cpu>[-uefi][-usb][-det][-N].log unless --log; the emulator's log beside it.
choose_log() {
  if [[ -z $log ]]; then
    local suffix='' base n=1
    if ((uefi)); then suffix+=-uefi; fi
    if ((usb)); then suffix+=-usb; fi
    if ((det)); then suffix+=-det; fi
    base="$ROOT/logs/$(date +%Y%m%d-%H%M%S)-$kind-${cpu//[^A-Za-z0-9_.+-]/_}$suffix"
    log=$base.log
    if ((!dry)); then
      mkdir -p "$ROOT/logs"
      # noclobber: two runs started in the same second never share a log
      until (set -C && : >"$log") 2>/dev/null; do
        n=$((n + 1)) log=$base-$n.log
        ((n < 1000)) || bad_usage "cannot create a log file in $ROOT/logs"
      done
    fi
  elif ((!dry)); then
    { mkdir -p "$(dirname "$log")" && : >"$log"; } 2>/dev/null || bad_usage "--log: cannot write $log"
  fi
  if ((!dry)); then log=$(realpath "$log"); fi
  aux_log=${log%.log}.$kind.log
  if [[ $kind == tcg || $kind == kvm ]]; then aux_log=${log%.log}.qemu.log; fi
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
  cmd=(qemu-system-x86_64 -machine q35 -accel "$accel" -cpu "$cpu" -m "$mem" -smp "$smp"
    -no-reboot -boot reboot-timeout=1000 -display none -monitor none -nic none
    -chardev "stdio,id=com1,signal=on,logfile=$(qemu_escape "$log")" -serial chardev:com1
    -device "isa-debug-exit,iobase=0xf4,iosize=0x04" -d cpu_reset -D "$aux_log")
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

# Prints its arguments as one shell command line, quoting only what needs it.
print_command() {
  local a sep=''
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then printf '%s%s' "$sep" "$a"; else
      printf "%s'%s'" "$sep" "${a//\'/\'\\\'\'}"
    fi
    sep=' '
  done
  printf '\n'
}

dry_run() {
  if ((bochs)); then
    printf '# bochsrc, written to a temporary directory that also holds image.iso -> %s,\n' "$iso"
    printf '# serial.log -> %s and bochs.log -> %s:\n' "$log" "$aux_log"
    cat "$tmp/bochsrc"
    printf '# command, run in that directory with TERM=dumb, stdin from /dev/null:\n'
    print_command TERM=dumb "${cmd[@]}"
  else
    print_command "${cmd[@]}"
  fi
}

emu_pid=
stop_emulator() {
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
  local what="$kind, cpu $cpu, $mem_mib MiB, $smp cpu(s)" start=$SECONDS tail_pid
  if ((uefi)); then what+=", UEFI"; fi
  if ((usb)); then what+=", USB stick"; fi
  if ((det)); then what+=", deterministic"; fi
  what+=", entry $entry"
  if [[ -n $cmdline ]]; then what+=", cmdline \"$cmdline\""; fi
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
      timeout --foreground -k 10 "$timeout" "${cmd[@]}" <&0 &
    else
      timeout -k 10 "$timeout" "${cmd[@]}" </dev/null &
    fi
    emu_pid=$!
    wait_emulator
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
  parse_options "$@"
  check_options
  choose_log
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
