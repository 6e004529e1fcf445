#include "bench/jit.h"

#include "bench/symbols.h"

namespace ptb::bench {
namespace {
constexpr u8 kDecR14[] = {0x49, 0xff, 0xce};  // dec r14
constexpr usize kJnzSize = 6;                 // jnz rel32: 0f 85 imm32

u8* copy(u8* out, const u8* begin, const u8* end) {
  while (begin < end) *out++ = *begin++;
  return out;
}
}  // namespace

usize loop_size(const Template& body, u32 copies) {
  return static_cast<usize>(jit_prologue_end - jit_prologue) + body.size() * copies +
         sizeof(kDecR14) + kJnzSize + static_cast<usize>(jit_epilogue_end - jit_epilogue);
}

JitFn emit_loop(u8* out, usize cap, const Template& body, u32 copies) {
  if (copies == 0 || loop_size(body, copies) > cap) return nullptr;
  u8* p = copy(out, jit_prologue, jit_prologue_end);
  u8* loop_top = p;
  for (u32 i = 0; i < copies; ++i) p = copy(p, body.begin, body.end);
  p = copy(p, kDecR14, kDecR14 + sizeof(kDecR14));
  i64 rel = loop_top - (p + kJnzSize);
  *p++ = 0x0f;
  *p++ = 0x85;
  for (int i = 0; i < 4; ++i) *p++ = static_cast<u8>(static_cast<u64>(rel) >> (8 * i));
  copy(p, jit_epilogue, jit_epilogue_end);
  return reinterpret_cast<JitFn>(out);
}

}  // namespace ptb::bench
