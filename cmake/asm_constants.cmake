# cmake -DIN=<file.s> -DOUT=<file.inc> -DSOURCE=<file.cpp> -P asm_constants.cmake
#
# Turns the markers PTB_ASM_CONSTANT leaves in the compiler's assembly output (arch/x86/
# asm_constants.h), lines of the form
#     .ascii "->NAME 123"
# into `%define NAME 123` for NASM. %define rather than equ: the stubs also test these values in
# %if, which NASM's preprocessor evaluates before any equ exists. A malformed marker, a name
# given twice or a file without markers stops the build.
cmake_minimum_required(VERSION 3.20)
foreach(var IN ITEMS IN OUT SOURCE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "asm_constants.cmake: -D${var}= is required")
  endif()
endforeach()

file(STRINGS "${IN}" markers REGEX "\"->")
set(text "; Generated from ${SOURCE} by cmake/asm_constants.cmake at build time. Do not edit:\n")
string(APPEND text "; change the C++ definitions (see arch/x86/asm_constants.h).\n")
set(names "")
foreach(line IN LISTS markers)
  if(NOT line MATCHES "^[ \t]*\\.ascii[ \t]+\"->([A-Za-z_][A-Za-z0-9_]*) ([0-9]+)\"[ \t]*$")
    message(FATAL_ERROR "${IN}: cannot read the marker '${line}'")
  endif()
  set(name "${CMAKE_MATCH_1}")
  set(value "${CMAKE_MATCH_2}")
  if(name IN_LIST names)
    message(FATAL_ERROR "${SOURCE}: ${name} is defined twice")
  endif()
  list(APPEND names "${name}")
  string(APPEND text "%define ${name} ${value}\n")
endforeach()
if(names STREQUAL "")
  message(FATAL_ERROR "${IN}: no constants (was ${SOURCE} compiled with -S?)")
endif()

# Always rewritten (not only when it changes), so the output is never older than its input and
# make does not rerun this at every build; a touched header reassembles the few .asm files.
file(WRITE "${OUT}" "${text}")
