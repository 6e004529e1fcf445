"""`python3 -m ptibench_report` runs the same CLI as tools/ptibench-report."""

import sys

from .cli import main

sys.exit(main())
