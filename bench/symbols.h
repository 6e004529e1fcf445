// The benchmark assembly's symbols, declared once: bench_symbols.h is generated from the .asm
// files (cmake/bench_symbols.cmake), so a new TEMPLATE or BENCH_ENTRY is known here without being
// named anywhere else. The host tests define fakes from the same lists.
#pragma once

#include "bench/jit.h"
#include "bench_symbols.h"
#include "lib/types.h"

#define PTB_DECLARE_TEMPLATE(name) extern "C" const ptb::u8 name[], name##_end[];
#define PTB_DECLARE_ENTRY(name) extern "C" const ptb::u8 name[];
PTB_BENCH_TEMPLATES(PTB_DECLARE_TEMPLATE)
PTB_BENCH_ENTRIES(PTB_DECLARE_ENTRY)
#undef PTB_DECLARE_TEMPLATE
#undef PTB_DECLARE_ENTRY

// The byte range of a TEMPLATE.
#define TEMPLATE_OF(sym) (::ptb::bench::Template{sym, sym##_end})
