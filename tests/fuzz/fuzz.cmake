# libFuzzer targets of the pure parsers (tests/fuzz/*_fuzz.cpp; docs/fuzzing.md), included from
# tests/CMakeLists.txt:
#
#   include(${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz.cmake OPTIONAL)
#
# The host build may use g++, but libFuzzer needs clang++ and its runtime (Debian:
# libclang-rt-14-dev, libclang_rt.fuzzer-x86_64.a), so the targets are built by custom commands
# that call clang++ directly with -fsanitize=fuzzer,address,undefined. When clang++ cannot link
# a fuzzer here, this prints one status line and adds nothing. Each target is one ctest test
# (label fuzz) that fuzzes for PTIBENCH_FUZZ_SECONDS (20) from its seed corpus
# (tests/fuzz/corpus/<target>/, written by make_corpus.py); what it finds goes to
# <build>/fuzz/artifacts/. Set PTIBENCH_FUZZ_CXX to choose the compiler.

set(PTIBENCH_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
get_filename_component(PTIBENCH_FUZZ_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
set(PTIBENCH_FUZZ_OUT ${CMAKE_BINARY_DIR}/fuzz)
set(PTIBENCH_FUZZ_SECONDS 20 CACHE STRING "seconds each fuzz test runs")
set(PTIBENCH_FUZZ_TARGETS cmdline_fuzz multiboot2_fuzz acpi_fuzz format_fuzz)
# The pure sources the targets link (each a member of PTIBENCH_PURE_SOURCES; the others need
# the kernel build's generated headers).
set(PTIBENCH_FUZZ_PURE lib/format.cpp kernel/cmdline.cpp kernel/multiboot2.cpp kernel/acpi.cpp)
set(PTIBENCH_FUZZ_FLAGS -std=c++20 -g -O1 -Wall -Wextra
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)

find_program(PTIBENCH_FUZZ_CXX NAMES clang++ clang++-14 DOC "clang++ for the libFuzzer targets")

# Can this clang++ compile and link a libFuzzer target? (Checked on every configure: a runtime
# installed later is found without clearing the cache.)
set(fuzz_ok FALSE)
if(PTIBENCH_FUZZ_CXX)
  set(probe ${PTIBENCH_FUZZ_OUT}/probe)
  file(WRITE ${probe}/probe.cpp
    "#include <cstddef>\n#include <cstdint>\n"
    "extern \"C\" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n")
  execute_process(
    COMMAND ${PTIBENCH_FUZZ_CXX} ${PTIBENCH_FUZZ_FLAGS} probe.cpp -o probe
    WORKING_DIRECTORY ${probe} RESULT_VARIABLE probe_rc OUTPUT_QUIET ERROR_VARIABLE probe_err)
  if(probe_rc EQUAL 0)
    set(fuzz_ok TRUE)
  endif()
endif()
if(NOT fuzz_ok)
  message(STATUS "fuzz: no libFuzzer (clang++ '${PTIBENCH_FUZZ_CXX}' cannot link "
    "-fsanitize=fuzzer; Debian: libclang-rt-14-dev, scripts/install-deps.sh); no fuzz targets")
  return()
endif()

# The pure sources, checked against PTIBENCH_PURE_SOURCES (relative at the top level, absolute
# once tests/CMakeLists.txt has prefixed them), so that a rename is noticed here.
set(fuzz_pure)
foreach(src IN LISTS PTIBENCH_FUZZ_PURE)
  set(found FALSE)
  foreach(pure IN LISTS PTIBENCH_PURE_SOURCES)
    if(pure STREQUAL src OR pure STREQUAL "${PTIBENCH_FUZZ_ROOT}/${src}")
      set(found TRUE)
    endif()
  endforeach()
  if(DEFINED PTIBENCH_PURE_SOURCES AND NOT found)
    message(FATAL_ERROR "fuzz: ${src} is not in PTIBENCH_PURE_SOURCES; update tests/fuzz/fuzz.cmake")
  endif()
  list(APPEND fuzz_pure ${PTIBENCH_FUZZ_ROOT}/${src})
endforeach()
file(GLOB fuzz_headers CONFIGURE_DEPENDS ${PTIBENCH_FUZZ_ROOT}/lib/*.h ${PTIBENCH_FUZZ_ROOT}/kernel/*.h)

set(fuzz_outputs)
foreach(target IN LISTS PTIBENCH_FUZZ_TARGETS)
  set(exe ${PTIBENCH_FUZZ_OUT}/${target})
  add_custom_command(OUTPUT ${exe}
    COMMAND ${PTIBENCH_FUZZ_CXX} ${PTIBENCH_FUZZ_FLAGS} -I${PTIBENCH_FUZZ_ROOT}
      -o ${exe} ${PTIBENCH_FUZZ_DIR}/${target}.cpp ${fuzz_pure}
    DEPENDS ${PTIBENCH_FUZZ_DIR}/${target}.cpp ${fuzz_pure} ${fuzz_headers}
    COMMENT "fuzz: building ${target} with clang++ (libFuzzer, ASan, UBSan)"
    VERBATIM)
  list(APPEND fuzz_outputs ${exe})
  # libFuzzer writes new inputs into the first corpus directory and only reads the seeds
  file(MAKE_DIRECTORY ${PTIBENCH_FUZZ_OUT}/corpus/${target} ${PTIBENCH_FUZZ_OUT}/artifacts)
  add_test(NAME fuzz.${target}
    COMMAND ${exe} -max_total_time=${PTIBENCH_FUZZ_SECONDS} -timeout=10 -rss_limit_mb=2048
      -print_final_stats=1 -artifact_prefix=${PTIBENCH_FUZZ_OUT}/artifacts/${target}-
      ${PTIBENCH_FUZZ_OUT}/corpus/${target} ${PTIBENCH_FUZZ_DIR}/corpus/${target})
  set_tests_properties(fuzz.${target} PROPERTIES
    LABELS fuzz
    TIMEOUT 180
    ENVIRONMENT "UBSAN_OPTIONS=print_stacktrace=1")
endforeach()
add_custom_target(fuzz_targets ALL DEPENDS ${fuzz_outputs})

# The glob_match defect this target found (a '*' of the pattern meeting a '*' of the name) is
# fixed; its reproducer stays in the corpus as a regression input.
add_test(NAME fuzz.format_fuzz.glob_star_in_name
  COMMAND ${PTIBENCH_FUZZ_OUT}/format_fuzz ${PTIBENCH_FUZZ_DIR}/known/format-glob-star-in-name)
set_tests_properties(fuzz.format_fuzz.glob_star_in_name PROPERTIES LABELS fuzz TIMEOUT 60)
message(STATUS "fuzz: ${PTIBENCH_FUZZ_CXX} builds ${PTIBENCH_FUZZ_TARGETS} (ctest -L fuzz)")
