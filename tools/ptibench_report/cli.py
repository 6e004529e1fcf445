"""Command line of ptibench-report: subcommands, inputs, outputs and exit statuses.

Exit statuses (documented in docs/report.md, relied on by scripts and tests):
  0  success (problems in the logs are reported on stderr but do not fail the command)
  1  an input held no readable PTIBENCH record, nothing could be drawn, or the output could not
     be written
  2  usage error: bad option, too few inputs, a run number the input does not have
  3  `plot` only: matplotlib is not installed
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Optional, Sequence

from . import __version__, analysis, render
from .analysis import NoRecords, Picked, UsageError
from .model import COUNTER_FIELDS, Capture, is_raw_event
from .parse import read_capture

EXIT_OK, EXIT_NO_RECORDS, EXIT_USAGE, EXIT_NO_MATPLOTLIB = 0, 1, 2, 3

FORMATS = ("md", "csv", "json")


class _Inputs:
    """Reads each file once (compare a.log:1 a.log:2 is common) and reports its problems once."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.captures: dict[str, Capture] = {}

    def capture(self, path: str) -> Capture:
        if path not in self.captures:
            cap = read_capture(path)
            self.captures[path] = cap
            self._report(cap)
        return self.captures[path]

    def _report(self, cap: Capture) -> None:
        if cap.read_error:
            print(f"{cap.path}: cannot read: {cap.read_error}", file=sys.stderr)
            return
        if not self.quiet:
            for d in cap.diagnostics:
                print(d, file=sys.stderr)
        if cap.diagnostics or not cap.runs:
            print(f"{cap.path}: {cap.records} records read, {cap.damaged} damaged, "
                  f"{len(cap.diagnostics)} problems"
                  + (" (shown above)" if cap.diagnostics and not self.quiet else ""),
                  file=sys.stderr)

    def pick(self, spec: str, default_run: Optional[int]) -> Picked:
        """The run named by `spec` (file or file:N); raises NoRecords / UsageError."""
        path, run = analysis.split_spec(spec)
        cap = self.capture(path)
        if cap.read_error:
            raise NoRecords(f"{path}: cannot read: {cap.read_error}")
        picked = analysis.pick_run(cap, run if run is not None else default_run)
        print(analysis.describe_choice(picked), file=sys.stderr)
        return picked


def _emit(text: str, output: Optional[str]) -> None:
    """Write to -o FILE or stdout. UTF-8 always: tables use en dashes."""
    if output and output != "-":
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def _pick_all(inputs: _Inputs, specs: Sequence[str],
              default_run: Optional[int]) -> tuple[list[Picked], bool]:
    """Pick a run from each spec; unreadable inputs are reported, not fatal (yet)."""
    picks, missing = [], False
    for spec in specs:
        try:
            picks.append(inputs.pick(spec, default_run))
        except NoRecords as err:
            print(f"ptibench-report: {err}", file=sys.stderr)
            missing = True
    return picks, missing


# --- subcommands --------------------------------------------------------------------------------

def cmd_list(args: argparse.Namespace) -> int:
    inputs = _Inputs(args.quiet)
    caps = [inputs.capture(path) for path in args.logs]
    _emit(render.list_text(caps), args.output)
    return EXIT_NO_RECORDS if any(not c.runs for c in caps) else EXIT_OK


def cmd_table(args: argparse.Namespace) -> int:
    inputs = _Inputs(args.quiet)
    picks, missing = _pick_all(inputs, args.logs, args.run)
    chosen = [(p, analysis.filter_results(p.run, args.filter)) for p in picks]
    if chosen:
        if args.format == "md":
            text = "\n".join(render.table_markdown(p, rs, args.counters) for p, rs in chosen)
        elif args.format == "csv":
            text = render.table_csv(chosen)
        else:
            text = render.table_json(chosen)
        _emit(text, args.output)
        if args.format != "md":  # Markdown carries its warnings; CSV cannot, so say them here
            for p, _ in chosen:
                for w in analysis.run_warnings(p.run):
                    print(f"{p.run.label}: warning: {w}", file=sys.stderr)
    return EXIT_NO_RECORDS if missing else EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    if len(args.inputs) < 2:
        raise UsageError("compare needs at least two inputs (files or file:run)")
    inputs = _Inputs(args.quiet)
    picks, missing = _pick_all(inputs, args.inputs, None)
    if missing:
        return EXIT_NO_RECORDS
    rows = analysis.compare([p.run for p in picks], args.unit, args.filter)
    fn = {"md": render.compare_markdown, "csv": render.compare_csv,
          "json": render.compare_json}[args.format]
    _emit(fn(picks, rows, args.unit), args.output)
    for note in analysis.incomparable([p.run for p in picks], rows):
        print(f"ptibench-report compare: warning: {note}", file=sys.stderr)
    return EXIT_OK


def cmd_seeds(args: argparse.Namespace) -> int:
    inputs = _Inputs(args.quiet)
    picks, missing = _pick_all(inputs, [args.log], args.run)
    if missing:
        return EXIT_NO_RECORDS
    fn = {"md": render.seeds_markdown, "csv": render.seeds_csv,
          "json": render.seeds_json}[args.format]
    _emit(fn(picks[0]), args.output)
    return EXIT_OK


def _runs_view(markdown: Callable[[list], str], as_json: Callable[[list], str]
               ) -> Callable[[argparse.Namespace], int]:
    """A command that renders one view of several runs (probes, reach) as Markdown or JSON."""
    def cmd(args: argparse.Namespace) -> int:
        inputs = _Inputs(args.quiet)
        picks, missing = _pick_all(inputs, args.inputs, args.run)
        if missing:
            return EXIT_NO_RECORDS
        _emit((as_json if args.format == "json" else markdown)(picks), args.output)
        return EXIT_OK
    return cmd


cmd_probes = _runs_view(render.probes_markdown, render.probes_json)
cmd_reach = _runs_view(render.reach_markdown, render.reach_json)
cmd_aspace = _runs_view(render.aspace_markdown, render.aspace_json)


def cmd_plot(args: argparse.Namespace) -> int:
    from . import plot  # imports nothing from matplotlib until asked

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("png", "svg")]
    if bad or not formats:
        raise UsageError(f"--formats takes png, svg or png,svg (got {args.formats!r})")
    problem = plot.matplotlib_problem()
    if problem:
        print(f"ptibench-report plot: {problem}", file=sys.stderr)
        return EXIT_NO_MATPLOTLIB
    inputs = _Inputs(args.quiet)
    picks, missing = _pick_all(inputs, args.inputs, args.run)
    if missing:
        return EXIT_NO_RECORDS
    os.makedirs(args.output, exist_ok=True)
    if len(picks) == 1:
        written, skipped = plot.plot_run(picks[0].run, args.output, formats, args.unit)
    else:
        written, skipped = plot.plot_compare([p.run for p in picks], args.output, formats,
                                             args.unit)
    for why in skipped:
        print(f"ptibench-report plot: {why}", file=sys.stderr)
    for path in written:
        print(path)
    if not written:
        print("ptibench-report plot: nothing to draw", file=sys.stderr)
        return EXIT_NO_RECORDS
    return EXIT_OK


# --- parser -------------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; this only names the tool in messages."""


def _add_common(p: argparse.ArgumentParser, output_help: str) -> None:
    p.add_argument("-o", "--output", metavar="FILE", help=output_help)
    p.add_argument("-q", "--quiet", action="store_true",
                   help="do not list each problem found in the logs (a count is still printed)")


def _unit(choices: Sequence[str]) -> Callable[[str], str]:
    """An --unit value: one of `choices`, or a counter field (cycles, dtlb_walks, r0e08, ...)."""
    def parse(text: str) -> str:
        if text in choices or text in COUNTER_FIELDS or is_raw_event(text):
            return text
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {', '.join(choices)}, a counter ({', '.join(COUNTER_FIELDS)}) "
            "nor a raw event r<umask><event>")
    return parse


def _counter_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n != "all" and n not in COUNTER_FIELDS and not is_raw_event(n)]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"--counters takes all or a list of {', '.join(COUNTER_FIELDS)} and raw events "
            f"r<umask><event> (got {text!r})")
    return names


def _run_number(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a run number: {text!r}") from None
    if n == 0:
        raise argparse.ArgumentTypeError("runs are numbered from 1 (or -1 for the last)")
    return n


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ptibench-report",
        description="Tables and figures from ptibench serial logs: reads every complete "
                    "PTIBENCH record (docs/output-format.md), reports what it cannot read as "
                    "FILE:LINE on stderr, and carries on.",
        epilog="Exit status: 0 ok, 1 an input had no readable record, 2 usage error, 3 plot "
               "without matplotlib. See docs/report.md.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str,
            desc: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=desc)
        p.set_defaults(func=fn)
        return p

    p = add("list", cmd_list, "list the runs in each log",
            "List every run found in each log: lines, state (complete, incomplete (cut off), "
            "no env), result counts, CPU and hypervisor.")
    p.add_argument("logs", nargs="+", metavar="LOG", help="serial capture ('-' for stdin)")
    _add_common(p, "write the listing to FILE instead of stdout")

    p = add("table", cmd_table, "results of a run as Markdown, CSV or JSON",
            "Results of one run per log: median with q1-q3 and n, ns where the TSC rate is "
            "known, skipped/failed variants with their reasons, the environment on top and a "
            "warning when the run was not on bare metal. By default the last complete run of "
            "each log is used; stderr says which and lists the others.")
    p.add_argument("logs", nargs="+", metavar="LOG",
                   help="serial capture, or LOG:N for its run N ('-' for stdin)")
    p.add_argument("--run", type=_run_number, metavar="N",
                   help="run number within each log (1 = first, -1 = last; default: the last "
                        "complete run)")
    p.add_argument("-f", "--format", choices=FORMATS, default="md",
                   help="output format (default: md)")
    p.add_argument("--filter", action="append", metavar="GLOB",
                   help="only variants whose name matches GLOB (e.g. 'cr3.*'); repeatable")
    p.add_argument("--counters", type=_counter_list, metavar="LIST",
                   help="Markdown: besides cycles (shown whenever a run has them), a column "
                        "per performance counter named (inst_retired, dtlb_walks, ..., raw "
                        "events), or 'all'; CSV and JSON always carry every counter")
    _add_common(p, "write to FILE instead of stdout")

    p = add("compare", cmd_compare, "medians and ratios of several runs side by side",
            "Side-by-side medians [q1-q3] per variant for two or more runs, with each run's "
            "ratio to the first (B/A, C/A, ...). A difference that is not significant is "
            "marked '~': by a two-sided Mann-Whitney U test when both runs carry samples "
            "(kernel option samples=raw) and scipy is installed, else by whether the "
            "interquartile ranges overlap (not a significance test); the output names the "
            "rule used.")
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="LOG (its last complete run) or LOG:N; at least two")
    p.add_argument("--unit", type=_unit(("auto", "tsc", "ns")), default="auto",
                   help="auto (default): core cycles for a variant every run counted them "
                        "for, else TSC ticks, said per row; tsc; ns (ticks by each run's TSC "
                        "rate); or a counter (cycles, dtlb_walks, ...): that counter only")
    p.add_argument("-f", "--format", choices=FORMATS, default="md",
                   help="output format (default: md)")
    p.add_argument("--filter", action="append", metavar="GLOB",
                   help="only variants whose name matches GLOB; repeatable")
    _add_common(p, "write to FILE instead of stdout")

    p = add("seeds", cmd_seeds, "the two seed tables of a run",
            "Seed table 1: null-syscall cost of the PTI configurations and the throughput lost "
            "against PTI off (syscall.direct). Seed table 2: one-way user->kernel (u2k) and "
            "kernel->user (k2u) crossings per entry kind, PTI off and on.")
    p.add_argument("log", metavar="LOG", help="serial capture, or LOG:N")
    p.add_argument("--run", type=_run_number, metavar="N",
                   help="run number (default: the last complete run)")
    p.add_argument("-f", "--format", choices=FORMATS, default="md",
                   help="output format (default: md)")
    _add_common(p, "write to FILE instead of stdout")

    for name, fn, help_, desc in (
            ("probes", cmd_probes, "the TLB probes of one or more runs side by side",
             "What each run's CPU kept and dropped after each TLB operation (the probe.* "
             "records), one column per run, with the manual's rule and section; violations "
             "in bold."),
            ("reach", cmd_reach, "the TLB reach estimated from the refill curves",
             "Where the cost of each page added changes on the non-global refill curves after "
             "a full flush and after INVLPG: the first bend estimates the first-level DTLB, the "
             "second the STLB. Labelled as estimates."),
            ("aspace", cmd_aspace, "the address-space lab: a table per schedule",
             "The aspace.* records: ticks per slice for each policy (rows) and process count "
             "P (columns), one table per schedule, with the switches' ASID hits and misses; "
             "then the kernel-footprint rows (Kk kernel pages, global against non-global). "
             "Stale reads in bold.")):
        p = add(name, fn, help_, desc)
        p.add_argument("inputs", nargs="+", metavar="INPUT", help="LOG or LOG:N")
        p.add_argument("--run", type=_run_number, metavar="N",
                       help="run number for inputs given without :N (default: last complete)")
        p.add_argument("-f", "--format", choices=("md", "json"), default="md",
                       help="output format (default: md)")
        _add_common(p, "write to FILE instead of stdout")

    p = add("plot", cmd_plot, "PNG/SVG figures of a run, or of several runs compared",
            "One input: tlb-refill (cost vs pages touched per flush kind, non-global and "
            "global), syscall (bars with q1-q3 whiskers), crossings (u2k/k2u grouped bars); "
            "when present syscall-touch, the lab's aspace-<schedule>, aspace-footprint and "
            "aspace-invpcid, shootdown, shootdown-return and ipi-matrix (docs/report.md). "
            "Several inputs: compare-<family> charts, one per "
            "family, runs side by side. Needs matplotlib (Debian: python3-matplotlib).")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="LOG or LOG:N")
    p.add_argument("-o", "--output", metavar="DIR", required=True,
                   help="directory for the figures (created if missing)")
    p.add_argument("--run", type=_run_number, metavar="N",
                   help="run number for inputs given without :N (default: last complete)")
    p.add_argument("--formats", default="png,svg", metavar="LIST",
                   help="png, svg or png,svg (default)")
    p.add_argument("--unit", type=_unit(("tsc", "ns")), default="tsc",
                   help="y axis in TSC ticks (default), nanoseconds, or a performance "
                        "counter where the runs have it (cycles, dtlb_walks, r0e08, ...)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="do not list each problem found in the logs")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_usage(sys.stderr)
        print("ptibench-report: error: a command is required (list, table, compare, seeds, "
              "probes, reach, aspace, plot)", file=sys.stderr)
        return EXIT_USAGE
    if (sys.stdout.encoding or "").lower().replace("-", "") != "utf8":
        try:  # tables use en dashes; an ASCII locale must not turn that into a traceback
            sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            pass
    try:
        return args.func(args)
    except OSError as err:  # -o into a missing directory, a full disk, ...
        if isinstance(err, BrokenPipeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # `| head` left: no traceback, no error
            return EXIT_OK
        print(f"ptibench-report {args.command}: error: {err}", file=sys.stderr)
        return EXIT_NO_RECORDS
    except UsageError as err:
        print(f"ptibench-report {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except NoRecords as err:
        print(f"ptibench-report: {err}", file=sys.stderr)
        return EXIT_NO_RECORDS
