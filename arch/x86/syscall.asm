; Entry paths of the ring-crossing benchmarks: SYSCALL entry variants, the minimal exception
; and software-interrupt paths, the one-way crossing stubs, and the way in and out of ring 3.
;
; Everything that runs while the PTI user page tables may still be loaded sits in .entry.text
; (mapped into those tables); the kernel-only halves of the SYSCALL paths sit in .text.
;
; Register convention of the ptibench system call (ring 3 side): RAX = 0 in, 0 out; the
; instruction itself clobbers RCX and R11; the kernel may clobber RDX. R8/R9 carry TSC stamps back
; from the crossing stubs. Every other register survives.

%include "arch_constants.inc"
%include "macros.inc"

; ---- CR3 switching, as Linux's SWITCH_TO_KERNEL_CR3 / SWITCH_TO_USER_CR3 (calling.h) -------
; Modes: 0 = no PTI, 1 = PTI without PCID, 2 = PTI with PCID (NOFLUSH on entry, lazy flush of
; the user PCID on exit), 3 = PTI with PCID but never NOFLUSH.
%define MODE_NONE  0
%define MODE_PTI   1
%define MODE_PCID  2
%define MODE_FLUSH 3

; To the kernel half: clear the PGD bit 12 and the user PCID bit 11 (and ask not to flush).
%macro TO_KERNEL_CR3 2                  ; %1 scratch register, %2 mode
%if %2 != MODE_NONE
    mov %1, cr3
%if %2 == MODE_PCID
    bts %1, CR3_NOFLUSH_BIT
%endif
    and %1, ~PTI_SWITCH_MASK
    mov cr3, %1
%endif
%endmacro

; To the user half. With PCID, the user PCID is flushed only when the per-CPU mask says its
; translations are stale (Linux's user_pcid_flush_mask), and the bit is then cleared.
%macro TO_USER_CR3 3                    ; %1, %2 scratch registers, %3 mode
%if %3 == MODE_PTI
    mov %1, cr3
    or %1, 1 << PTI_USER_PGD_BIT
    mov cr3, %1
%elif %3 == MODE_FLUSH
    mov %1, cr3
    or %1, PTI_SWITCH_MASK
    mov cr3, %1
%elif %3 == MODE_PCID
    mov %1, cr3
    mov %2, %1
    and %1, 0x7ff                       ; the ASID part of the PCID
    bt [gs:PERCPU_USER_PCID_FLUSH], %1
    jnc %%noflush
    btr [gs:PERCPU_USER_PCID_FLUSH], %1
    mov %1, %2
    jmp %%write
%%noflush:
    mov %1, %2
    bts %1, CR3_NOFLUSH_BIT
%%write:
    or %1, PTI_SWITCH_MASK
    mov cr3, %1
%endif
%endmacro

bits 64

; ---- syscall.direct: LSTAR straight at the kernel entry, no trampoline, no CR3 switch ---------
section .text
global syscall_entry_direct
syscall_entry_direct:
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
%macro SYSCALL_TRAMPOLINE 3             ; %1 name, %2 mode, %3 extra CR3 writes
section .entry.text
global syscall_entry_%1
syscall_entry_%1:
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

SYSCALL_TRAMPOLINE trampoline, MODE_NONE, 0
SYSCALL_TRAMPOLINE pti, MODE_PTI, 0
SYSCALL_TRAMPOLINE pti_pcid, MODE_PCID, 0
SYSCALL_TRAMPOLINE pti_pcid_flush, MODE_FLUSH, 0
SYSCALL_TRAMPOLINE pti_pcid_extra1, MODE_PCID, 1
SYSCALL_TRAMPOLINE pti_pcid_extra2, MODE_PCID, 2

; ---- round trips through an exception or software interrupt ----------------------------------
; The kernel side does only what a return needs: skip the faulting store (fault.pf), drop the
; error code, and under PTI switch CR3 in and out. Scratch registers go on the entry stack, which
; both page tables map. With PCID the exit's lazy-flush test reads the per-CPU area, so those
; stubs SWAPGS in and out as Linux does on every entry.
%macro EXCEPTION_RETURN 3               ; %1 name, %2 1 = #PF (skip the store, drop error code), %3 mode
section .entry.text
global exception_stub_%1
exception_stub_%1:
%assign saved 0
%if %3 == MODE_PCID
    swapgs
    push rdx
%assign saved saved + 1
%endif
%if %3 != MODE_NONE
    push rax
%assign saved saved + 1
%endif
    TO_KERNEL_CR3 rax, %3
%if %2
    add qword [rsp + 8 + 8 * saved], PF_INSN_LEN
%endif
    TO_USER_CR3 rax, rdx, %3
%if %3 != MODE_NONE
    pop rax
%endif
%if %3 == MODE_PCID
    pop rdx
    swapgs
%endif
%if %2
    add rsp, 8
%endif
    iretq
%endmacro

EXCEPTION_RETURN pf, 1, MODE_NONE
EXCEPTION_RETURN pf_pti, 1, MODE_PTI
EXCEPTION_RETURN pf_pti_pcid, 1, MODE_PCID
EXCEPTION_RETURN trap, 0, MODE_NONE
EXCEPTION_RETURN trap_pti, 0, MODE_PTI
EXCEPTION_RETURN trap_pti_pcid, 0, MODE_PCID

; ---- one-way crossings: TSC stamps inside the kernel --------------------------------------------
; u2k: the first instruction in the kernel's address space (under PTI, right after the CR3
; switch) stamps the TSC into R8; k2u: the last before leaving it stamps into R9. The ring-3
; driver stamps just before and just after the crossing (bench/user.asm). RAX and RDX are free.
%macro CROSSING 3                       ; %1 name, %2 0 syscall / 1 #PF / 2 int3 or int, %3 mode
section .entry.text
global crossing_stub_%1
crossing_stub_%1:
%if %3 == MODE_PCID
    swapgs                              ; the lazy-flush test below reads the per-CPU area
%endif
    TO_KERNEL_CR3 rax, %3
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r8, rax
%if %2 == 1
    add qword [rsp + 8], PF_INSN_LEN
    add rsp, 8
%endif
    lfence
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r9, rax
    TO_USER_CR3 rdx, rax, %3
%if %3 == MODE_PCID
    swapgs
%endif
%if %2 == 0
    o64 sysret
%else
    iretq
%endif
%endmacro

CROSSING syscall, 0, MODE_NONE
CROSSING syscall_pti, 0, MODE_PTI
CROSSING syscall_pti_pcid, 0, MODE_PCID
CROSSING pf, 1, MODE_NONE
CROSSING pf_pti, 1, MODE_PTI
CROSSING pf_pti_pcid, 1, MODE_PCID
CROSSING trap, 2, MODE_NONE
CROSSING trap_pti, 2, MODE_PTI
CROSSING trap_pti_pcid, 2, MODE_PCID

; ---- into ring 3 and back ------------------------------------------------------------------
; void ring3_enter(u64 rip, u64 rsp, u64 arg0, u64 arg1): runs user code at `rip` on stack `rsp`
; with RDI = arg0, RSI = arg1, interrupts off, until it executes int VECTOR_RING3_EXIT; then
; returns here as an ordinary function. Under PTI (per-CPU pti != 0) ring 3 runs on the user
; page tables, so the IRETQ frame is built on the entry stack, which they map.
section .entry.text
global ring3_enter
ring3_enter:
    PUSH_CALLEE_SAVED
    mov [gs:PERCPU_SAVED_RSP], rsp
    mov rsp, [gs:PERCPU_ENTRY_RSP]
    push SEL_USER_DATA | 3              ; SS
    push rsi                            ; RSP
    push 0x2                            ; RFLAGS: interrupts stay off in ring 3
    push SEL_USER_CODE | 3              ; CS
    push rdi                            ; RIP
    mov rdi, rdx
    mov rsi, rcx
    cmp qword [gs:PERCPU_PTI], 0
    je .go
    mov rax, [gs:PERCPU_USER_CR3]
    mov cr3, rax
.go:
    swapgs
    iretq

; int VECTOR_RING3_EXIT (DPL 3): back to the kernel context ring3_enter saved.
global ring3_exit_stub
ring3_exit_stub:
    swapgs
    cmp qword [gs:PERCPU_PTI], 0
    je .kernel
    mov rax, [gs:PERCPU_KERNEL_CR3]
    mov cr3, rax
.kernel:
    mov rsp, [gs:PERCPU_SAVED_RSP]
    POP_CALLEE_SAVED
    ret
