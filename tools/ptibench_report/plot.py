"""PNG and SVG figures with matplotlib (Debian's python3-matplotlib), Agg only, no pyplot.

Why no pyplot: it keeps global figure state and picks a GUI backend from the environment; a
report tool run on a headless workstation or in ctest wants neither. Figures are built as
`matplotlib.figure.Figure` objects on an Agg canvas and closed by going out of scope.

Why fixed settings: the same log must give the same files (reviewable diffs, cacheable CI
artefacts). SVG ids come from `svg.hashsalt`, text is drawn as paths, and the date and software
metadata are left out.

matplotlib is imported inside the functions only, so that every other subcommand works without
it and `plot` can say what to install instead of failing with a traceback.
"""

from __future__ import annotations

import importlib
import math
import os
from typing import Any, Callable, Optional

from .analysis import (
    CROSSING_KINDS,
    REACH_COUNTERS,
    crossing_name,
    FLUSH_ORDER,
    LabTable,
    IPI_KINDS,
    ipi_matrix,
    shootdown_curves,
    shootdown_return_curves,
    Point,
    lab_footprint,
    lab_invpcid_pairs,
    lab_tables,
    Value,
    seed_table2,
    syscall_bars,
    tick_scale,
    tlb_curves,
    touch_curves,
    unit_text,
    value_of,
)
from .model import Result, Run

INSTALL_HINT = ("matplotlib is not available to this Python. Install Debian's package: "
                "`sudo apt install python3-matplotlib`, and run the tool with /usr/bin/python3 "
                "(its shebang). Every other subcommand works without it.")

# Colour-blind-safe-ish tab10, fixed so that a flush kind or a run keeps its colour everywhere.
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
FLUSH_COLOURS = {f: COLOURS[i] for i, f in enumerate(FLUSH_ORDER)}

RC = {
    "svg.hashsalt": "ptibench-report",  # stable ids in SVG output
    "svg.fonttype": "path",  # no dependence on the viewer's fonts
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
METADATA = {"svg": {"Date": None, "Creator": None}, "png": {"Software": None}}


def matplotlib_problem() -> Optional[str]:
    """None when matplotlib can be used, else what to tell the user."""
    try:
        for module in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
            importlib.import_module(module)
    except Exception as err:  # ImportError, or a broken install raising anything else
        return f"{INSTALL_HINT} ({type(err).__name__}: {err})"
    return None


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(min(width, 40.0), height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, outdir: str, name: str, formats: list[str]) -> list[str]:
    paths = []
    for fmt in formats:
        path = os.path.join(outdir, f"{name}.{fmt}")
        fig.savefig(path, format=fmt, metadata=METADATA[fmt])
        paths.append(path)
    return paths


def _unit_label(unit: str) -> str:
    """The y axis's unit, short: TSC ticks, ns, core/reference cycles, else the counter's field
    name (the figure's title says what it counts)."""
    if unit in ("tsc", "ns", "cycles", "ref_cycles"):
        return unit_text(unit)
    return unit


def _lab_axis_unit(run: Run, unit: str) -> str:
    """The lab figures' y unit: ticks of an emulator's TSC are instructions, other units are what
    they say."""
    emulated = run.env is not None and run.env.bare_metal is False
    return "instructions (emulator TSC)" if emulated and unit == "tsc" else _unit_label(unit)


def _run_title(run: Run) -> str:
    env = run.env
    who = f"{env.cpu_short}, {env.hypervisor_short}" if env else "unknown machine"
    if env is not None and env.is_bare_metal is False:
        who += " (not bare metal)"
    if run.instruction_counted:
        who += " (instruction counts)"
    # On a line of its own: with a long CPU name the title would run off the figure.
    return f"{who}\n{os.path.basename(run.path)}, run {run.index}"


def _run_label(letter: str, run: Run) -> str:
    env = run.env
    machine = env.hypervisor_short if env else "no env"
    return f"{letter}: {os.path.basename(run.path)}:{run.index} ({machine})"


def _yerr(values: list[Optional[Value]]) -> list[list[float]]:
    """Asymmetric whiskers median-q1 / q3-median (0 when a quartile is missing)."""
    lo, hi = [], []
    for v in values:
        if v is None or v.q1 is None or v.q3 is None:
            lo.append(0.0)
            hi.append(0.0)
        else:
            lo.append(max(0.0, v.median - v.q1))
            hi.append(max(0.0, v.q3 - v.median))
    return [lo, hi]


def _pages_axis(ax: Any, xs: list[float]) -> None:
    ax.set_xscale("log", base=2)
    ticks = sorted(set(xs))
    if ticks:
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(int(t)) for t in ticks])
        ax.minorticks_off()
    ax.set_xlabel("pages touched (K)")


def _cost_axis(ax: Any, values: list[float]) -> None:
    """Symmetric-log y: refill costs run from ~0 (or slightly negative: the no-flush pass is
    subtracted) to thousands of ticks, and a linear axis would flatten everything under 64 pages
    while a log axis cannot show zero."""
    big = max([abs(v) for v in values] + [0.0])
    if big <= 10.0:  # e.g. Bochs, where a refill executes no instruction: all zero
        ax.set_ylim(-1.0, max(1.0, big * 1.2))
        return
    if min(values) > 0:  # nothing near zero: a plain log axis reads better
        ax.set_yscale("log")
        return
    linthresh = max(1.0, 10 ** math.floor(math.log10(big)) / 100)
    ax.set_yscale("symlog", linthresh=linthresh)
    low = min(values)
    ax.set_ylim(bottom=-linthresh if low > -linthresh else low * 1.5, top=big * 1.5)


def _all_values(curves: Any) -> list[float]:
    return [v for pts in curves for p in pts
            for v in (p.value.median, p.value.q1, p.value.q3) if v is not None]


def _curve(ax: Any, pts: list[Point], label: str, colour: str, dashed: bool) -> None:
    xs = [p.x for p in pts]
    ax.plot(xs, [p.value.median for p in pts], marker="o", markersize=3, color=colour,
            linestyle="--" if dashed else "-", label=label)
    band = [p for p in pts if p.value.q1 is not None and p.value.q3 is not None]
    if band:
        ax.fill_between([p.x for p in band], [p.value.q1 for p in band],
                        [p.value.q3 for p in band], color=colour, alpha=0.15, linewidth=0)


def _bars(ax: Any, labels: list[str], series: list[tuple[str, str, list[Optional[Result]],
                                                            list[Optional[Value]], str]],
          unit: str) -> None:
    """Grouped bars: one group per label, one bar per series, q1-q3 whiskers.

    A series is (name, colour, results, values, hatch). A missing value leaves a gap with a
    short note (skip/FAIL/absent) so that an empty slot is never mistaken for zero.
    """
    n = max(1, len(series))
    width = 0.8 / n
    top = max([v.q3 if v.q3 is not None else v.median for _, _, _, vals, _ in series
               for v in vals if v is not None] + [0.0])
    for i, (name, colour, results, values, hatch) in enumerate(series):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(labels))]
        heights = [v.median if v is not None else 0.0 for v in values]
        ax.bar(xs, heights, width * 0.92, label=name, color=colour, hatch=hatch,
               edgecolor="white" if not hatch else "black", linewidth=0.3,
               yerr=_yerr(values), capsize=2, error_kw={"elinewidth": 0.8})
        for x, r, v in zip(xs, results, values):
            if v is None:
                note = "absent" if r is None else "skip" if r.status == "skip" else \
                    "FAIL" if r.status == "fail" else "n/a"
                ax.text(x, top * 0.01, note, rotation=90, ha="center", va="bottom", fontsize=7,
                        color="#555555")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right")
    ax.set_ylabel(f"median {_unit_label(unit)} (whiskers q1\u2013q3)")
    ax.grid(axis="x", visible=False)


# --- one run ----------------------------------------------------------------------------------

def _tlb_figure(run: Run, unit: str) -> Optional[Any]:
    curves = tlb_curves(run, unit)
    if not curves:
        return None
    fig = _figure(11, 4.5)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, glob, title in ((axes[0], False, "non-global pages"),
                            (axes[1], True, "global pages (PTE.G with CR4.PGE)")):
        xs: list[float] = []
        for (g, flush), pts in curves.items():
            if g != glob:
                continue
            xs += [p.x for p in pts]
            _curve(ax, pts, f"flush: {flush}", FLUSH_COLOURS.get(flush, "#000000"), False)
        if xs:
            _pages_axis(ax, xs)
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center")
        ax.set_title(title)
    _cost_axis(axes[0], _all_values(pts for pts in curves.values()))
    what = "refill cost" if unit in ("tsc", "ns", "cycles", "ref_cycles") else \
        "flushed minus warm pass"
    axes[0].set_ylabel(f"{what}, {_unit_label(unit)} per pass over K pages")
    counted = "" if unit in ("tsc", "ns") else f", counted: {unit_text(unit)}"
    fig.suptitle(f"TLB refill after a flush{counted}\n{_run_title(run)}")
    return fig


def _syscall_figure(run: Run, unit: str) -> Optional[Any]:
    results = syscall_bars(run)
    values = [value_of(r, run, unit) for r in results]
    if not any(v is not None for v in values):
        return None
    fig = _figure(max(6.0, 1.0 + 0.9 * len(results)), 4.5)
    ax = fig.subplots()
    _bars(ax, [r.name.removeprefix("syscall.") for r in results],
          [("median", COLOURS[0], list(results), values, "")], unit)
    for i, v in enumerate(values):
        if v is not None:
            ax.annotate(f"{v.median:.0f}" if abs(v.median) >= 100 else f"{v.median:.1f}",
                        (i, v.q3 if v.q3 is not None else v.median), textcoords="offset points",
                        xytext=(0, 3), ha="center", fontsize=7)
    ax.set_title(f"Null system call, PTI variants\n{_run_title(run)}")
    return fig


def _crossings_figure(run: Run, unit: str) -> Optional[Any]:
    table = seed_table2(run)
    if not any(value_of(c.result, run, unit) is not None
               for cells in table.values() for c in cells.values()):
        return None
    kinds = list(table)
    fig = _figure(max(6.0, 1.5 + 1.6 * len(kinds)), 4.5)
    ax = fig.subplots()
    series = []
    styles = ((("u2k", False), "u2k, PTI off", COLOURS[0], ""),
              (("u2k", True), "u2k, PTI on", COLOURS[0], "//"),
              (("k2u", False), "k2u, PTI off", COLOURS[1], ""),
              (("k2u", True), "k2u, PTI on", COLOURS[1], "//"))
    for key, name, colour, hatch in styles:
        results = [table[k][key].result for k in kinds]
        series.append((name, colour, results, [value_of(r, run, unit) for r in results], hatch))
    _bars(ax, kinds, series, unit)
    ax.set_xticklabels(kinds, rotation=0, ha="center")
    ax.set_xlabel("entry kind")
    ax.legend(fontsize=8)
    ax.set_title(f"One-way crossings\n{_run_title(run)}")
    return fig


def _touch_rank(item: tuple[str, list[Point]]) -> int:
    """Legend order: no PTI, PTI, PTI + PCID (cheapest first, as the story goes)."""
    return {"no PTI": 0, "PTI": 1, "PTI + PCID": 2}.get(item[0], 3)


def _touch_figure(run: Run, unit: str) -> Optional[Any]:
    curves = touch_curves(run, unit)
    if not curves:
        return None
    fig = _figure(7, 4.5)
    ax = fig.subplots()
    xs: list[float] = []
    for i, (label, pts) in enumerate(sorted(curves.items(), key=_touch_rank)):
        xs += [p.x for p in pts]
        _curve(ax, pts, label, COLOURS[i % len(COLOURS)], False)
    _pages_axis(ax, xs)
    _cost_axis(ax, _all_values(curves.values()))
    ax.set_ylabel(f"{_unit_label(unit)} per call + touching K user pages")
    ax.legend(fontsize=8)
    ax.set_title(f"System call, then touching user pages\n{_run_title(run)}")
    return fig


def _lab_figure(run: Run, table: LabTable, unit: str) -> Optional[Any]:
    """Ticks per slice against P, one line per policy (the main matrix of one schedule)."""
    curves = {}
    for label, cells in table.cells.items():
        pts = [Point(float(n), v) for n, r in sorted(cells.items())
               if (v := value_of(r, run, unit)) is not None]
        if pts:
            curves[label] = pts
    if not curves:
        return None
    fig = _figure(7, 4.5)
    ax = fig.subplots()
    xs: list[float] = []
    for i, (label, pts) in enumerate(curves.items()):
        xs += [p.x for p in pts]
        colour = "#000000" if label == "deferred" else COLOURS[i % len(COLOURS)]
        _curve(ax, pts, label, colour, label == "deferred")
    ax.set_xscale("log", base=2)
    ticks = sorted(set(xs))
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(int(t)) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("processes (P)")
    what = _lab_axis_unit(run, unit)
    ax.set_ylabel(f"{what} per slice")
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(f"Address-space lab, schedule {table.schedule}, Kk = {table.kernel_pages}\n"
                 f"{_run_title(run)}")
    return fig


def _lab_footprint_figure(run: Run, unit: str) -> Optional[Any]:
    """Ticks per slice against Kk (kernel pages per system call), one line per policy, dashed
    where the kernel pages are global."""
    curves: dict[tuple[str, bool], list[Point]] = {}
    for r in lab_footprint(run):
        v = value_of(r, run, unit)
        if v is not None and r.kernel_pages is not None:
            curves.setdefault((r.policy_label, bool(r.global_)), []).append(
                Point(float(r.kernel_pages), v))
    if not curves:
        return None
    fig = _figure(7, 4.5)
    ax = fig.subplots()
    labels = sorted({label for label, _ in curves})
    for (label, glob), pts in curves.items():
        _curve(ax, pts, f"{label}, {'global' if glob else 'non-global'} kernel pages",
               COLOURS[labels.index(label) % len(COLOURS)], glob)
    ax.set_xlabel("kernel pages each system call touches (Kk)")
    what = _lab_axis_unit(run, unit)
    ax.set_ylabel(f"{what} per slice")
    ax.legend(fontsize=7)
    procs = {r.processes for r in lab_footprint(run)}
    ax.set_title(f"Address-space lab: the kernel's TLB footprint (round-robin, P = "
                 f"{', '.join(str(p) for p in sorted(procs))})\n{_run_title(run)}")
    return fig


def _lab_invpcid_figure(run: Run, unit: str) -> Optional[Any]:
    """One CPU's kernel-address flushes with INVPCID (type 0 on every live kernel and user PCID)
    against without (Linux's INVLPG and invalidate_other, the .noinvpcid rows): per flush, and
    per slice where the refills it leaves land. Bars per policy, the slices' quartiles as error
    bars."""
    pairs = lab_invpcid_pairs(run)
    scale = tick_scale(run, unit)
    if scale is None:
        return None
    panels: list[tuple[str, list[tuple[str, Optional[Value], Optional[Value]]]]] = [
        ("per kernel flush", [(p.label, _flush_value(p.with_invpcid, scale),
                               _flush_value(p.without, scale)) for p in pairs]),
        ("per slice", [(p.label, value_of(p.with_invpcid, run, unit),
                        value_of(p.without, run, unit)) for p in pairs]),
    ]
    if not any(a or b for _, bars in panels for _, a, b in bars):
        return None
    import numpy as np

    fig = _figure(10, 4.5)
    axes = fig.subplots(1, 2, squeeze=False)[0]
    what = _lab_axis_unit(run, unit)
    for ax, (title, bars) in zip(axes, panels):
        xs = np.arange(len(bars))
        for k, (name, colour) in enumerate((("with INVPCID", COLOURS[0]),
                                            ("without INVPCID (invalidate_other)", COLOURS[1]))):
            vals = [b[1 + k] for b in bars]
            heights = [v.median if v else 0.0 for v in vals]
            err = [[v.median - v.q1 if v and v.q1 is not None else 0.0 for v in vals],
                   [v.q3 - v.median if v and v.q3 is not None else 0.0 for v in vals]]
            ax.bar(xs + (k - 0.5) * 0.38, heights, 0.38, yerr=err, label=name, color=colour,
                   capsize=3)
        ax.set_xticks(xs)
        ax.set_xticklabels([b[0] for b in bars])
        ax.set_ylabel(f"{what} {title}")
        ax.set_title(title)
        ax.legend(fontsize=7)
    procs = sorted({p.with_invpcid.processes for p in pairs if p.with_invpcid.processes})
    fig.suptitle("Address-space lab: kernel flushes with and without INVPCID, one CPU "
                 f"(round-robin, P = {', '.join(str(p) for p in procs)})\n{_run_title(run)}",
                 fontsize=10)
    return fig


def _flush_value(r: Result, scale: float) -> Optional[Value]:
    """The kernel flushes' median (the record gives no quartiles for them)."""
    if not r.usable or not r.flush_n or r.flush_median is None:
        return None
    return Value(r.flush_median * scale, None, None)


def _ipi_figure(run: Run, unit: str) -> Optional[Any]:
    """The IPI round-trip matrices as heatmaps, one panel per mechanism, medians written in."""
    matrices = [(k, *ipi_matrix(run, k, unit)) for k in IPI_KINDS]
    matrices = [(k, n, cells) for k, n, cells in matrices if cells]
    if not matrices:
        return None
    import numpy as np

    fig = _figure(5.0 * len(matrices), 4.4)
    for i, (kind, n, cells) in enumerate(matrices):
        ax = fig.add_subplot(1, len(matrices), i + 1)
        grid = np.full((n, n), np.nan)
        for (s, t), v in cells.items():
            grid[s, t] = v
        image = ax.imshow(grid, cmap="viridis", origin="upper")
        fig.colorbar(image, ax=ax, label=_unit_label(unit), shrink=0.8)
        ax.grid(False)
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.set_xlabel("target CPU")
        ax.set_ylabel("source CPU")
        if n <= 8:  # the figures stay legible
            for (s, t), v in sorted(cells.items()):
                ax.text(t, s, f"{v:.3g}" if v >= 1e5 else f"{v:.0f}", ha="center", va="center", fontsize=7, color="white")
        title = "fixed-vector IPI, handler answers" if kind == "fixed" else "mailbox polled"
        ax.set_title(f"ipi.{kind}: {title}")
    fig.suptitle(f"IPI round trip (median)\n{_run_title(run)}", fontsize=10)
    return fig


def _shootdown_panels(run: Run, unit: str, curves: dict[str, dict[int, list[Point]]],
                      what: str, title: str) -> Optional[Any]:
    """Cost against pages, one line per target count, one panel per scheme."""
    if not curves:
        return None
    schemes = sorted(curves)
    fig = _figure(5.5 * len(schemes), 4.5)
    axes = fig.subplots(1, len(schemes), sharey=True, squeeze=False)[0]
    for ax, scheme in zip(axes, schemes):
        xs: list[float] = []
        for i, (targets, pts) in enumerate(sorted(curves[scheme].items())):
            xs += [p.x for p in pts]
            label = f"{targets} target{'s' if targets != 1 else ''}" if targets else "broadcast"
            _curve(ax, pts, label, COLOURS[i % len(COLOURS)], False)
        _pages_axis(ax, xs)
        ax.set_xlabel("pages changed (n)")
        ax.legend(fontsize=8)
        ax.set_title(f"shootdown.{scheme}")
    _cost_axis(axes[0], [p.value.median for per in curves.values() for pts in per.values()
                         for p in pts])
    axes[0].set_ylabel(f"{_unit_label(unit)} {what}")
    fig.suptitle(f"{title}\n{_run_title(run)}", fontsize=10)
    return fig


def _shootdown_figure(run: Run, unit: str) -> Optional[Any]:
    """Shootdown cost against pages (CPU 0's TSC, from the first PTE write)."""
    return _shootdown_panels(
        run, unit, shootdown_curves(run, unit),
        "per shootdown (initiator: PTEs to last ack, or to TLBSYNC)",
        "TLB shootdowns (INVLPG up to the ceiling, full flush above)")


def _shootdown_return_figure(run: Run, unit: str) -> Optional[Any]:
    """The targets' return to user space after each shootdown (the PTI schemes)."""
    return _shootdown_panels(
        run, unit, shootdown_return_curves(run, unit),
        "per return (a target's TSC, pooled)",
        "Targets' return to user space after a shootdown (user-CR3 switch, lazy flush, page reads)")


def _render(figures: list[tuple[str, Callable[[], Optional[Any]], str]], outdir: str,
            formats: list[str], unit: str = "tsc") -> tuple[list[str], list[str]]:
    import matplotlib

    # A counter is carried by fewer records than the ticks (probes, IPIs and shootdowns have
    # none; crossings only where RDPMC works): say so.
    within = "" if unit in ("tsc", "ns") else f" with {unit}"

    written: list[str] = []
    skipped: list[str] = []
    with matplotlib.rc_context(RC):
        for name, build, why_not in figures:
            fig = build()
            if fig is None:
                skipped.append(f"{name}: not drawn, {why_not}{within}")
                continue
            written += _save(fig, outdir, name, formats)
    return written, skipped


def plot_run(run: Run, outdir: str, formats: list[str],
             unit: str = "tsc") -> tuple[list[str], list[str]]:
    """Figures of one run; returns (files written, notes about figures not drawn)."""
    figures = [
        ("tlb-refill", lambda: _tlb_figure(run, unit),
         "no measured tlb.refill.* result with flush/pages/global fields"),
        ("syscall", lambda: _syscall_figure(run, unit), "no measured syscall variant"),
        ("crossings", lambda: _crossings_figure(run, unit), "no measured crossing.* result"),
    ]
    if touch_curves(run, unit):
        figures.append(("syscall-touch", lambda: _touch_figure(run, unit), ""))
    # The refill curve in TLB events per pass, where the run counted them: what `reach` reads.
    for counter in REACH_COUNTERS:
        if counter != unit and tlb_curves(run, counter):
            figures.append((f"tlb-refill-{counter}",
                            lambda c=counter: _tlb_figure(run, c), ""))
    # The address-space lab's figures are drawn in ticks (or ns).
    if unit in ("tsc", "ns"):
        for table in lab_tables(run):
            figures.append((f"aspace-{table.schedule}",
                            lambda t=table: _lab_figure(run, t, unit),
                            "no measured aspace.* result"))
        if lab_footprint(run):
            figures.append(("aspace-footprint", lambda: _lab_footprint_figure(run, unit),
                            "no measured aspace.* footprint result"))
        if lab_invpcid_pairs(run):
            figures.append(("aspace-invpcid", lambda: _lab_invpcid_figure(run, unit),
                            "no measured aspace.*.noinvpcid result beside its INVPCID row"))
    if shootdown_curves(run, unit):
        figures.append(("shootdown", lambda: _shootdown_figure(run, unit), ""))
    if shootdown_return_curves(run, unit):
        figures.append(("shootdown-return", lambda: _shootdown_return_figure(run, unit), ""))
    if any(ipi_matrix(run, k, unit)[1] for k in IPI_KINDS):
        figures.append(("ipi-matrix", lambda: _ipi_figure(run, unit), ""))
    return _render(figures, outdir, formats, unit)


# --- several runs -------------------------------------------------------------------------------

def _letters(n: int) -> list[str]:
    from .render import letters

    return letters(n)


def _compare_tlb(runs: list[Run], unit: str) -> Optional[Any]:
    per_run = [tlb_curves(r, unit) for r in runs]
    flushes = [f for f in FLUSH_ORDER if any((g, f) in c for c in per_run for g in (False, True))]
    flushes += sorted({f for c in per_run for (_, f) in c} - set(flushes))
    if not flushes:
        return None
    cols = min(3, len(flushes))
    rows = math.ceil(len(flushes) / cols)
    fig = _figure(4.2 * cols, 3.4 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    names = _letters(len(runs))
    for idx, flush in enumerate(flushes):
        ax = axes[idx // cols][idx % cols]
        xs: list[float] = []
        for i, (run, curves) in enumerate(zip(runs, per_run)):
            for glob in (False, True):
                pts = curves.get((glob, flush))
                if pts:
                    xs += [p.x for p in pts]
                    _curve(ax, pts, f"{names[i]}{' global' if glob else ''}",
                           COLOURS[i % len(COLOURS)], glob)
        if xs:
            _pages_axis(ax, xs)
            ax.legend(fontsize=7)
        ax.set_title(f"flush: {flush}")
    for idx in range(len(flushes), rows * cols):
        axes[idx // cols][idx % cols].set_visible(False)
    _cost_axis(axes[0][0], _all_values(pts for c in per_run for pts in c.values()))
    for r in range(rows):
        axes[r][0].set_ylabel(f"{_unit_label(unit)} per pass")
    fig.suptitle("TLB refill after a flush (solid: non-global, dashed: global)\n"
                 + "; ".join(_run_label(n, r) for n, r in zip(names, runs)))
    return fig


def _compare_touch(runs: list[Run], unit: str) -> Optional[Any]:
    per_run = [touch_curves(r, unit) for r in runs]
    if not any(per_run):
        return None
    fig = _figure(8, 4.8)
    ax = fig.subplots()
    names = _letters(len(runs))
    xs: list[float] = []
    for i, curves in enumerate(per_run):
        for label, pts in sorted(curves.items(), key=_touch_rank):
            xs += [p.x for p in pts]
            _curve(ax, pts, f"{names[i]}: {label}", COLOURS[i % len(COLOURS)],
                   "PCID" in label)
    _pages_axis(ax, xs)
    _cost_axis(ax, _all_values(pts for c in per_run for pts in c.values()))
    ax.set_ylabel(f"{_unit_label(unit)} per call + touching K user pages")
    ax.legend(fontsize=7)
    ax.set_title("System call, then touching user pages\n"
                 + "; ".join(_run_label(n, r) for n, r in zip(names, runs)))
    return fig


def _compare_bars(runs: list[Run], names_of: list[str], title: str,
                  unit: str, short: Callable[[str], str] = lambda s: s) -> Optional[Any]:
    rows = [[run.results.get(n) for run in runs] for n in names_of]
    if not any(value_of(r, run, unit) is not None for row in rows for r, run in zip(row, runs)):
        return None
    letters = _letters(len(runs))
    fig = _figure(max(6.0, 1.5 + len(names_of) * (0.35 + 0.22 * len(runs))), 4.8)
    ax = fig.subplots()
    series = []
    for i, run in enumerate(runs):
        results = [row[i] for row in rows]
        series.append((_run_label(letters[i], run), COLOURS[i % len(COLOURS)], results,
                       [value_of(r, run, unit) for r in results], ""))
    _bars(ax, [short(n) for n in names_of], series, unit)
    ax.legend(fontsize=7)
    ax.set_title(title)
    return fig


def compare_families(runs: list[Run]) -> dict[str, list[str]]:
    """{figure family: variant names in first-seen order} for the bar charts.

    tlb and the page-touching syscall variants are curves (drawn separately); crossings are
    ordered kind by kind so that u2k/k2u and PTI off/on sit next to each other.
    """
    fams: dict[str, list[str]] = {}
    for run in runs:
        for r in run.results.values():
            if r.family == "tlb" or (r.family == "syscall" and (r.pages is not None
                                                               or ".touch." in r.name)):
                continue
            fam = "crossings" if r.family == "crossing" else r.family
            names = fams.setdefault(fam, [])
            if r.name not in names:
                names.append(r.name)
    if "crossings" in fams:
        order = {crossing_name(k, p, d): i
                 for i, (k, p, d) in enumerate((k, p, d) for k in CROSSING_KINDS
                                               for p in (False, True) for d in ("u2k", "k2u"))}
        fams["crossings"].sort(key=lambda n: order.get(n, len(order)))
    return fams


def plot_compare(runs: list[Run], outdir: str, formats: list[str],
                 unit: str = "tsc") -> tuple[list[str], list[str]]:
    """compare-<family> figures, runs side by side; returns (files written, notes)."""
    names = _letters(len(runs))
    legend = "; ".join(_run_label(n, r) for n, r in zip(names, runs))
    figures: list[tuple[str, Callable[[], Optional[Any]], str]] = []
    for fam, variant_names in compare_families(runs).items():
        prefix = "crossing." if fam == "crossings" else f"{fam}."
        figures.append((
            f"compare-{fam}",
            lambda fam=fam, v=variant_names, p=prefix: _compare_bars(
                runs, v, f"{fam}: runs compared", unit,
                lambda s: s.removeprefix(p) if s != p.rstrip(".") else s),
            f"no measured {fam} result in any run"))
    figures.append(("compare-tlb-refill", lambda: _compare_tlb(runs, unit),
                    "no measured tlb.refill.* result in any run"))
    if any(touch_curves(r, unit) for r in runs):
        figures.append(("compare-syscall-touch", lambda: _compare_touch(runs, unit), ""))
    written, skipped = _render(figures, outdir, formats, unit)
    return written, skipped + ([] if written else [f"runs: {legend}"])
