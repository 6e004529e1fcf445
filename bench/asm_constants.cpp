// The offsets bench/bodies.asm and bench/user.asm use and the refill passes' stride, generated
// into bench_constants.inc at kernel build time from bench/jit.h and bench/refill.h (see
// arch/x86/asm_constants.h). Compiled to assembly only; never linked.
#include "arch/x86/asm_constants.h"

#include <stddef.h>

#include "bench/asid_policy.h"
#include "bench/jit.h"
#include "bench/refill.h"

using ptb::bench::CrossingContext;
using ptb::bench::JitContext;
using ptb::bench::aspace::SliceOps;
using ptb::bench::aspace::UserContext;

extern "C" void ptb_bench_asm_constants() {
  PTB_ASM_CONSTANT(JIT_ITERS, offsetof(JitContext, iters));
  PTB_ASM_CONSTANT(JIT_T0, offsetof(JitContext, t0));
  PTB_ASM_CONSTANT(JIT_T1, offsetof(JitContext, t1));
  PTB_ASM_CONSTANT(JIT_RAX, offsetof(JitContext, rax));
  PTB_ASM_CONSTANT(JIT_RBX, offsetof(JitContext, rbx));
  PTB_ASM_CONSTANT(JIT_RCX, offsetof(JitContext, rcx));
  PTB_ASM_CONSTANT(JIT_RDX, offsetof(JitContext, rdx));
  PTB_ASM_CONSTANT(JIT_RSI, offsetof(JitContext, rsi));
  PTB_ASM_CONSTANT(JIT_RDI, offsetof(JitContext, rdi));
  PTB_ASM_CONSTANT(JIT_RBP, offsetof(JitContext, rbp));
  PTB_ASM_CONSTANT(JIT_R8, offsetof(JitContext, r8));
  PTB_ASM_CONSTANT(JIT_R9, offsetof(JitContext, r9));
  PTB_ASM_CONSTANT(JIT_R10, offsetof(JitContext, r10));
  PTB_ASM_CONSTANT(JIT_R11, offsetof(JitContext, r11));
  PTB_ASM_CONSTANT(JIT_R12, offsetof(JitContext, r12));
  PTB_ASM_CONSTANT(JIT_R13, offsetof(JitContext, r13));

  PTB_ASM_CONSTANT(XING_COUNT, offsetof(CrossingContext, count));
  PTB_ASM_CONSTANT(XING_FAULT, offsetof(CrossingContext, fault));
  PTB_ASM_CONSTANT(XING_U2K, offsetof(CrossingContext, u2k));
  PTB_ASM_CONSTANT(XING_K2U, offsetof(CrossingContext, k2u));
  PTB_ASM_CONSTANT(XING_PMC, offsetof(CrossingContext, pmc));

  PTB_ASM_CONSTANT(TOUCH_PAGE, ptb::bench::kTouchPage);
  PTB_ASM_CONSTANT(TOUCH_LINE_STRIDE, ptb::bench::kTouchLineStride);
  PTB_ASM_CONSTANT(ASP_BASE, offsetof(UserContext, base));
  PTB_ASM_CONSTANT(ASP_PAGES, offsetof(UserContext, pages));
  PTB_ASM_CONSTANT(ASP_MAGIC, offsetof(UserContext, magic));
  PTB_ASM_CONSTANT(ASP_CALLS, offsetof(UserContext, calls));
  PTB_ASM_CONSTANT(ASP_STALE, offsetof(UserContext, stale));
  PTB_ASM_CONSTANT(ASP_BAD_PAGE, offsetof(UserContext, bad_page));
  PTB_ASM_CONSTANT(ASP_BAD_VALUE, offsetof(UserContext, bad_value));
  PTB_ASM_CONSTANT(ASX_DESC, offsetof(SliceOps, desc));
  PTB_ASM_CONSTANT(ASX_INVPCIDS, offsetof(SliceOps, invpcids));
  PTB_ASM_CONSTANT(ASX_INVLPG, offsetof(SliceOps, invlpg));
  PTB_ASM_CONSTANT(ASX_WRITE_CR3, offsetof(SliceOps, write_cr3));
  PTB_ASM_CONSTANT(ASX_CR3, offsetof(SliceOps, cr3));
  PTB_ASM_CONSTANT(ASX_USER_RIP, offsetof(SliceOps, user_rip));
  PTB_ASM_CONSTANT(ASX_USER_RSP, offsetof(SliceOps, user_rsp));
  PTB_ASM_CONSTANT(ASX_USER_ARG, offsetof(SliceOps, user_arg));
  PTB_ASM_CONSTANT(ASX_USER_FN, offsetof(SliceOps, user_fn));
  PTB_ASM_CONSTANT(ASX_T0, offsetof(SliceOps, t0));
  PTB_ASM_CONSTANT(ASX_T1, offsetof(SliceOps, t1));
}
