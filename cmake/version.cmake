# The version printed in the env record: the release number plus the git revision when known.
set(PTIBENCH_RELEASE "0.1.0")
execute_process(COMMAND git -C ${CMAKE_SOURCE_DIR} describe --always --dirty
  OUTPUT_VARIABLE _rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
if(_rc EQUAL 0 AND _rev)
  set(PTIBENCH_VERSION "${PTIBENCH_RELEASE}+${_rev}")
else()
  set(PTIBENCH_VERSION "${PTIBENCH_RELEASE}")
endif()
