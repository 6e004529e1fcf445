"""The seed tables across languages on a live run: the kernel of this build boots the seeds
entry (deterministic QEMU TCG, so two runs print the same numbers; fewer repetitions than the
default to keep it short), and every cell of the two tables it printed must be what the report
tool computes from the same log's records. The parser and the checks are the tool's
(tools/ptibench_report/seedcheck.py), as in tests/report/test_seed_tables.py on fixtures."""
# ctest-timeout: 900

from bootlib import boot

from ptibench_report import analysis, seedcheck
from ptibench_report.parse import parse_text


def seeds():
    return boot("seeds-det", "--deterministic", "--entry", "seeds", "--cmdline", "reps=7",
                timeout=600)


def test_seeds_run_passes_and_prints_both_tables():
    run = seeds()
    assert run.returncode == 0, run.describe()
    assert run.env()["cmdline"].split()[-2:] == ["suite=seeds", "reps=7"], run.env()
    tables = seedcheck.kernel_tables(run.text)
    assert len(tables) == 1, (len(tables), run.describe())
    (t,) = tables
    assert [r.label for r in t.table1] == [r.kernel_label for r in analysis.SEED1]
    assert set(t.table2) >= set(analysis.CROSSING_KINDS), t.table2


def test_every_cell_equals_the_tools():
    run = seeds()
    cap = parse_text(run.text, str(run.log_path))
    tables, bad = seedcheck.check_capture(cap, run.text, run.log_path.name)
    assert tables, run.describe()
    assert bad == [], "\n".join(bad)
    # the records really are the reduced run's (the tool read the same log)
    printed = seedcheck.run_at(cap, tables[0].line)
    assert printed.results[analysis.SEED1_REFERENCE].reps == 7


def test_seed_tables_print_and_match_the_records():
    run = seeds()
    assert run.returncode == 0, run.describe()
    lines = run.human_lines()
    start = next(i for i, l in enumerate(lines) if l.startswith("Seed 000"))
    table = lines[start:start + 9]
    direct = run.results()["syscall.direct"]["median"]
    pti = run.results()["syscall.pti"]["median"]
    row = next(l for l in table if l.strip().startswith("PTI, no PCID"))
    loss = (1 - direct / pti) * 100
    assert f"{loss:.1f} %" in row, (row, loss)
    assert any("skip" in l for l in table if "PCID (Linux)" in l)  # QEMU has no PCID
    assert any(l.startswith("Seed 003") for l in lines)
    kinds = [l.split()[0] for l in lines[lines.index(next(l for l in lines if l.startswith("Seed 003"))) + 2:][:4]]
    assert kinds == ["syscall", "pf", "int3", "int"], kinds
    crossing = {n for n in run.results() if n.startswith("crossing.")}
    assert len(crossing) == 16
