#!/usr/bin/env bash
# Install, from the Debian archive, whatever ptibench needs to build the kernel and run every
# test (Debian 12). Installs only what is missing; quick and silent when all is present.
# Runs apt-get as root, or through sudo otherwise.
set -euo pipefail

PACKAGES=(
  # build: host tests and the freestanding kernel
  clang lld nasm cmake make g++ googletest libgtest-dev
  # libFuzzer, ASan and UBSan runtimes of Debian's clang 14 (tests/fuzz: libclang_rt.fuzzer-x86_64.a)
  libclang-rt-14-dev
  # the GRUB image (grub-mkrescue), BIOS + UEFI, CD + USB
  grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools
  # emulators and firmware
  qemu-system-x86 ovmf bochs bochsbios vgabios bochs-term
  # boot tests and the report tool (scipy: compare's Mann-Whitney U test; optional there)
  python3 python3-pytest python3-matplotlib python3-scipy
  # used by the scripts: timeout, sha256sum, realpath (coreutils), awk
  coreutils mawk
)

declare -A installed=()
while read -r name state; do
  if [[ $state == "install ok installed" ]]; then installed[${name%%:*}]=1; fi
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for p in "${PACKAGES[@]}"; do
  [[ -n ${installed[$p]:-} ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if ((EUID == 0)); then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "install-deps: not root and no sudo; install these packages: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${missing[@]}" </dev/null
