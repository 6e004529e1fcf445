# Boot tests: every tests/boot/test_*.py is one ctest test (label "boot"), run by Debian's pytest
# against the image the kernel ExternalProject builds. New test files appear on the next build.
# Each boot goes through run-qemu.sh; serial logs land in ${CMAKE_BINARY_DIR}/test-logs.
file(GLOB PTIBENCH_BOOT_TEST_FILES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.py)
foreach(test_file IN LISTS PTIBENCH_BOOT_TEST_FILES)
  get_filename_component(test_stem ${test_file} NAME_WE)
  add_test(NAME boot.${test_stem}
    COMMAND /usr/bin/python3 -m pytest -q -rfE -p no:cacheprovider ${test_file}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(boot.${test_stem} PROPERTIES
    LABELS boot
    TIMEOUT 1500
    ENVIRONMENT "PTIBENCH_ISO=${PTIBENCH_ISO};PTIBENCH_TEST_LOGS=${CMAKE_BINARY_DIR}/test-logs;PYTHONDONTWRITEBYTECODE=1")
endforeach()
