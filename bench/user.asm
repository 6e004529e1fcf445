; Ring-3 code templates. Like bodies.asm, nothing here runs in place: bench/user_space.cpp copies it
; into the user code pages (user-accessible, and mapped in the PTI user page tables), where the
; kernel's own text is not reachable.

%include "arch_constants.inc"
%include "bench_constants.inc"
%include "macros.inc"
%include "template.inc"
%include "timestamp.inc"

section .rodata
bits 64

; Where ring3_enter lands: RDI = context, RSI = the function to run. When it returns, hand the
; CPU back to the kernel.
TEMPLATE user_main
    call rsi
    int VECTOR_RING3_EXIT
END_TEMPLATE user_main

; ---- bodies for the unrolled loop, run in ring 3 ----
TEMPLATE body_syscall                   ; a null system call (RAX = 0)
    syscall
END_TEMPLATE body_syscall

TEMPLATE body_store_fault               ; RBX = an address mapped nowhere: #PF, skipped by the kernel
    mov [rbx], al
END_TEMPLATE body_store_fault

TEMPLATE body_int3
    int3
END_TEMPLATE body_int3

TEMPLATE body_int_soft
    int VECTOR_SOFT
END_TEMPLATE body_int_soft

; A system call, then touch R12 user pages from RBX: what a TLB flush costs afterwards.
TEMPLATE body_syscall_touch
    syscall
    mov rdi, rbx
    mov rsi, r12
.next:
    mov dl, [rdi]
    add rdi, 4096
    dec rsi
    jnz .next
END_TEMPLATE body_syscall_touch

TEMPLATE user_read_fn                   ; RDI = the address; returns normally if nothing faults
    mov rbx, rdi
    mov al, [rbx]
    ret
END_TEMPLATE user_read_fn

; ---- one-way crossing drivers ----
; For each of COUNT crossings: stamp, cross, stamp; the kernel stub stamps into R8 (entry) and
; R9 (exit). Stores u2k = R8 - before and k2u = after - R9 into the two arrays. Every stamp on
; either side is the fenced TIMESTAMP, whatever the entry scheme (docs/method.md, "Timestamps").
; %3 is the stamp (bench/timestamp.inc): TIMESTAMP for the tick pass; for the counter passes
; PMC_STAMP or its test-only fake FAKE_TSC_STAMP, with R10 = RDPMC's counter from the context
; (loaded once, before the loop: no crossing touches R10).
%macro CROSSING_DRIVER 3                ; %1 name, %2 the crossing instruction, %3 the stamp
TEMPLATE crossing_driver_%1
    PUSH_CALLEE_SAVED
    mov r15, rdi
%ifnidn %3, TIMESTAMP
    mov r10, [r15 + XING_PMC]
%endif
    mov r14, [r15 + XING_COUNT]
    mov rbx, [r15 + XING_FAULT]
    mov rbp, [r15 + XING_U2K]
    mov r13, [r15 + XING_K2U]
%%next:
    %3
    mov r12, rax
    %2
    %3
    sub rax, r9
    mov [r13], rax
    mov rax, r8
    sub rax, r12
    mov [rbp], rax
    add rbp, 8
    add r13, 8
    dec r14
    jnz %%next
    POP_CALLEE_SAVED
    ret
END_TEMPLATE crossing_driver_%1
%endmacro

CROSSING_DRIVER syscall, syscall, TIMESTAMP
CROSSING_DRIVER pf, {mov [rbx], al}, TIMESTAMP
CROSSING_DRIVER int3, int3, TIMESTAMP
CROSSING_DRIVER int, {int VECTOR_SOFT}, TIMESTAMP

; The counter passes' drivers: the same loops, every stamp a counter read.
CROSSING_DRIVER pmc_syscall, syscall, PMC_STAMP
CROSSING_DRIVER pmc_pf, {mov [rbx], al}, PMC_STAMP
CROSSING_DRIVER pmc_int3, int3, PMC_STAMP
CROSSING_DRIVER pmc_int, {int VECTOR_SOFT}, PMC_STAMP

; ... and their test-only fake (crossing_counters=fake-tsc).
CROSSING_DRIVER fake_syscall, syscall, FAKE_TSC_STAMP
CROSSING_DRIVER fake_pf, {mov [rbx], al}, FAKE_TSC_STAMP
CROSSING_DRIVER fake_int3, int3, FAKE_TSC_STAMP
CROSSING_DRIVER fake_int, {int VECTOR_SOFT}, FAKE_TSC_STAMP
