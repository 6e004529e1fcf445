#!/usr/bin/env bash
# shellcheck disable=SC2317 # (the trap handlers are called indirectly)
# Boot the ptibench image in QEMU (or Bochs) with COM1 on stdout and in a log file, and exit
# with the kernel's verdict. This is the one place that knows the emulators' flags; see
# docs/running.md and `./run-qemu.sh --help`.
set -Eeuo pipefail
# Any unexpected failure of the script itself is "no verdict", never a kernel "fail" (1).
trap 'printf "run-qemu.sh: internal error (line %s, status %s)\n" "$LINENO" "$?" >&2; exit 2' ERR

PROG=run-qemu.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LONG_MODE_MSG='ptibench: this CPU has no 64-bit long mode'
DEFAULT_BOCHS_MODEL=corei7_haswell_4770

usage() {
  cat <<EOF
Usage: ./run-qemu.sh [OPTIONS] [-- EMULATOR-ARGS...]

Boot build/kernel/ptibench.iso (building it first if needed) in QEMU, or in Bochs with --bochs.
The serial console (COM1) goes to stdout and to a log file. Exit status: 0 the kernel reported
pass, 1 fail, 2 no verdict (emulator died, triple fault, no summary record) or a bad option,
124 timeout (the emulator was killed).

Emulator:
  --accel auto|kvm|tcg   QEMU accelerator (default: auto = kvm only when /proc/cpuinfo shows
                         vmx or svm and /dev/kvm is usable, else tcg)
  --cpu MODEL            CPU model (default: host with kvm, max with tcg; with --bochs the
                         Bochs model, same as --bochs MODEL)
  --mem SIZE             guest RAM, e.g. 256M or 1G (default: 256M)
  --smp N                number of CPUs (default: 1)
  --uefi                 boot with OVMF (UEFI) instead of the BIOS (QEMU only)
  --usb                  boot the image as a USB stick (xHCI mass storage) instead of a CD
                         (QEMU only)
  --deterministic        -icount shift=0,sleep=off: the TSC counts instructions, runs repeat
                         exactly (TCG only; Bochs is always deterministic)
  --bochs [MODEL]        run Bochs instead of QEMU (default model: $DEFAULT_BOCHS_MODEL)

Kernel:
  --entry full|quick|selftest|seeds
                         GRUB menu entry to boot (default: full)
  --cmdline "k=v ..."    extra kernel command line, appended to the entry's arguments
                         (words separated by spaces; any other character is passed as is)
  --iso PATH             boot this image instead of build/kernel/ptibench.iso (implies
                         --no-build)
  --no-build             do not build; use the image as it is

Run:
  --timeout SECONDS      hard limit for the emulator run (default: 900)
  --log FILE             serial log (default: logs/<YYYYmmdd-HHMMSS>-<tcg|kvm|bochs>-<cpu>
                         [-uefi][-usb][-det].log); the emulator's own log goes next to it
                         (<name>.qemu.log or <name>.bochs.log)
  --dry-run              print the emulator command (and the Bochs config) and exit 0;
                         builds no kernel, but does make the variant image (see below)
  -h, --help             this text
  -- ARGS...             pass ARGS to the emulator verbatim (Bochs: extra config lines)

--entry other than full, or --cmdline, boots a variant image: the kernel and grub.cfg are
taken from the image, grub.cfg gets 'set default=N' and the extra arguments, and
grub-mkrescue makes a new image, cached in build/run-iso/.
EOF
}

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
bad_usage() {
  note "$*"
  printf "Try '%s --help'.\n" "./$PROG" >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# Options

accel=auto
cpu=
mem=256M
smp=1
uefi=0
usb=0
det=0
bochs=0
entry=full
cmdline=
timeout_s=900
log=
iso=
build=1
dry=0
extra=()

while (($#)); do
  opt=$1
  val=
  has_val=0
  if [[ $opt == --*=* ]]; then
    val=${opt#*=}
    opt=${opt%%=*}
    has_val=1
  fi
  case $opt in
    --accel | --cpu | --mem | --smp | --entry | --cmdline | --timeout | --log | --iso)
      if ((!has_val)); then
        (($# >= 2)) || bad_usage "option $opt needs a value"
        val=$2
        shift
      fi
      shift
      case $opt in
        --accel) accel=$val ;;
        --cpu) cpu=$val ;;
        --mem) mem=$val ;;
        --smp) smp=$val ;;
        --entry) entry=$val ;;
        --cmdline) cmdline=$val ;;
        --timeout) timeout_s=$val ;;
        --log) log=$val ;;
        --iso) iso=$val ;;
      esac
      ;;
    --bochs)
      bochs=1
      shift
      if ((has_val)); then
        cpu=$val
      elif (($#)) && [[ $1 != -* ]]; then
        cpu=$1
        shift
      fi
      ;;
    --uefi | --usb | --deterministic | --no-build | --dry-run | -h | --help)
      ((!has_val)) || bad_usage "option $opt takes no value"
      shift
      case $opt in
        --uefi) uefi=1 ;;
        --usb) usb=1 ;;
        --deterministic) det=1 ;;
        --no-build) build=0 ;;
        --dry-run) dry=1 ;;
        -h | --help)
          usage
          exit 0
          ;;
      esac
      ;;
    --)
      shift
      extra=("$@")
      break
      ;;
    *) bad_usage "unknown option: $1" ;;
  esac
done

case $accel in auto | kvm | tcg) ;; *) bad_usage "--accel must be auto, kvm or tcg (got '$accel')" ;; esac
case $entry in
  full) entry_index=0 ;;
  quick) entry_index=1 ;;
  selftest) entry_index=2 ;;
  seeds) entry_index=3 ;;
  *) bad_usage "--entry must be full, quick, selftest or seeds (got '$entry')" ;;
esac
[[ $mem =~ ^([1-9][0-9]*)([MmGg]?)$ ]] || bad_usage "--mem must be a size like 256M or 1G (got '$mem')"
mem_mib=${BASH_REMATCH[1]}
[[ ${BASH_REMATCH[2]} == [Gg] ]] && mem_mib=$((mem_mib * 1024))
[[ $smp =~ ^[1-9][0-9]*$ ]] || bad_usage "--smp must be a positive integer (got '$smp')"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || bad_usage "--timeout must be a positive number of seconds (got '$timeout_s')"
[[ -z $cpu || $cpu =~ ^[A-Za-z0-9_.,=+-]+$ ]] || bad_usage "--cpu: unexpected characters in '$cpu'"
if [[ -n $iso ]]; then
  build=0
  if [[ ! -f $iso ]] && ((!dry)); then
    bad_usage "--iso: no such file: $iso"
  fi
fi

if ((bochs)); then
  [[ $accel == auto ]] || bad_usage "--accel is for QEMU; Bochs always emulates"
  ((!uefi)) || bad_usage "--uefi is not supported with --bochs (no OVMF for Bochs here)"
  ((!usb)) || bad_usage "--usb is not supported with --bochs (the Bochs BIOS boots the CD)"
  cpu=${cpu:-$DEFAULT_BOCHS_MODEL}
  kind=bochs
else
  kvm_usable=0
  if [[ -e /dev/kvm && -r /dev/kvm && -w /dev/kvm ]]; then
    kvm_usable=1
  fi
  if [[ $accel == auto ]]; then
    accel=tcg
    if ((!det)) && ((kvm_usable)) && grep -qwE 'vmx|svm' /proc/cpuinfo 2>/dev/null; then
      accel=kvm
    fi
  elif [[ $accel == kvm ]]; then
    ((!det)) || bad_usage "--deterministic needs TCG (icount), not --accel kvm"
    ((kvm_usable)) || ((dry)) || bad_usage "--accel kvm: /dev/kvm is missing or not accessible"
  fi
  if [[ -z $cpu ]]; then
    if [[ $accel == kvm ]]; then cpu=host; else cpu=max; fi
  fi
  [[ $accel == kvm || $cpu != host ]] || bad_usage "--cpu host needs KVM; with TCG use max or a named model"
  kind=$accel
fi

# ---------------------------------------------------------------------------------------------
# Log file

if [[ -z $log ]]; then
  suffix=
  ((uefi)) && suffix+=-uefi
  ((usb)) && suffix+=-usb
  ((det)) && suffix+=-det
  base="$ROOT/logs/$(date +%Y%m%d-%H%M%S)-$kind-${cpu//[^A-Za-z0-9_.+-]/_}$suffix"
  log=$base.log
  if ((!dry)); then
    mkdir -p "$ROOT/logs"
    n=1
    # noclobber: two runs started in the same second never share a log
    until (set -C && : >"$log") 2>/dev/null; do
      n=$((n + 1))
      log=$base-$n.log
      ((n < 1000)) || bad_usage "cannot create a log file in $ROOT/logs"
    done
  fi
elif ((!dry)); then
  if ! { mkdir -p "$(dirname "$log")" && : >"$log"; } 2>/dev/null; then
    bad_usage "--log: cannot write $log"
  fi
fi
((dry)) || log=$(realpath "$log")
aux_log=${log%.log}.$kind.log
[[ $kind != tcg && $kind != kvm ]] || aux_log=${log%.log}.qemu.log

# ---------------------------------------------------------------------------------------------
# The image

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ptibench-run.XXXXXX")
emu_pid=
# Stops the emulator started in the background (see Run below).
stop_emulator() {
  if [[ -n $emu_pid ]] && kill -0 "$emu_pid" 2>/dev/null; then
    if ((bochs)); then
      # Bochs ignores SIGTERM; timeout leads its own process group.
      kill -KILL -- "-$emu_pid" 2>/dev/null || kill -KILL "$emu_pid" 2>/dev/null || true
    else
      kill -TERM "$emu_pid" 2>/dev/null || true
    fi
  fi
}
cleanup() {
  stop_emulator
  rm -rf "$tmp"
}
trap cleanup EXIT

if ((build)) && ((!dry)); then
  # A fresh machine: install what is missing first (Debian packages, through apt-get; quick and
  # silent when everything is there), so this script alone goes from a clone to results.
  for tool in cmake clang++ ld.lld nasm grub-mkrescue xorriso mformat qemu-system-x86_64; do
    if ! command -v "$tool" >/dev/null; then
      note "$tool is missing: running scripts/install-deps.sh"
      "$ROOT/scripts/install-deps.sh" >&2 || { note "installing the dependencies failed"; exit 2; }
      break
    fi
  done
  if [[ ! -f $ROOT/build/CMakeCache.txt ]]; then
    note "configuring build/"
    cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >&2 || {
      note "cmake configure failed (missing packages? scripts/install-deps.sh)"
      exit 2
    }
  fi
  note "building the kernel image (cmake --build build --target kernel)"
  cmake --build "$ROOT/build" --target kernel >&2 || {
    note "kernel build failed"
    exit 2
  }
fi

iso=${iso:-$ROOT/build/kernel/ptibench.iso}
if [[ ! -f $iso ]]; then
  if ((dry)); then
    note "note: $iso does not exist (yet)"
  else
    note "no image at $iso; build it with 'cmake --build build --target kernel' (or drop --no-build)"
    exit 2
  fi
fi

# grub.cfg with 'set default=N' appended (GRUB reads 'default' after the whole file) and the
# extra words, each single-quoted for GRUB's shell-like parser (no globbing, no $ expansion),
# appended to every multiboot2 line. Prints the new config; warns when the entry is not where
# the contract says.
rewrite_grub_cfg() {
  local cfg=$1 quoted='' w q
  local -a words=()
  read -r -d '' -a words <<<"$cmdline" || true # (all lines; read returns 1 at the end)
  for w in "${words[@]}"; do
    q=${w//\'/\'\\\'\'}
    quoted+=" '$q'"
  done
  PTIBENCH_EXTRA=$quoted awk -v want="suite=$entry" -v fixed="$entry_index" '
    BEGIN { extra = ENVIRON["PTIBENCH_EXTRA"]; n = -1; found = -1 }
    /^[ \t]*(menuentry|submenu)[ \t]/ { n++ }
    /^[ \t]*multiboot2[ \t]/ {
      if (found < 0 && $0 ~ ("[ \t]" want "([ \t]|$)")) found = n
      sub(/[ \t]+$/, "")
      $0 = $0 extra
    }
    { print }
    END {
      if (found < 0) {
        printf "run-qemu.sh: warning: no menu entry with %s in grub.cfg; using entry %d\n", want, fixed > "/dev/stderr"
        found = fixed
      } else if (found != fixed) {
        printf "run-qemu.sh: note: %s is menu entry %d (not %d)\n", want, found, fixed > "/dev/stderr"
      }
      print ""
      print "# added by run-qemu.sh"
      print "set default=" found
    }' "$cfg"
}

# Make (or reuse) the variant image and set iso to it (also for --dry-run, so that the printed
# command works).
variant_iso() {
  local src=$1 dir=$tmp/variant cache out part
  mkdir -p "$dir/boot/grub"
  if ! xorriso -osirrox on -indev "$src" \
    -extract /boot/ptibench.elf "$dir/boot/ptibench.elf" \
    -extract /boot/grub/grub.cfg "$tmp/grub.cfg.orig" >"$tmp/xorriso.log" 2>&1; then
    cat "$tmp/xorriso.log" >&2
    note "could not read boot/ptibench.elf and boot/grub/grub.cfg from $src"
    exit 2
  fi
  chmod u+w "$dir/boot/ptibench.elf"
  rewrite_grub_cfg "$tmp/grub.cfg.orig" >"$dir/boot/grub/grub.cfg"
  cache=$ROOT/build/run-iso
  part=$({ sha256sum <"$dir/boot/ptibench.elf"; cat "$dir/boot/grub/grub.cfg"; } | sha256sum)
  out=$cache/${part:0:16}.iso
  if [[ -f $out ]]; then
    touch "$out" 2>/dev/null || true # (most recently used: kept by the pruning below)
    note "variant image (entry $entry, cmdline '$cmdline'): $out (cached)"
  else
    mkdir -p "$cache"
    if ! grub-mkrescue -o "$out.tmp.$$" "$dir" >"$tmp/mkrescue.log" 2>&1; then
      cat "$tmp/mkrescue.log" >&2
      rm -f "$out.tmp.$$"
      note "grub-mkrescue failed"
      exit 2
    fi
    mv -f "$out.tmp.$$" "$out"
    note "variant image (entry $entry, cmdline '$cmdline'): $out"
    # Keep the 30 most recently used images (about 20 MB each).
    { find "$cache" -maxdepth 1 -name '*.iso' -printf '%T@ %p\n' | sort -rn | tail -n +31 |
      cut -d' ' -f2- | while IFS= read -r old; do rm -f "$old"; done; } 2>/dev/null || true
  fi
  iso=$out
}

if [[ $entry != full || -n ${cmdline//[[:space:]]/} ]]; then
  if [[ -f $iso ]]; then
    variant_iso "$iso"
  else
    iso="<variant of $iso for entry $entry, cmdline '$cmdline'>"
  fi
fi

# ---------------------------------------------------------------------------------------------
# The emulator command

qemu_escape() { printf '%s' "${1//,/,,}"; } # a value inside a QEMU -opt k=v,... list

find_ovmf() {
  local d
  ovmf_bios=
  ovmf_code=
  ovmf_vars=
  for d in /usr/share/ovmf /usr/share/qemu /usr/share/OVMF; do
    if [[ -f $d/OVMF.fd ]]; then
      ovmf_bios=$d/OVMF.fd
      return 0
    fi
  done
  for d in /usr/share/OVMF /usr/share/edk2/ovmf /usr/share/edk2/x64; do
    local c
    for c in OVMF_CODE_4M.fd OVMF_CODE.fd; do
      if [[ -f $d/$c && -f $d/${c/CODE/VARS} ]]; then
        ovmf_code=$d/$c
        ovmf_vars=$d/${c/CODE/VARS}
        return 0
      fi
    done
  done
  return 1
}

write_bochsrc() {
  cat <<EOF
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
}

cmd=()
if ((bochs)); then
  command -v bochs >/dev/null || ((dry)) || {
    note "bochs is not installed (scripts/install-deps.sh)"
    exit 2
  }
  write_bochsrc >"$tmp/bochsrc"
  echo c >"$tmp/debugger.rc"
  cmd=(bochs -q -f bochsrc -rc debugger.rc "${extra[@]}")
  if ((det)); then note "note: Bochs is always deterministic; --deterministic changes nothing"; fi
else
  command -v qemu-system-x86_64 >/dev/null || ((dry)) || {
    note "qemu-system-x86_64 is not installed (scripts/install-deps.sh)"
    exit 2
  }
  cmd=(qemu-system-x86_64 -machine q35 -accel "$accel" -cpu "$cpu" -m "$mem" -smp "$smp"
    -no-reboot -boot reboot-timeout=1000 -display none -monitor none -nic none
    -chardev "stdio,id=com1,signal=on,logfile=$(qemu_escape "$log")" -serial chardev:com1
    -device "isa-debug-exit,iobase=0xf4,iosize=0x04"
    -d cpu_reset -D "$aux_log")
  if ((uefi)); then
    if ! find_ovmf; then
      note "--uefi: no OVMF firmware found (install the ovmf package: scripts/install-deps.sh)"
      exit 2
    fi
    if [[ -n $ovmf_bios ]]; then
      cmd+=(-bios "$ovmf_bios")
    else
      cp "$ovmf_vars" "$tmp/OVMF_VARS.fd"
      cmd+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$(qemu_escape "$ovmf_code")"
        -drive "if=pflash,format=raw,unit=1,file=$(qemu_escape "$tmp/OVMF_VARS.fd")")
    fi
  fi
  if ((usb)); then
    cmd+=(-device "qemu-xhci,id=xhci" -device "usb-storage,bus=xhci.0,drive=stick,bootindex=0"
      -drive "if=none,id=stick,format=raw,readonly=on,file=$(qemu_escape "$iso")")
  else
    cmd+=(-cdrom "$iso")
  fi
  if ((det)); then
    cmd+=(-icount "shift=0,sleep=off" -rtc "base=2000-01-01T00:00:00,clock=vm")
  fi
  cmd+=("${extra[@]}")
fi

# Prints its arguments as one shell command line, quoting only what needs it.
print_command() {
  local a sep=''
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
      printf '%s%s' "$sep" "$a"
    else
      printf "%s'%s'" "$sep" "${a//\'/\'\\\'\'}"
    fi
    sep=' '
  done
  printf '\n'
}

if ((dry)); then
  if ((bochs)); then
    printf '# bochsrc, written to a temporary directory that also holds image.iso -> %s,\n' "$iso"
    printf '# serial.log -> %s and bochs.log -> %s:\n' "$log" "$aux_log"
    cat "$tmp/bochsrc"
    printf '# command, run in that directory with TERM=dumb, stdin from /dev/null:\n'
    print_command TERM=dumb "${cmd[@]}"
  else
    print_command "${cmd[@]}"
  fi
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Run

interrupted=0
on_signal() {
  interrupted=1
  stop_emulator
}
trap on_signal INT TERM HUP

# Waits for emu_pid (a wait interrupted by a signal is retried); sets rc.
wait_emulator() {
  while :; do
    rc=0
    wait "$emu_pid" 2>/dev/null || rc=$? # (no "Killed" message from the shell)
    if ! kill -0 "$emu_pid" 2>/dev/null; then break; fi
  done
}

what="$kind, cpu $cpu, $mem_mib MiB, $smp cpu(s)"
((uefi)) && what+=", UEFI"
((usb)) && what+=", USB stick"
((det)) && what+=", deterministic"
what+=", entry $entry"
[[ -z $cmdline ]] || what+=", cmdline \"$cmdline\""
note "booting $iso ($what; timeout ${timeout_s}s)"
note "log: $log"
start=$SECONDS
rc=0
if ((bochs)); then
  ln -s "$(realpath "$iso")" "$tmp/image.iso"
  ln -s "$log" "$tmp/serial.log"
  : >"$aux_log"
  ln -s "$aux_log" "$tmp/bochs.log"
  (cd "$tmp" && exec env TERM=dumb timeout -s KILL "$timeout_s" "${cmd[@]}") </dev/null >"$tmp/bochs.out" 2>&1 &
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
    timeout --foreground -k 10 "$timeout_s" "${cmd[@]}" <&0 &
  else
    timeout -k 10 "$timeout_s" "${cmd[@]}" </dev/null &
  fi
  emu_pid=$!
  wait_emulator
fi
emu_pid=
elapsed=$((SECONDS - start))
trap - INT TERM HUP

if ((interrupted)); then
  note "interrupted; emulator stopped after ${elapsed}s. log: $log"
  exit 130
fi

# ---------------------------------------------------------------------------------------------
# Verdict

# Status of the last run's summary record (pass, fail or empty): a summary counts only if it
# comes after the last env record and its line is a whole JSON object.
summary_status=$(awk '
  { sub(/\r+$/, ""); sub(/[ \t]+$/, "") }
  index($0, "PTIBENCH {") == 0 { next }
  /"type"[ \t]*:[ \t]*"env"/ { status = "" }
  /"type"[ \t]*:[ \t]*"summary"/ && /\}$/ {
    if (match($0, /"status"[ \t]*:[ \t]*"(pass|fail)"/))
      status = (substr($0, RSTART, RLENGTH) ~ /pass"$/) ? "pass" : "fail"
  }
  END { print status }' "$log")
no_long_mode=0
grep -qaF "$LONG_MODE_MSG" "$log" && no_long_mode=1
started=0
grep -qaE 'PTIBENCH \{.*"type"[[:space:]]*:[[:space:]]*"env"' "$log" && started=1
if ((started)); then
  not_started=
else
  not_started=" (and no env record: the kernel never started; was the image bootable, did GRUB load it?)"
fi
triple=0
grep -qaE 'Triple fault|exception with no resolution' "$aux_log" 2>/dev/null && triple=1
emu=${cmd[0]}

finish() {
  local status=$1
  shift
  note "$*"
  note "log: $log"
  exit "$status"
}

if [[ $rc == 124 ]] || { [[ $rc == 137 ]] && ((elapsed >= timeout_s)); }; then
  finish 124 "TIMEOUT: no end after ${timeout_s}s; killed $emu (summary: ${summary_status:-none})"
fi
if ((triple)); then
  note "the guest triple-faulted (see $aux_log)"
fi
if ((bochs)); then
  case $summary_status in
    pass) finish 0 "PASS (Bochs $cpu, ${elapsed}s)" ;;
    fail) finish 1 "FAIL (Bochs $cpu, ${elapsed}s)" ;;
  esac
  if ((no_long_mode)); then
    finish 1 "FAIL: the kernel reports that this CPU ($cpu) has no 64-bit long mode"
  fi
  finish 2 "NO VERDICT: bochs ended (status $rc) without a summary record$not_started; see $aux_log"
fi
case $rc:$summary_status in
  1:pass) finish 0 "PASS ($accel, cpu $cpu, ${elapsed}s)" ;;
  3:fail) finish 1 "FAIL ($accel, cpu $cpu, ${elapsed}s)" ;;
  3:*)
    if ((no_long_mode)); then
      finish 1 "FAIL: the kernel reports that this CPU ($cpu) has no 64-bit long mode"
    fi
    finish 1 "FAIL: the kernel exited with 'fail' (QEMU status 3) without a summary record"
    ;;
  1:fail) finish 1 "FAIL: the summary says fail although the exit port said pass" ;;
  1:)
    finish 2 "NO VERDICT: QEMU exited with status 1 and no summary record: QEMU failed (see above) or the kernel wrote 'pass' without a summary"
    ;;
  *:pass | *:fail)
    st=$summary_status
    [[ $st == pass ]] && code=0 || code=1
    finish "$code" "${st^^}: per the summary record, but QEMU ended with status $rc, not through isa-debug-exit"
    ;;
  *)
    if ((triple)); then
      finish 2 "NO VERDICT: triple fault (QEMU status $rc) before a summary record$not_started"
    fi
    finish 2 "NO VERDICT: QEMU ended with status $rc without a summary record$not_started"
    ;;
esac
