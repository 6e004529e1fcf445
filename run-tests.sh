#!/usr/bin/env bash
# Install what is missing and run every test (host unit tests, report-tool tests, boot tests).
# Extra arguments go to ctest, e.g. `./run-tests.sh -L boot` or `./run-tests.sh -R harness`.
# Exit status: ctest's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2
exec ctest --test-dir build --output-on-failure -j2 "$@"
