# The freestanding kernel (included from the top-level CMakeLists.txt in the kernel configuration).
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)

file(GLOB PTIBENCH_KERNEL_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_SOURCE_DIR}/boot/*.asm
  ${CMAKE_SOURCE_DIR}/lib/*.cpp
  ${CMAKE_SOURCE_DIR}/arch/x86/*.asm
  ${CMAKE_SOURCE_DIR}/arch/x86/*.cpp
  ${CMAKE_SOURCE_DIR}/kernel/*.cpp
  ${CMAKE_SOURCE_DIR}/bench/*.asm
  ${CMAKE_SOURCE_DIR}/bench/*.cpp)
# The asm-offsets sources are compiled to assembly for their markers below, never linked.
list(FILTER PTIBENCH_KERNEL_SOURCES EXCLUDE REGEX "/asm_constants\\.cpp$")

set(CMAKE_ASM_NASM_COMPILE_OBJECT
    "<CMAKE_ASM_NASM_COMPILER> <INCLUDES> <FLAGS> -f elf64 -o <OBJECT> <SOURCE>")

# The kernel runs identity-mapped in the low 2 GiB: small code model, no PIC, no red zone (an
# exception pushes its frame right below RSP). SSE stays on for the statistics' doubles; boot
# enables it before any C++ runs.
set(PTIBENCH_KERNEL_CXX_FLAGS
  -ffreestanding -fno-exceptions -fno-rtti -fno-stack-protector -fno-threadsafe-statics
  -fno-pic -fno-pie -mcmodel=small -mno-red-zone -fno-asynchronous-unwind-tables
  -fno-omit-frame-pointer -nostdlib -O2 -g -Wall -Wextra -Werror)

set(PTIBENCH_GENERATED ${CMAKE_BINARY_DIR}/generated)
# Made at configure time: several generators write there, in no fixed order.
file(MAKE_DIRECTORY ${PTIBENCH_GENERATED})

# NASM constants from the C++ definitions (arch/x86/asm_constants.h): SOURCE is compiled with the
# kernel's own compiler and flags to assembly (so the offsets are the kernel's), and
# cmake/asm_constants.cmake turns its markers into generated/INC. The depfile makes every header
# SOURCE includes a dependency.
set(PTIBENCH_ASM_CONSTANTS "")
function(ptibench_asm_constants source inc)
  get_filename_component(stem ${inc} NAME_WE)
  set(asm ${PTIBENCH_GENERATED}/${stem}.s)
  add_custom_command(OUTPUT ${asm}
    COMMAND ${CMAKE_CXX_COMPILER} --target=${CMAKE_CXX_COMPILER_TARGET} -std=c++20
            ${PTIBENCH_KERNEL_CXX_FLAGS} -DPTIBENCH_KERNEL=1 -I${CMAKE_SOURCE_DIR}
            -MD -MF ${asm}.d -MT ${asm} -S -o ${asm} ${CMAKE_SOURCE_DIR}/${source}
    DEPENDS ${CMAKE_SOURCE_DIR}/${source}
    DEPFILE ${asm}.d
    COMMENT "asm constants: ${source} -> ${stem}.s")
  add_custom_command(OUTPUT ${PTIBENCH_GENERATED}/${inc}
    COMMAND ${CMAKE_COMMAND} -DIN=${asm} -DOUT=${PTIBENCH_GENERATED}/${inc} -DSOURCE=${source}
            -P ${CMAKE_SOURCE_DIR}/cmake/asm_constants.cmake
    DEPENDS ${asm} ${CMAKE_SOURCE_DIR}/cmake/asm_constants.cmake
    COMMENT "asm constants: ${inc}")
  set(PTIBENCH_ASM_CONSTANTS ${PTIBENCH_ASM_CONSTANTS} ${PTIBENCH_GENERATED}/${inc} PARENT_SCOPE)
endfunction()
ptibench_asm_constants(arch/x86/asm_constants.cpp arch_constants.inc)
ptibench_asm_constants(bench/asm_constants.cpp bench_constants.inc)

# CMake does not scan NASM's %include: every assembly file depends on every .inc, generated or
# hand-written, so a changed offset or macro can never leave a stale object behind.
file(GLOB PTIBENCH_ASM_INCLUDES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/arch/x86/*.inc
  ${CMAKE_SOURCE_DIR}/bench/*.inc ${CMAKE_SOURCE_DIR}/boot/*.inc)
list(APPEND PTIBENCH_ASM_INCLUDES ${PTIBENCH_ASM_CONSTANTS})
foreach(src IN LISTS PTIBENCH_KERNEL_SOURCES)
  if(src MATCHES "\\.asm$")
    set_source_files_properties(${src} PROPERTIES OBJECT_DEPENDS "${PTIBENCH_ASM_INCLUDES}")
  endif()
endforeach()
set(CMAKE_ASM_NASM_FLAGS "-I${PTIBENCH_GENERATED}/ -I${CMAKE_SOURCE_DIR}/arch/x86/ -I${CMAKE_SOURCE_DIR}/bench/ -I${CMAKE_SOURCE_DIR}/boot/")

# The generated .inc files are sources of the kernel (headers, not compiled), so their commands
# run before the assembly that needs them.
set_source_files_properties(${PTIBENCH_ASM_CONSTANTS} PROPERTIES HEADER_FILE_ONLY ON)
add_executable(ptibench.elf ${PTIBENCH_KERNEL_SOURCES} ${PTIBENCH_ASM_CONSTANTS})
target_include_directories(ptibench.elf PRIVATE ${CMAKE_SOURCE_DIR})
target_compile_definitions(ptibench.elf PRIVATE PTIBENCH_KERNEL=1)
# The version header is rewritten (only when it changes) at every build.
set(PTIBENCH_VERSION_HEADER ${PTIBENCH_GENERATED}/ptibench_version.h)
add_custom_target(ptibench_version
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR} -DOUT=${PTIBENCH_VERSION_HEADER}
          -P ${CMAKE_SOURCE_DIR}/cmake/version.cmake
  BYPRODUCTS ${PTIBENCH_VERSION_HEADER})
add_dependencies(ptibench.elf ptibench_version)
include(${CMAKE_SOURCE_DIR}/cmake/bench_symbols_rules.cmake)
target_include_directories(ptibench.elf PRIVATE ${PTIBENCH_GENERATED})
target_compile_options(ptibench.elf PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${PTIBENCH_KERNEL_CXX_FLAGS}>)
set(CMAKE_CXX_LINK_EXECUTABLE
  "${PTIBENCH_LLD} -T ${CMAKE_SOURCE_DIR}/linker.ld -nostdlib -static -z max-page-size=4096 --no-dynamic-linker -Map=ptibench.map <OBJECTS> -o <TARGET>")
set_target_properties(ptibench.elf PROPERTIES LINK_DEPENDS ${CMAKE_SOURCE_DIR}/linker.ld)

# The hybrid GRUB image: BIOS and UEFI, CD and USB stick.
find_program(GRUB_MKRESCUE NAMES grub-mkrescue grub2-mkrescue REQUIRED)
find_program(GRUB_FILE NAMES grub-file grub2-file)
set(ISO_DIR ${CMAKE_BINARY_DIR}/isodir)
set(ISO_CHECK "")
if(GRUB_FILE)
  set(ISO_CHECK COMMAND ${GRUB_FILE} --is-x86-multiboot2 $<TARGET_FILE:ptibench.elf>)
endif()
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/ptibench.iso
  ${ISO_CHECK}
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${ISO_DIR}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${ISO_DIR}/boot/grub
  COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:ptibench.elf> ${ISO_DIR}/boot/ptibench.elf
  COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_SOURCE_DIR}/boot/grub.cfg ${ISO_DIR}/boot/grub/grub.cfg
  COMMAND ${GRUB_MKRESCUE} -o ${CMAKE_BINARY_DIR}/ptibench.iso ${ISO_DIR} 2> ${CMAKE_BINARY_DIR}/grub-mkrescue.log
  DEPENDS ptibench.elf ${CMAKE_SOURCE_DIR}/boot/grub.cfg
  COMMENT "grub-mkrescue: ptibench.iso (BIOS + UEFI, CD + USB)")
add_custom_target(iso ALL DEPENDS ${CMAKE_BINARY_DIR}/ptibench.iso)
