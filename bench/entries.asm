; The kernel side of the ring-crossing benchmarks: SYSCALL entry variants, the minimal exception
; and software-interrupt paths, and the one-way crossing stubs. Each is installed (LSTAR or an IDT
; gate) only while its row runs (bench/env.cpp); the rows are in bench/table.cpp.
;
; Everything that runs while the PTI user page tables may still be loaded sits in .entry.text
; (mapped into those tables); the kernel-only halves of the SYSCALL paths sit in .text.
;
; Register convention of the ptibench system call (ring 3 side): RAX = 0 in, 0 out; the
; instruction itself clobbers RCX and R11; the kernel may clobber RDX. R8/R9 carry TSC stamps back
; from the crossing stubs (counter values in their counter passes, whose R10 holds RDPMC's counter
; index and survives). Every other register survives.
;
; The instruction counts in bench/table.cpp are counted from these macros: change a path here and
; the exactness tests say by how much.

%include "arch_constants.inc"
%include "pti.inc"
%include "template.inc"
%include "timestamp.inc"

bits 64

; ---- syscall.bare: SYSCALL and SYSRET alone (RCX, R11 hold the return state already) ---------
section .text
BENCH_ENTRY syscall_entry_bare
    o64 sysret                          ; straight back: no SWAPGS, no stack switch

; ---- syscall.direct: LSTAR straight at the kernel entry, no trampoline, no CR3 switch ---------
section .text
BENCH_ENTRY syscall_entry_direct
    swapgs
    mov [gs:PERCPU_USER_RSP], rsp
    mov rsp, [gs:PERCPU_KERNEL_RSP]
    push rcx                            ; user RIP
    push r11                            ; user RFLAGS
    xor eax, eax                        ; the null system call returns 0
    pop r11
    pop rcx
    mov rsp, [gs:PERCPU_USER_RSP]
    swapgs
    o64 sysret

; ---- the trampoline variants (Linux 4.15-era entry_SYSCALL_64_trampoline) ---------------------
; Entry in .entry.text, a jump through a register into the kernel-only stage 2, and the exit
; back in .entry.text. %3 extra mov-to-CR3 on entry reproduce seed 000's experiment.
%macro SYSCALL_TRAMPOLINE 3             ; %1 name, %2 entry scheme, %3 extra CR3 writes
section .entry.text
BENCH_ENTRY syscall_entry_%1
    swapgs
    mov [gs:PERCPU_USER_RSP], rsp
    TO_KERNEL_CR3 rsp, %2               ; RSP is free: the user's is saved
%rep %3
    mov cr3, rsp                        ; an extra mov-to-CR3, same value
%endrep
    mov rsp, [gs:PERCPU_KERNEL_RSP]
    push rcx
    push r11
    push rdi
    mov rdi, syscall_stage2_%1          ; absolute: the way into kernel-only text
    jmp rdi
section .text
syscall_stage2_%1:
    pop rdi
    xor eax, eax
    jmp syscall_exit_%1
section .entry.text
syscall_exit_%1:
    pop r11
    pop rcx
    TO_USER_CR3 rdx, rsp, %2            ; RSP is free again: reloaded just below
    mov rsp, [gs:PERCPU_USER_RSP]
    swapgs
    o64 sysret
%endmacro

SYSCALL_TRAMPOLINE trampoline, ENTRY_NONE, 0
SYSCALL_TRAMPOLINE pti, ENTRY_PTI, 0
SYSCALL_TRAMPOLINE pti_pcid, ENTRY_PCID, 0
SYSCALL_TRAMPOLINE pti_pcid_flush, ENTRY_PCID_FLUSH, 0
SYSCALL_TRAMPOLINE pti_pcid_extra1, ENTRY_PCID, 1
SYSCALL_TRAMPOLINE pti_pcid_extra2, ENTRY_PCID, 2

; ---- round trips through an exception or software interrupt ----------------------------------
; The kernel side does only what a return needs: skip the faulting store (fault.pf), drop the
; error code, and under PTI switch CR3 in and out. Scratch registers go on the entry stack, which
; both page tables map. Both PTI forms SWAPGS in and out, as Linux does on every entry from ring 3,
; and save the two scratch registers the PCID exit's lazy-flush test needs (it reads the per-CPU
; area), so a .pti stub and its .pti.pcid twin differ only in the CR3 switch itself.
%macro EXCEPTION_RETURN 3               ; %1 name, %2 1 = #PF (skip the store, drop error code), %3 scheme
section .entry.text
BENCH_ENTRY exception_stub_%1
%assign saved 0
%if %3 != ENTRY_NONE
    swapgs
    push rdx
    push rax
%assign saved 2
%endif
    TO_KERNEL_CR3 rax, %3
%if %2
    add qword [rsp + 8 * saved + IRET_RIP_ABOVE_ERROR_CODE], PF_INSN_LEN
%endif
    TO_USER_CR3 rax, rdx, %3
%if %3 != ENTRY_NONE
    pop rax
    pop rdx
    swapgs
%endif
%if %2
    add rsp, ERROR_CODE_SIZE
%endif
    iretq
%endmacro

EXCEPTION_RETURN pf, 1, ENTRY_NONE
EXCEPTION_RETURN pf_pti, 1, ENTRY_PTI
EXCEPTION_RETURN pf_pti_pcid, 1, ENTRY_PCID
EXCEPTION_RETURN trap, 0, ENTRY_NONE
EXCEPTION_RETURN trap_pti, 0, ENTRY_PTI
EXCEPTION_RETURN trap_pti_pcid, 0, ENTRY_PCID

; ---- one-way crossings: TSC stamps inside the kernel --------------------------------------------
; u2k: the first instruction in the kernel's address space (under PTI, right after the CR3
; switch) stamps the TSC into R8; k2u: the last before leaving it stamps into R9. The ring-3
; driver stamps just before and just after the crossing (bench/user.asm). RAX and RDX are free.
; All four stamps are TIMESTAMP (LFENCE on both sides), so they are ordered alike with PTI off
; and on: the mov to CR3 beside a stamp under PTI (serialising) no longer orders it alone.
; %4 is the stamp: TIMESTAMP for the tick pass; PMC_STAMP (R10 = RDPMC's counter) for the
; counter passes, and FAKE_TSC_STAMP for their test-only fake (bench/timestamp.inc), whose stubs
; are the same code with every stamp reading a counter instead of the TSC.
%macro CROSSING 4                       ; %1 name, %2 0 syscall / 1 #PF / 2 int3 or int, %3 scheme, %4 stamp
section .entry.text
BENCH_ENTRY crossing_stub_%1
%if %3 != ENTRY_NONE
    swapgs                              ; as on every PTI entry (the PCID exit reads the per-CPU area)
%endif
    TO_KERNEL_CR3 rax, %3
    %4
    mov r8, rax
%if %2 == 1
    add qword [rsp + IRET_RIP_ABOVE_ERROR_CODE], PF_INSN_LEN
    add rsp, ERROR_CODE_SIZE
%endif
    %4
    mov r9, rax
    TO_USER_CR3 rdx, rax, %3
%if %3 != ENTRY_NONE
    swapgs
%endif
%if %2 == 0
    o64 sysret
%else
    iretq
%endif
%endmacro

CROSSING syscall, 0, ENTRY_NONE, TIMESTAMP
CROSSING syscall_pti, 0, ENTRY_PTI, TIMESTAMP
CROSSING syscall_pti_pcid, 0, ENTRY_PCID, TIMESTAMP
CROSSING pf, 1, ENTRY_NONE, TIMESTAMP
CROSSING pf_pti, 1, ENTRY_PTI, TIMESTAMP
CROSSING pf_pti_pcid, 1, ENTRY_PCID, TIMESTAMP
CROSSING trap, 2, ENTRY_NONE, TIMESTAMP
CROSSING trap_pti, 2, ENTRY_PTI, TIMESTAMP
CROSSING trap_pti_pcid, 2, ENTRY_PCID, TIMESTAMP

; The counter passes' stubs: the same paths, every stamp a counter read.
CROSSING pmc_syscall, 0, ENTRY_NONE, PMC_STAMP
CROSSING pmc_syscall_pti, 0, ENTRY_PTI, PMC_STAMP
CROSSING pmc_syscall_pti_pcid, 0, ENTRY_PCID, PMC_STAMP
CROSSING pmc_pf, 1, ENTRY_NONE, PMC_STAMP
CROSSING pmc_pf_pti, 1, ENTRY_PTI, PMC_STAMP
CROSSING pmc_pf_pti_pcid, 1, ENTRY_PCID, PMC_STAMP
CROSSING pmc_trap, 2, ENTRY_NONE, PMC_STAMP
CROSSING pmc_trap_pti, 2, ENTRY_PTI, PMC_STAMP
CROSSING pmc_trap_pti_pcid, 2, ENTRY_PCID, PMC_STAMP

; ... and their test-only fake (crossing_counters=fake-tsc): the counter stamp reading the TSC.
CROSSING fake_syscall, 0, ENTRY_NONE, FAKE_TSC_STAMP
CROSSING fake_syscall_pti, 0, ENTRY_PTI, FAKE_TSC_STAMP
CROSSING fake_syscall_pti_pcid, 0, ENTRY_PCID, FAKE_TSC_STAMP
CROSSING fake_pf, 1, ENTRY_NONE, FAKE_TSC_STAMP
CROSSING fake_pf_pti, 1, ENTRY_PTI, FAKE_TSC_STAMP
CROSSING fake_pf_pti_pcid, 1, ENTRY_PCID, FAKE_TSC_STAMP
CROSSING fake_trap, 2, ENTRY_NONE, FAKE_TSC_STAMP
CROSSING fake_trap_pti, 2, ENTRY_PTI, FAKE_TSC_STAMP
CROSSING fake_trap_pti_pcid, 2, ENTRY_PCID, FAKE_TSC_STAMP
