# Kernel build: the generated bench_symbols.h (see cmake/bench_symbols.cmake). The host tests
# include it from this build's generated/ directory.
file(GLOB PTIBENCH_BENCH_ASM CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bench/*.asm)
set(PTIBENCH_BENCH_SYMBOLS ${CMAKE_BINARY_DIR}/generated/bench_symbols.h)
set(PTIBENCH_NASM_INCLUDE_DIRS ${CMAKE_SOURCE_DIR}/arch/x86 ${CMAKE_SOURCE_DIR}/bench
    ${CMAKE_SOURCE_DIR}/boot ${CMAKE_BINARY_DIR}/generated)
# Lists travel as |-separated strings (a ; would split the shell command).
string(REPLACE ";" "|" bench_symbols_dirs "${PTIBENCH_NASM_INCLUDE_DIRS}")
string(REPLACE ";" "|" bench_symbols_sources "${PTIBENCH_BENCH_ASM}")
add_custom_command(OUTPUT ${PTIBENCH_BENCH_SYMBOLS}
  COMMAND ${CMAKE_COMMAND} -DNASM=${CMAKE_ASM_NASM_COMPILER}
          "-DINCLUDE_DIRS=${bench_symbols_dirs}" "-DSOURCES=${bench_symbols_sources}"
          -DOUT=${PTIBENCH_BENCH_SYMBOLS} -P ${CMAKE_SOURCE_DIR}/cmake/bench_symbols.cmake
  DEPENDS ${PTIBENCH_BENCH_ASM} ${PTIBENCH_ASM_INCLUDES} ${CMAKE_SOURCE_DIR}/cmake/bench_symbols.cmake
  COMMENT "bench_symbols.h: the benchmark assembly's templates and entries"
  VERBATIM)
add_custom_target(bench_symbols DEPENDS ${PTIBENCH_BENCH_SYMBOLS})
add_dependencies(ptibench.elf bench_symbols)
