; Exception entry stubs for the 32 architectural vectors. They live in .entry.text, the page(s) the PTI user page tables map, because an
; exception from ring 3 under PTI arrives with the user tables still loaded.
;
; On entry the CPU has pushed (SDM Vol.3 6.14.2) SS, RSP, RFLAGS, CS, RIP, and for some vectors
; an error code; RSP is 16-byte aligned before those pushes. Each stub pushes a dummy error code
; where the CPU does not, then the vector number, and joins trap_common, which pushes the general
; registers to complete a TrapFrame (arch/x86/layout.h) and calls trap_dispatch(frame).

%include "arch_constants.inc"

; Under PTI, load the per-CPU CR3 value at offset %1 (PERCPU_KERNEL_CR3 on entry from ring 3,
; PERCPU_USER_CR3 on the way back). Needs GS = per-CPU (after the entry SWAPGS, before the exit
; one); preserves every register (RAX goes through the per-CPU scratch slot).
%macro LOAD_PTI_CR3 1
    cmp qword [gs:PERCPU_PTI], 0
    je %%done
    mov [gs:PERCPU_SCRATCH], rax
    mov rax, [gs:%1]
    mov cr3, rax
    mov rax, [gs:PERCPU_SCRATCH]
%%done:
%endmacro

; ---- NMI and machine check: "paranoid" entries, as Linux's paranoid_entry/paranoid_exit -------
; They can arrive anywhere: in ring 3; in ring 0 on the kernel CR3; in ring 0 inside the entry
; area on the user CR3 and with the user's GS (between a SYSCALL and its SWAPGS, in ring3_enter
; after its CR3 write, in an exception stub...); so GS and CR3 are judged from the machine state,
; not from the saved CS. Both run on their own IST stacks (TSS IST2 and IST3), mapped in the PTI
; user tables.
;
; PARANOID_ENTER saves RAX, RCX, RDX, RBX and leaves in RBX: bit 0 = SWAPGS done (IA32_GS_BASE
; was 0, the user's: ring 3 never sets one), bit 1 = CR3 switched to the kernel half (it was a PTI
; user half, bit 12 set; the interrupted CR3 is pushed). With CR4.PCIDE the switch and the way
; back set NOFLUSH, so neither PCID loses its translations (Linux's RESTORE_CR3 does the same);
; without PCID bit 63 is reserved and a switch flushes as any CR3 write does.
%macro PARANOID_ENTER 0
    push rax
    push rcx
    push rdx
    push rbx
    xor ebx, ebx
    mov ecx, MSR_GS_BASE
    rdmsr
    or eax, edx
    jnz %%gs_ok
    swapgs
    or ebx, 1
%%gs_ok:
    mov rax, cr3
    bt rax, PTI_USER_PGD_BIT
    jnc %%cr3_ok
    push rax
    and rax, ~PTI_SWITCH_MASK
    SET_NOFLUSH_IF_PCIDE rax, rdx
    mov cr3, rax
    or ebx, 2
%%cr3_ok:
%endmacro

%macro PARANOID_EXIT 0
    test ebx, 2
    jz %%cr3_back
    pop rax
    SET_NOFLUSH_IF_PCIDE rax, rdx
    mov cr3, rax
%%cr3_back:
    test ebx, 1
    jz %%gs_back
    swapgs
%%gs_back:
    pop rbx
    pop rdx
    pop rcx
    pop rax
%endmacro

%macro SET_NOFLUSH_IF_PCIDE 2           ; %1 the CR3 value, %2 scratch
    mov %2, cr4
    bt %2, CR4_PCIDE_BIT
    jnc %%no_pcid
    bts %1, CR3_NOFLUSH_BIT
%%no_pcid:
%endmacro

%macro STUB_NO_ERROR 1
trap_stub_%1:
    push 0                     ; error_code (none for this vector)
    push %1                    ; vector
    jmp trap_common
%endmacro

%macro STUB_ERROR 1
trap_stub_%1:
    push %1                    ; vector; the CPU pushed error_code
    jmp trap_common
%endmacro

section .entry.text progbits alloc exec nowrite
bits 64
align 16

STUB_NO_ERROR 0
STUB_NO_ERROR 1
trap_stub_2:                   ; NMI: counted per CPU and returned from, in any state
    PARANOID_ENTER
    inc qword [gs:PERCPU_NMI_COUNT]
    PARANOID_EXIT
    iretq
STUB_NO_ERROR 3
STUB_NO_ERROR 4
STUB_NO_ERROR 5
STUB_NO_ERROR 6
STUB_NO_ERROR 7
STUB_ERROR    8
STUB_NO_ERROR 9
STUB_ERROR    10
STUB_ERROR    11
STUB_ERROR    12
STUB_ERROR    13
STUB_ERROR    14
STUB_NO_ERROR 15
STUB_NO_ERROR 16
STUB_ERROR    17
trap_stub_18:                  ; #MC: to the fault report (it never returns) on the kernel's GS and CR3
    PARANOID_ENTER
    test ebx, 2
    jz .mc_no_cr3
    add rsp, 8                 ; the interrupted CR3: nobody returns to it
.mc_no_cr3:
    pop rbx
    pop rdx
    pop rcx
    pop rax
    push 0                     ; error_code
    push 18                    ; vector
    jmp trap_save_and_dispatch
STUB_NO_ERROR 19
STUB_NO_ERROR 20
STUB_ERROR    21
STUB_NO_ERROR 22
STUB_NO_ERROR 23
STUB_NO_ERROR 24
STUB_NO_ERROR 25
STUB_NO_ERROR 26
STUB_NO_ERROR 27
STUB_NO_ERROR 28
STUB_ERROR    29
STUB_ERROR    30
STUB_NO_ERROR 31

; RSP points at the TrapFrame's vector slot here (the error code above it, then the CPU's RIP,
; CS, ...) and again after the general registers are popped; CS.RPL says where the trap came
; from (SDM Vol.3 6.14.2: the CPU pushes its frame in 64-bit mode whatever the privilege).
trap_common:
    test byte [rsp + TRAPFRAME_VECTOR_TO_CS], 3
    jz trap_save_and_dispatch
    swapgs
    LOAD_PTI_CR3 PERCPU_KERNEL_CR3
trap_save_and_dispatch:        ; on the kernel's GS and (under PTI) CR3 from here
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp               ; TrapFrame*; still 16-byte aligned (TRAPFRAME_SIZE is a multiple of 16)
    cld
    extern trap_dispatch
    call trap_dispatch
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    test byte [rsp + TRAPFRAME_VECTOR_TO_CS], 3
    jz .to_kernel
    LOAD_PTI_CR3 PERCPU_USER_CR3
    swapgs
.to_kernel:
    add rsp, TRAPFRAME_VECTOR_TO_RIP   ; drop the vector and the error code
    iretq

section .rodata
align 8
global trap_stub_table
trap_stub_table:
%assign i 0
%rep 32
    dq trap_stub_%[i]
%assign i i + 1
%endrep
