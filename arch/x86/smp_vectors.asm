; The local-APIC interrupt stubs (vectors in arch/x86/layout.h). They arrive only in ring 0 on the
; kernel's GS and CR3 (a CPU enables interrupts only while it waits halted, kernel/smp.cpp), so
; they need no SWAPGS or CR3 switch, and they save only what they use.

%include "arch_constants.inc"

extern apic_eoi_x2apic, apic_eoi_register, ipi_call_handler

; End of interrupt: WRMSR to the x2APIC's EOI MSR, or a store to the xAPIC's EOI register
; (SDM Vol.3 11.8.5). Uses RAX, RCX, RDX.
%macro APIC_EOI 0
    cmp qword [rel apic_eoi_x2apic], 0
    je %%xapic
    mov ecx, MSR_X2APIC_EOI
    xor eax, eax
    xor edx, edx
    wrmsr
    jmp %%done
%%xapic:
    mov rax, [rel apic_eoi_register]
    mov dword [rax], 0
%%done:
%endmacro

section .data
align 64
global ipi_ping_request, ipi_ping_answer
ipi_ping_request: dq 0         ; written by the pinging CPU before it sends the ping
align 64
ipi_ping_answer:  dq 0         ; the ping's handler copies the request here
align 64

section .text
bits 64
global ipi_wake_stub, ipi_ping_stub, ipi_call_stub, apic_spurious_stub

; The wake-up: the interrupted HLT returns and the CPU looks at its mailbox.
ipi_wake_stub:
    push rax
    push rcx
    push rdx
    APIC_EOI
    pop rdx
    pop rcx
    pop rax
    iretq

; The IPI round trip's target: answers through memory, then EOI.
ipi_ping_stub:
    push rax
    push rcx
    push rdx
    mov rax, [rel ipi_ping_request]
    mov [rel ipi_ping_answer], rax
    APIC_EOI
    pop rdx
    pop rcx
    pop rax
    iretq

; A call: ipi_call_handler (C++, System V ABI) with every caller-saved general register kept.
; The CPU aligned RSP to 16 before its 40-byte frame; 9 pushes make it 16-aligned again for
; the call. The handler must not touch SSE state (it only invalidates TLB entries and counts).
ipi_call_stub:
    push rax
    push rcx
    push rdx
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    mov rax, [rel ipi_call_handler]
    test rax, rax
    jz .no_handler
    cld
    call rax
.no_handler:
    APIC_EOI
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rax
    iretq

; Spurious interrupts get no EOI (SDM Vol.3 11.9).
apic_spurious_stub:
    iretq
