; Multiboot2 entry: the multiboot2 header, the 32-bit entry GRUB jumps to, and the switch to
; 64-bit long mode. On entry (Multiboot2 spec 3.3): 32-bit protected mode, paging off,
; EAX = 0x36d76289, EBX = physical address of the boot information, interrupts off, no stack.
;
; The early page tables identity-map the first 4 GiB with 2 MiB pages: enough for the kernel,
; the boot information and the screen until kmain builds the real tables.

%include "arch_constants.inc"

MB2_MAGIC     equ 0xe85250d6
MB2_ARCH_I386 equ 0

section .multiboot
align 8
mb2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd mb2_header_end - mb2_header
    dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
    ; Framebuffer tag (type 5), optional, no preferred geometry: without it GRUB passes no
    ; framebuffer under UEFI. By BIOS, grub.cfg's gfxpayload=text keeps the VGA text mode.
    align 8
    dw 5, 1            ; type 5, flags: optional
    dd 20
    dd 0, 0, 0         ; width, height, depth: no preference
    align 8
    dw 0, 0            ; end tag
    dd 8
mb2_header_end:

section .boot.text progbits alloc exec nowrite
bits 32
global _start
_start:
    cli
    cld
    mov esp, boot_stack_top
    mov [boot_magic], eax
    mov [boot_info], ebx

    ; CPUID exists when EFLAGS.ID can be toggled.
    pushfd
    pop eax
    mov ecx, eax
    xor eax, 1 << 21
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    cmp eax, ecx
    je .no_long_mode

    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29          ; LM
    jz .no_long_mode
    mov [boot_ext_edx], edx

    ; PML4[0] -> PDPT; PDPT[0..3] -> four page directories of 2 MiB pages covering 0..4 GiB.
    mov eax, early_pdpt
    or eax, 0x3
    mov [early_pml4], eax
    mov edi, early_pdpt
    mov eax, early_pd
    or eax, 0x3
    mov ecx, 4
.fill_pdpt:
    mov [edi], eax
    add edi, 8
    add eax, 4096
    loop .fill_pdpt
    mov edi, early_pd
    xor eax, eax
    xor edx, edx
    mov ecx, 2048
.fill_pd:
    mov ebx, eax
    or ebx, 0x83               ; present, writable, 2 MiB
    mov [edi], ebx
    mov [edi + 4], edx
    add edi, 8
    add eax, 0x200000
    adc edx, 0
    loop .fill_pd

    ; CR0, CR4 and EFER get known values (arch/x86/cpu_state.h), not the firmware's with bits
    ; OR-ed in: whatever it left set (CR4.LA57 or TSD, CR0.TS or CD, EFER.FFXSR) is cleared.
    ; CR4: PAE, and SSE (OSFXSR, OSXMMEXCPT) for the C++ code that uses doubles.
    mov eax, BOOT_CR4
    mov cr4, eax
    mov eax, early_pml4
    mov cr3, eax

    ; EFER: long mode enable, and no-execute where the CPU has it (CPUID.80000001H:EDX[20]).
    mov ecx, MSR_EFER
    mov eax, BOOT_EFER
    xor edx, edx
    test dword [boot_ext_edx], 1 << 20
    jz .no_nx
    or eax, EFER_NXE
.no_nx:
    wrmsr

    ; CR0: paging, write-protect in ring 0, FPU/SSE usable (MP set, EM and TS clear), caches on.
    mov eax, BOOT_CR0
    mov cr0, eax

    lgdt [early_gdt_ptr]
    jmp SEL_KERNEL_CODE:long_mode_entry

.no_long_mode:
    ; A CPU without long mode: say so on serial and screen, ask the emulators to stop, halt.
    ; Never a triple fault.
    mov dx, 0x3f9              ; COM1 IER = 0
    xor al, al
    out dx, al
    mov dx, 0x3fb              ; LCR: DLAB
    mov al, 0x80
    out dx, al
    mov dx, 0x3f8              ; divisor 1 = 115200 baud
    mov al, 1
    out dx, al
    mov dx, 0x3f9
    xor al, al
    out dx, al
    mov dx, 0x3fb              ; 8N1
    mov al, 0x03
    out dx, al
    mov esi, no_lm_msg
    mov edi, 0xb8000
.print:
    lodsb
    test al, al
    jz .printed
    mov bl, al
    mov dx, 0x3fd              ; wait (bounded) for the transmitter
    mov ecx, 100000
.wait_thr:
    in al, dx
    test al, 0x20
    jnz .send
    loop .wait_thr
.send:
    mov dx, 0x3f8
    mov al, bl
    out dx, al
    cmp bl, 10
    je .print
    cmp bl, 13
    je .print
    mov [edi], bl
    mov byte [edi + 1], 0x4f   ; white on red
    add edi, 2
    jmp .print
.printed:
    mov dx, 0x3fd              ; drain: wait for TEMT so the emulators' logs keep every byte
    mov ecx, 1000000
.drain:
    in al, dx
    test al, 0x40
    jnz .exit
    loop .drain
.exit:
    mov dx, 0xf4               ; QEMU isa-debug-exit: 1 = failure
    mov eax, 1
    out dx, eax
    mov dx, 0x8900             ; Bochs shutdown port
    mov esi, shutdown_str
.shutdown:
    lodsb
    test al, al
    jz .halt
    out dx, al
    jmp .shutdown
.halt:
    cli
    hlt
    jmp .halt

bits 64
long_mode_entry:
    mov ax, SEL_KERNEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax
    mov rsp, kernel_stack_top
    xor ebp, ebp
    mov edi, [boot_magic]      ; kmain(magic, boot information)
    mov esi, [boot_info]
    extern kmain
    call kmain
.hang:
    cli
    hlt
    jmp .hang

section .rodata
no_lm_msg:
    db 13, 10, "ptibench: this CPU has no 64-bit long mode (CPUID 80000001h:EDX[29] clear);", 13, 10
    db "ptibench needs an x86-64 CPU. Halting.", 13, 10, 0
shutdown_str:
    db "Shutdown", 0

align 8
early_gdt:
    dq 0
    dq 0x00af9b000000ffff      ; 0x08 kernel code, 64-bit
    dq 0x00cf93000000ffff      ; 0x10 kernel data
early_gdt_end:
early_gdt_ptr:
    dw early_gdt_end - early_gdt - 1
    dq early_gdt

section .data
boot_magic:   dd 0
boot_info:    dd 0
boot_ext_edx: dd 0

section .bss
alignb 4096
early_pml4: resb 4096
early_pdpt: resb 4096
early_pd:   resb 4 * 4096
boot_stack: resb 1024
boot_stack_top:

; The kernel stack, with an unmapped guard page below it (kmain maps the kernel with 4 KiB
; pages and leaves the guard out), so an overflow faults into the double-fault IST stack.
alignb 4096
global kernel_stack_guard, kernel_stack_bottom, kernel_stack_top
kernel_stack_guard: resb 4096
kernel_stack_bottom: resb KERNEL_STACK_SIZE
kernel_stack_top:
