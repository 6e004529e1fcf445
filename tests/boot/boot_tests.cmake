# Boot tests: every tests/boot/test_*.py is one ctest test (label "boot"), run by Debian's pytest
# against the image the kernel ExternalProject builds. New test files appear on the next build.
# Each boot goes through run-qemu.sh; serial logs land in ${CMAKE_BINARY_DIR}/test-logs.
# A file may set its own ctest timeout (default 1500 s) with a line `# ctest-timeout: SECONDS`.
file(GLOB PTIBENCH_BOOT_TEST_FILES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.py)
foreach(test_file IN LISTS PTIBENCH_BOOT_TEST_FILES)
  get_filename_component(test_stem ${test_file} NAME_WE)
  set(test_timeout 1500)
  file(STRINGS ${test_file} timeout_line REGEX "^# ctest-timeout: *[0-9]+ *$" LIMIT_COUNT 1)
  if(timeout_line)
    string(REGEX REPLACE "^# ctest-timeout: *([0-9]+) *$" "\\1" test_timeout "${timeout_line}")
  endif()
  # Reconfigure when a file's timeout line changes.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${test_file})
  add_test(NAME boot.${test_stem}
    COMMAND /usr/bin/python3 -m pytest -q -rfE -p no:cacheprovider ${test_file}
    WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(boot.${test_stem} PROPERTIES
    LABELS boot
    TIMEOUT ${test_timeout}
    ENVIRONMENT "PTIBENCH_ISO=${PTIBENCH_ISO};PTIBENCH_PROBE_PREDICTIONS=$<TARGET_FILE:probe_predictions>;PTIBENCH_ASPACE_PREDICTIONS=$<TARGET_FILE:aspace_predictions>;PTIBENCH_TEST_LOGS=${CMAKE_BINARY_DIR}/test-logs;PYTHONDONTWRITEBYTECODE=1")
endforeach()
