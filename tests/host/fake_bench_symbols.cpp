// Host stand-ins for the benchmark assembly's symbols, made from the same generated lists the
// kernel declares them from (bench/symbols.h): any bytes will do on the host. Each template is a
// real range: name_end is set 8 bytes past name, so Template::size() is 8 for every fake.
#include "bench/symbols.h"

#define PTB_FAKE_TEMPLATE(name)                                                        \
  extern "C" const ptb::u8 name[8] = {0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90}; \
  asm(".globl " #name "_end\n.set " #name "_end, " #name " + 8");
#define PTB_FAKE_ENTRY(name) extern "C" const ptb::u8 name[1] = {0xc3};
PTB_BENCH_TEMPLATES(PTB_FAKE_TEMPLATE)
PTB_BENCH_ENTRIES(PTB_FAKE_ENTRY)
