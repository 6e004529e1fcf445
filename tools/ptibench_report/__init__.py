"""ptibench-report: tables and figures from ptibench serial logs (docs/report.md).

The package is split by concern so that each part can be tested alone and so that only `plot`
needs matplotlib: parse (logs -> runs), model (the data), analysis (selection, comparison, seed
tables), render (Markdown/CSV/JSON), plot (PNG/SVG), cli (argument handling and exit codes).
"""

__version__ = "0.1.0"
