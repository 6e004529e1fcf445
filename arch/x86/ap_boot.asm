; The application processors' way from a STARTUP IPI to ap_main (kernel/smp.cpp).
;
; ap_trampoline_start .. ap_trampoline_end is not run where it is linked: the boot CPU copies it
; to a 4 KiB frame below 1 MiB (kernel/smp.cpp), writes the parameter block at AP_PARAMS_OFFSET
; in that page (arch/x86/ap_boot.h) and sends STARTUP with the page's number as the vector. The
; AP then starts in real mode at CS:IP = page:0 (SDM Vol.3 9.4.4.1), interrupts off, with the
; reset state of every other register. It goes straight to 64-bit mode (PAE, the kernel's CR3,
; EFER.LME, then CR0.PE and PG together; SDM Vol.3 10.8.5) and far-jumps to ap_long_mode in the
; kernel text. Only that far jump is fetched through paging from the trampoline page, which the
; boot CPU maps executable for the bring-up.

%include "arch_constants.inc"

section .rodata
bits 16
global ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
    cli
    cld
    mov ax, cs                 ; DS = CS: the parameter block is at DS:AP_PARAMS_OFFSET
    mov ds, ax
    xor esi, esi               ; ESI = the trampoline's linear address, for ap_long_mode
    mov si, ax
    shl esi, 4
    o32 lgdt [AP_PARAMS_OFFSET + AP_PARAMS_GDTR]
    mov eax, BOOT_CR4          ; PAE and SSE, as the boot stub (the kernel's CR4 comes in ap_main)
    mov cr4, eax
    mov eax, [AP_PARAMS_OFFSET + AP_PARAMS_CR3]
    mov cr3, eax
    mov ecx, MSR_EFER
    mov eax, [AP_PARAMS_OFFSET + AP_PARAMS_EFER]
    xor edx, edx
    wrmsr
    mov eax, BOOT_CR0          ; PE and PG at once: from real mode into IA-32e mode
    mov cr0, eax
    o32 jmp far [AP_PARAMS_OFFSET + AP_PARAMS_FAR]   ; CS = the 64-bit code segment
ap_trampoline_end:
%if ap_trampoline_end - ap_trampoline_start > AP_PARAMS_OFFSET
%error "the AP trampoline overlaps its parameter block"
%endif

section .text
bits 64
global ap_long_mode
extern ap_main
; In 64-bit mode on the trampoline's GDT; ESI the trampoline's linear address (the upper halves
; of the registers are undefined after the switch: ESI is zero-extended first).
ap_long_mode:
    mov esi, esi
    mov ax, SEL_KERNEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, [rsi + AP_PARAMS_OFFSET + AP_PARAMS_STACK_TOP]
    mov rdi, [rsi + AP_PARAMS_OFFSET + AP_PARAMS_CPU]
    xor ebp, ebp
    call ap_main               ; never returns
.halt:
    cli
    hlt
    jmp .halt
