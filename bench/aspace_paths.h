// The instruction count of every path through the address-space lab's timed code (bench/
// aspace.asm: the kernel's pieces of a slice, ring3_enter and ring3_exit_stub of arch/x86/
// ring3_entry.asm, the ring-3 aspace_slice and the lab's system call), counted instruction by
// instruction from the assembly. Under a TSC that counts instructions (Bochs, QEMU -icount), a
// piece's ticks are exactly its count here; the kernel derives each slice's count from the
// decision the policy took and the record says how many slices read anything else. Pure: the host
// tests check the arithmetic, the boot tests check it against the emulators.
#pragma once

#include "arch/x86/pti.h"
#include "lib/types.h"

namespace ptb::bench::aspace::paths {

// Two TIMESTAMPs around nothing but the piece's `jmp r13` (Piece::kNone): from the first RDTSC
// to the second, RDTSC, LFENCE, SHL, OR, MOV RBX, JMP, LFENCE. Every piece pays it once.
inline constexpr u64 kStamps = 7;

// The flush: MOV, MOV, XOR, TEST, JZ; 4 a descriptor (INVPCID, ADD, DEC, JNZ); MOV, TEST, JZ to
// the end, or with the INVLPG: JZ not taken, INVLPG, JMP.
constexpr u64 flush(u64 invpcids, bool invlpg) {
  return kStamps + 5 + 4 * invpcids + 3 + (invlpg ? 2 : 0);
}
// The switch: CMP, JE to the end; or JE not taken, MOV, MOV CR3, JMP. Flush or NOFLUSH is the
// value written, not another path.
constexpr u64 swtch(bool write_cr3) { return kStamps + 2 + (write_cr3 ? 3 : 0); }

// The lab's system call, SYSCALL to SYSRET inclusive of neither: SWAPGS, MOV (user RSP); the
// user-half check MOV, MOV, CMP, JE; TO_KERNEL_CR3; MOV RSP, PUSH x3, MOV, JMP; stage 2 PUSH,
// MOV, MOV, TEST, JZ, 4 a kernel page (MOV, ADD, DEC, JNZ), MOV, MOV, CMP, JE, POP, POP, XOR, JMP;
// POP, POP, TO_USER_CR3, MOV RSP, SWAPGS (SYSRET is counted by the caller's loop).
// TO_KERNEL_CR3: PTI MOV, AND, MOV; PCID MOV, BTS, AND, MOV. TO_USER_CR3: PTI MOV, OR, MOV; PCID
// on its NOFLUSH path MOV, MOV, AND, BT, JNC, MOV, BTS, OR, MOV (the lab's calls always take it:
// the return to ring 3 has cleared the slot's lazy bit, and nothing sets it during the slice).
constexpr u64 syscall_path(x86::EntryScheme scheme, u64 kernel_pages) {
  const bool pcid = scheme == x86::EntryScheme::kPcid;
  const u64 to_kernel = pcid ? 4 : 3, to_user = pcid ? 9 : 3;
  return 2 + 4 + to_kernel + 6 + 5 + 4 * kernel_pages + 8 + 2 + to_user + 2;
}

// ring3_enter: PUSH x6, MOV, MOV, PUSH x5, MOV, MOV, CMP, JE (not taken: the lab runs under PTI),
// MOV, MOV CR3, SWAPGS, IRETQ. ring3_exit_stub: SWAPGS, CMP, JE, MOV, MOV CR3, MOV, POP x6, RET.
inline constexpr u64 kRing3Enter = 21, kRing3Exit = 13;

// The ring-3 part: MOV x4 and CALL ring3_enter; user_main's CALL, aspace_slice (MOV x3; 7 a page:
// MOV, CMP, JNE, ADD, INC, DEC, JNZ; MOV, TEST, JZ; 5 a call besides its path: XOR, SYSCALL,
// SYSRET, DEC, JNZ; RET), user_main's INT; the exit stub.
constexpr u64 user(x86::EntryScheme scheme, u64 pages, u64 calls, u64 kernel_pages) {
  const u64 slice = 3 + 7 * pages + 3 + calls * (5 + syscall_path(scheme, kernel_pages)) + 1;
  return kStamps + 5 + kRing3Enter + 1 + slice + 1 + kRing3Exit;
}

}  // namespace ptb::bench::aspace::paths
