// The code generator behind every loop benchmark: prologue + U copies of a body + loop branch +
// epilogue, copied from the templates in bench/bodies.asm into the JIT area.
#pragma once

#include <stddef.h>

#include "lib/types.h"

namespace ptb::bench {

struct JitContext {
  u64 iters;
  u64 t0, t1;  // timestamps written by the generated code
  u64 rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13;
};
static_assert(offsetof(JitContext, iters) == 0);
static_assert(offsetof(JitContext, t0) == 8);
static_assert(offsetof(JitContext, t1) == 16);
static_assert(offsetof(JitContext, rax) == 24);
static_assert(offsetof(JitContext, rbx) == 32);
static_assert(offsetof(JitContext, rcx) == 40);
static_assert(offsetof(JitContext, rdx) == 48);
static_assert(offsetof(JitContext, rsi) == 56);
static_assert(offsetof(JitContext, rdi) == 64);
static_assert(offsetof(JitContext, rbp) == 72);
static_assert(offsetof(JitContext, r8) == 80);
static_assert(offsetof(JitContext, r13) == 120);

// What a ring-3 one-way crossing driver (bench/user.asm) reads: how many crossings, the address
// the store-fault kind writes to, and where to put the u2k and k2u samples; in a counter pass
// also RDPMC's ECX for the counter its stamps read (the tick pass's driver ignores it).
struct CrossingContext {
  u64 count, fault, u2k, k2u, pmc;
};
static_assert(offsetof(CrossingContext, count) == 0 && offsetof(CrossingContext, fault) == 8 &&
              offsetof(CrossingContext, u2k) == 16 && offsetof(CrossingContext, k2u) == 24 &&
              offsetof(CrossingContext, pmc) == 32);

// A body template: [begin, end) in the image's read-only data.
struct Template {
  const u8* begin;
  const u8* end;
  usize size() const { return static_cast<usize>(end - begin); }
};

using JitFn = void (*)(JitContext*);

// Emits prologue, `copies` bodies, `dec r14; jnz` and epilogue at `out` (capacity `cap`).
// Returns the function, or nullptr when it does not fit.
JitFn emit_loop(u8* out, usize cap, const Template& body, u32 copies);
// Bytes emit_loop needs.
usize loop_size(const Template& body, u32 copies);

}  // namespace ptb::bench
