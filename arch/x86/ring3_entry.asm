; The way into ring 3 and back for the kernel's ring-3 code (the benchmarks' entry stubs are in
; bench/entries.asm). Runs from .entry.text: under PTI, ring 3 runs on the user page tables, which
; map only the entry area.

%include "arch_constants.inc"
%include "macros.inc"

bits 64

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
