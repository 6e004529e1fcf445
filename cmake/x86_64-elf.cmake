# Cross toolchain for the kernel: Clang targeting bare x86_64 ELF, linked with ld.lld.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
find_program(PTIBENCH_CLANGXX NAMES clang++ clang++-16 clang++-15 clang++-14 REQUIRED)
find_program(PTIBENCH_LLD NAMES ld.lld ld.lld-16 ld.lld-15 ld.lld-14 REQUIRED)
set(CMAKE_CXX_COMPILER ${PTIBENCH_CLANGXX})
set(CMAKE_CXX_COMPILER_TARGET x86_64-elf)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_ASM_NASM_OBJECT_FORMAT elf64)
