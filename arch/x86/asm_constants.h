// Constants for NASM generated from the C++ definitions, as Linux's asm-offsets does. A file
// such as arch/x86/asm_constants.cpp names each value once with PTB_ASM_CONSTANT; the kernel
// build compiles it to assembly only (-S, never linked), where every use leaves a marker line
//     .ascii "->NAME value"
// and cmake/asm_constants.cmake turns the markers into `%define NAME value` lines of an .inc file
// in the build's generated/ directory (cmake/kernel.cmake). So the assembly sees exactly the
// offsets the compiler laid out, and a changed structure regenerates the .inc and rebuilds every
// .asm file.
#pragma once

#include "lib/types.h"

// %c0 prints the immediate without the `$` (GCC/Clang operand modifier). The value must be a
// non-negative constant expression below 2^63, so it prints as a plain decimal NASM accepts
// both in expressions and in %if.
#define PTB_ASM_CONSTANT(name, value)                                                  \
  do {                                                                                 \
    static_assert(static_cast<::ptb::u64>(value) <= 0x7fff'ffff'ffff'ffffull,          \
                  #name " does not fit the generator's non-negative decimal");         \
    asm volatile("\n.ascii \"->" #name " %c0\"" ::"i"(static_cast<long long>(value))); \
  } while (0)
