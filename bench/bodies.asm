; Code templates for the benchmark runner. Nothing here runs in place: bench/jit.cpp copies
; the prologue, U (or 2U) copies of one body, a loop branch and the epilogue into the JIT area.
;
; The generated function is called as f(JitContext* ctx) (System V: RDI = ctx). It keeps ctx in
; R15 and the loop counter in R14; a body may use RAX, RBX, RCX, RDX, RSI, RDI, RBP and R8-R13,
; loaded from ctx after the first timestamp, and must leave R14, R15 and RSP alone. Bodies must be
; position-independent (no RIP-relative operands): they are copied.
;
; Timestamps are TIMESTAMP (bench/timestamp.inc): LFENCE; RDTSC; LFENCE.

%include "bench_constants.inc"
%include "macros.inc"
%include "template.inc"
%include "timestamp.inc"

section .rodata
bits 64

TEMPLATE jit_prologue
    PUSH_CALLEE_SAVED
    mov r15, rdi
    mov r14, [r15 + JIT_ITERS]
    TIMESTAMP
    mov [r15 + JIT_T0], rax
    mov rax, [r15 + JIT_RAX]
    mov rbx, [r15 + JIT_RBX]
    mov rcx, [r15 + JIT_RCX]
    mov rdx, [r15 + JIT_RDX]
    mov rsi, [r15 + JIT_RSI]
    mov rdi, [r15 + JIT_RDI]
    mov rbp, [r15 + JIT_RBP]
    mov r8, [r15 + JIT_R8]
    mov r9, [r15 + JIT_R9]
    mov r10, [r15 + JIT_R10]
    mov r11, [r15 + JIT_R11]
    mov r12, [r15 + JIT_R12]
    mov r13, [r15 + JIT_R13]
END_TEMPLATE jit_prologue

; The loop: the runner emits `dec r14; jnz rel32` back to the first body copy.

TEMPLATE jit_epilogue
    TIMESTAMP
    mov [r15 + JIT_T1], rax
    POP_CALLEE_SAVED
    ret
END_TEMPLATE jit_epilogue

; ---- bodies: one operation each unless the table says otherwise ----

TEMPLATE body_cr3_read            ; mov from CR3
    mov rax, cr3
END_TEMPLATE body_cr3_read

TEMPLATE body_cr4_read            ; mov from CR4
    mov rax, cr4
END_TEMPLATE body_cr4_read

TEMPLATE body_cr3_write           ; RAX = the CR3 value to write
    mov cr3, rax
END_TEMPLATE body_cr3_write

TEMPLATE body_cr3_switch          ; two switches: to RAX's root, back to RBX's
    mov cr3, rax
    mov cr3, rbx
END_TEMPLATE body_cr3_switch

TEMPLATE body_invpcid             ; RAX = type, RDX -> descriptor
    invpcid rax, [rdx]
END_TEMPLATE body_invpcid

TEMPLATE body_invlpg              ; RSI = linear address
    invlpg [rsi]
END_TEMPLATE body_invlpg

TEMPLATE body_cr4_toggle          ; RAX = CR4 without PGE, RBX = CR4 with PGE: one global flush
    mov cr4, rax
    mov cr4, rbx
END_TEMPLATE body_cr4_toggle

section .text
; ---- one timed pass over RSI pages from RDI; returns the ticks in RAX ----
; Identical instructions every call, so "after a flush" minus "warm" cancels exactly under an
; instruction-counting TSC and leaves only the refill cost on real hardware. Page i is touched at
; offset (i * TOUCH_LINE_STRIDE) mod TOUCH_PAGE (bench/refill.h: a different cache line per page).
; %2 touches one page; RCX starts at 0 (the first page's offset).
%macro TIMED_PASS 2                     ; %1 name, %2 the macro that touches one page
global %1
%1:
    TIMESTAMP
    mov r8, rax
    xor ecx, ecx
    test rsi, rsi
    jz %%done
%%next:
    %2
    dec rsi
    jnz %%next
%%done:
    TIMESTAMP
    sub rax, r8
    ret
%endmacro

; Independent loads, as many in flight as the core allows (refill throughput): the address from
; RDI and the offset in RCX, both counted.
%macro TOUCH_INDEPENDENT 0
    mov al, [rdi + rcx]
    add rdi, TOUCH_PAGE
    add ecx, TOUCH_LINE_STRIDE
    and ecx, TOUCH_PAGE - 1
%endmacro

; A pointer chase (refill latency): each load's address is the value the previous one read (the
; chain written by write_chase_chain, relative to RDI), so one refill at a time.
%macro TOUCH_CHASE 0
    mov rcx, [rdi + rcx]
%endmacro

TIMED_PASS time_touch_pages, TOUCH_INDEPENDENT
TIMED_PASS time_chase_pages, TOUCH_CHASE

; The PMU self-test's block (bench/counters.cpp): u64 pmu_selftest_block(u64 iterations), RDI >= 1.
; Each iteration retires exactly two instructions (DEC, JNZ: macro-fusion fuses them in the
; pipeline, but retirement still counts two), so two calls differ by 2 * (their difference).
global pmu_selftest_block
pmu_selftest_block:
.loop:
    dec rdi
    jnz .loop
    ret
