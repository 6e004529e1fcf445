// The four memory functions the compilers may call on their own (freestanding C++ still needs
// them). String instructions keep them short and stop the optimiser from turning their loops
// back into calls to themselves.
#include "lib/types.h"

extern "C" {

void* memcpy(void* dst, const void* src, ptb::usize n) {
  void* d = dst;
  asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n)::"memory");
  return dst;
}

void* memset(void* dst, int c, ptb::usize n) {
  void* d = dst;
  asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
  return dst;
}

void* memmove(void* dst, const void* src, ptb::usize n) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  if (d <= s || d >= s + n) return memcpy(dst, src, n);
  // Overlapping with dst above src: copy backwards.
  d += n - 1;
  s += n - 1;
  asm volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n)::"memory");
  return dst;
}

int memcmp(const void* a, const void* b, ptb::usize n) {
  auto* x = static_cast<const unsigned char*>(a);
  auto* y = static_cast<const unsigned char*>(b);
  for (ptb::usize i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

// Pure virtual calls and static-init guards are never expected; keep the linker satisfied.
void __cxa_pure_virtual() {
  for (;;) asm volatile("cli; hlt");
}

}  // extern "C"
