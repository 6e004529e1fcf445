; The address-space switching lab (bench/aspace.cpp, bench/asid_policy.h): the kernel's pieces of
; a slice, the ring-3 half of a slice, and the lab's null system call, which touches the Kk kernel
; pages and checks the kernel page that every address space shares (the one the kernel flushes
; are about) on both halves of the process's tables.
;
; Every path here has a fixed length for each decision; bench/aspace_paths.h counts them
; instruction by instruction, so keep the two in step (the boot tests check every slice).
;
; The system call's register convention is the suite's (bench/entries.asm): RAX = 0 in and out,
; RCX and R11 clobbered by the instruction, RDX by the kernel; everything else survives.

%include "arch_constants.inc"
%include "bench_constants.inc"
%include "pti.inc"
%include "template.inc"
%include "timestamp.inc"

bits 64

; What the kernel side reads and writes (defined in bench/aspace.cpp; the four of the shared page
; in .entry.data, which the user half maps).
extern aspace_kk_base                   ; the first of the Kk kernel pages
extern aspace_kk_count                  ; Kk
extern aspace_shared_page               ; the shared kernel page ...
extern aspace_shared_magic              ; ... and the magic it must hold now
extern aspace_kernel_stale              ; reads of the shared page that saw another magic
extern aspace_kernel_bad                ; the last such value
extern aspace_user_flush                ; the lazy user-flush mask, a bit per kernel PCID
extern ring3_enter                      ; arch/x86/ring3_entry.asm

; ---- the kernel's pieces of a slice -------------------------------------------------------------
; u64 aspace_piece(SliceOps* ops, int which): one piece (aspace::Piece: flush, switch, the ring-3
; part, or none) between two TIMESTAMPs, stored in ops->t0 and ops->t1; returns 0. The piece is
; picked before the first stamp, so every piece pays the same one `jmp r13` inside the stamps
; and `none` measures exactly the stamps' own share. Callee-saved registers survive (ring3_enter
; keeps them too); the signature is counters::counted()'s.
section .text
global aspace_piece
aspace_piece:
    push rbx
    push r12
    push r13
    mov r12, rdi
    mov r13d, esi
    lea rax, [rel aspace_piece_table]
    mov r13, [rax + r13 * 8]
    TIMESTAMP
    mov rbx, rax
    jmp r13
.flush:                                 ; INVPCID type 0 over the descriptors, then INVLPG
    mov rcx, [r12 + ASX_INVPCIDS]
    mov rsi, [r12 + ASX_DESC]
    xor eax, eax
    test rcx, rcx
    jz .invlpg
.invpcid:
    invpcid rax, [rsi]
    add rsi, 16
    dec rcx
    jnz .invpcid
.invlpg:
    mov rcx, [r12 + ASX_INVLPG]
    test rcx, rcx
    jz .end
    invlpg [rcx]
    jmp .end
.switch:                                ; the kernel CR3 of the next process, if the policy writes it
    cmp qword [r12 + ASX_WRITE_CR3], 0
    je .end
    mov rax, [r12 + ASX_CR3]
    mov cr3, rax
    jmp .end
.user:                                  ; ring 3 (aspace_slice) and back to the kernel CR3
    mov rdi, [r12 + ASX_USER_RIP]
    mov rsi, [r12 + ASX_USER_RSP]
    mov rdx, [r12 + ASX_USER_ARG]
    mov rcx, [r12 + ASX_USER_FN]
    call ring3_enter
.end:
    TIMESTAMP
    mov [r12 + ASX_T0], rbx
    mov [r12 + ASX_T1], rax
    pop r13
    pop r12
    pop rbx
    xor eax, eax
    ret

section .rodata
align 8
aspace_piece_table:                     ; by aspace::Piece
    dq aspace_piece.flush, aspace_piece.switch, aspace_piece.user, aspace_piece.end

; ---- the ring-3 half of a slice ----------------------------------------------------------------
; RDI = the UserContext (bench/asid_policy.h). Reads each working-set page and compares it with
; its magic (a mismatch is a stale read: counted, the first one kept), then `calls` system calls.
section .rodata
TEMPLATE aspace_slice
    mov r8, [rdi + ASP_BASE]
    mov r9, [rdi + ASP_PAGES]
    mov r10, [rdi + ASP_MAGIC]
.touch:
    mov rax, [r8]
    cmp rax, r10
    jne .stale
.next:
    add r8, 4096
    inc r10
    dec r9
    jnz .touch
    mov r9, [rdi + ASP_CALLS]
    test r9, r9
    jz .done
.call:
    xor eax, eax
    syscall
    dec r9
    jnz .call
.done:
    ret
.stale:
    inc qword [rdi + ASP_STALE]
    cmp qword [rdi + ASP_STALE], 1
    jne .next
    mov [rdi + ASP_BAD_VALUE], rax
    mov rax, r10
    sub rax, [rdi + ASP_MAGIC]
    mov [rdi + ASP_BAD_PAGE], rax
    jmp .next
END_TEMPLATE aspace_slice

; ---- the lab's system call, per entry scheme ------------------------------------------------------
; As syscall.pti / syscall.pti.pcid (bench/entries.asm), reading the shared kernel page on the
; user half first, with stage 2 touching the Kk pages and reading the shared kernel page on the
; process's kernel tables and PCID; the exit's lazy-flush test reads the lab's own mask.
%macro ASPACE_SYSCALL 2                 ; %1 name, %2 entry scheme
section .entry.text
BENCH_ENTRY aspace_syscall_%1
    swapgs
    mov [gs:PERCPU_USER_RSP], rsp
    ; The shared kernel page on the user half (both halves map it, as Linux's entry area): RSP is
    ; free, the user's is saved.
    mov rsp, [rel aspace_shared_page]
    mov rsp, [rsp]
    cmp rsp, [rel aspace_shared_magic]
    je %%user_fresh
    inc qword [rel aspace_kernel_stale]
    mov [rel aspace_kernel_bad], rsp
%%user_fresh:
    TO_KERNEL_CR3 rsp, %2
    mov rsp, [gs:PERCPU_KERNEL_RSP]
    push rcx                            ; user RIP
    push r11                            ; user RFLAGS
    push rdi
    mov rdi, aspace_stage2_%1           ; absolute: the way into kernel-only text
    jmp rdi
section .text
aspace_stage2_%1:
    push rsi
    mov rdi, [rel aspace_kk_base]
    mov rsi, [rel aspace_kk_count]
    test rsi, rsi
    jz %%check
%%touch:
    mov dl, [rdi]
    add rdi, 4096
    dec rsi
    jnz %%touch
%%check:
    mov rdi, [rel aspace_shared_page]
    mov rdi, [rdi]
    cmp rdi, [rel aspace_shared_magic]
    je %%fresh
    inc qword [rel aspace_kernel_stale]
    mov [rel aspace_kernel_bad], rdi
%%fresh:
    pop rsi
    pop rdi
    xor eax, eax
    jmp aspace_exit_%1
section .entry.text
aspace_exit_%1:
    pop r11
    pop rcx
    TO_USER_CR3 rdx, rsp, %2, [rel aspace_user_flush]
    mov rsp, [gs:PERCPU_USER_RSP]
    swapgs
    o64 sysret
%endmacro

ASPACE_SYSCALL pti, ENTRY_PTI
ASPACE_SYSCALL pcid, ENTRY_PCID
