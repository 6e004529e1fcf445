# The report tool's tests (tools/ptibench-report), included from tests/CMakeLists.txt.
# Debian's interpreter on purpose: python3-pytest and python3-matplotlib are Debian packages,
# which a pyenv/venv python3 earlier on PATH would not see. The tests write only into pytest's
# temporary directories: no cache provider, no bytecode in the source tree.
add_test(NAME report_pytest
  COMMAND /usr/bin/python3 -m pytest -q -p no:cacheprovider ${CMAKE_SOURCE_DIR}/tests/report
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
set_tests_properties(report_pytest PROPERTIES
  LABELS report
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1"
  TIMEOUT 600)
