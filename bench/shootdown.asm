; A shootdown target's next return to user space (bench/shootdown.cpp, docs/benchmarks.md
; "TLB shootdowns"): the CR3 switch the PTI exit makes (TO_USER_CR3, arch/x86/pti.inc: with PCID
; a flush of the user PCID when the lazy flag is set, NOFLUSH otherwise; without PCID a plain
; write, which flushes), reads of the shot pages through the user half, as user space would touch
; them, each compared with the magic value the current mapping must show, and the switch back
; (TO_KERNEL_CR3). Ring 0 all along: the APs have no ring 3 of their own, so this runs from
; .entry.text, the only text the user tables map, and touches no stack, no per-CPU data and no
; kernel data while on the user tables. Each AP's entry part (GDT, TSS, IST and entry stacks,
; per-CPU area) is mapped there, so an NMI or #MC meanwhile enters through its IST stack as on the
; boot CPU; interrupts must be off (one would push onto the AP's kernel stack, which is not).
;
; In:  RDI = the first page's address, RSI = pages (> 0), RDX = the magic the first page must hold;
;      page i must hold RDX + 2 i (bench/shootdown.cpp magic()). With SMAP, RFLAGS.AC = 1 (the
;      pages are user pages).
; Out: RAX = how many pages read something else, RDX = the first of them (its index; 0 if none).
; Clobbers RCX, RSI, RDI, R8, R9, R10, R11.

%include "arch_constants.inc"
%include "pti.inc"

%macro SHOOT_USER_VISIT 2               ; %1 name, %2 entry scheme
section .entry.text
global shoot_user_visit_%1
shoot_user_visit_%1:
    xor r8d, r8d                        ; stale pages
    xor r9d, r9d                        ; the first stale page
    xor r10d, r10d                      ; page index
    TO_USER_CR3 rax, rcx, %2
%%page:
    cmp [rdi], rdx
    je %%fresh
    test r8, r8
    jnz %%counted
    mov r9, r10
%%counted:
    inc r8
%%fresh:
    add rdi, 4096
    add rdx, 2
    inc r10
    cmp r10, rsi
    jb %%page
    TO_KERNEL_CR3 rax, %2
    mov rax, r8
    mov rdx, r9
    ret
%endmacro

SHOOT_USER_VISIT pti, ENTRY_PTI
SHOOT_USER_VISIT pcid, ENTRY_PCID
