"""Performance counters in the report tool (issue 10 item 12): the 0.3 fields read and validated,
shown by `table`, compared by `compare` in cycles only where every run has them, plotted, and
used by `reach`. Expected numbers come from the logs' own records (conftest.oracle, which
shares no code with the tool), not from the tool."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import COUNTING, METAL, NOT_COUNTING, oracle, record, text_of, write

from ptibench_report import analysis
from ptibench_report.parse import parse_text, read_capture

COUNTERS = ("inst_retired", "cycles", "ref_cycles", "dtlb_walks", "itlb_walks", "stlb_hits")
STATS = ("median", "q1", "q3", "min", "max")


def results_of(path: Path, run: int) -> dict[str, dict]:
    return {r["name"]: r for r in oracle(path)[run] if r.get("type") == "result"}


# --- parsing -----------------------------------------------------------------------------------

def test_counting_log_reads_every_counter_without_a_problem() -> None:
    cap = read_capture(str(COUNTING))
    assert cap.diagnostics == []
    for index, run in enumerate(cap.runs):
        raw = results_of(COUNTING, index)
        assert set(run.results) == set(raw)
        for name, rec in raw.items():
            r = run.results[name]
            expected = {k: v for k, v in rec.items() if isinstance(v, dict)}
            assert {k: {s: getattr(c, s) for s in STATS} for k, c in r.counters.items()} == \
                expected, name
            assert r.inst_mismatch == rec.get("inst_mismatch")
            assert r.aperf_mperf == rec.get("aperf_mperf")
            assert r.smis == rec.get("smis")


def test_env_pmu_object_is_read() -> None:
    cap = read_capture(str(COUNTING))
    raw = oracle(COUNTING)[1][0]["pmu"]
    pmu = cap.runs[1].env.pmu
    assert pmu.state == raw["state"] == "counting" and pmu.counting
    assert pmu.event_table == raw["event_table"] and pmu.read_by == raw["read_by"]
    assert pmu.selftest == raw["selftest"]
    assert pmu.missing == raw["missing"] and "bogus" in pmu.missing
    assert {k: c.event for k, c in pmu.counters.items()} == \
        {k: v["event"] for k, v in raw["counters"].items()}
    assert pmu.counters["r1008"].evtsel == raw["counters"]["r1008"]["evtsel"]


def test_raw_event_is_kept_generically() -> None:
    run = read_capture(str(COUNTING)).runs[1]
    rec = record(COUNTING, "cr3.write.nopcid", 1)
    assert run.counter_names() == ["cycles", "ref_cycles", "inst_retired", "dtlb_walks",
                                   "r1008"]
    assert run.results["cr3.write.nopcid"].counters["r1008"].median == rec["r1008"]["median"]


def test_summary_counts_are_read() -> None:
    cap = read_capture(str(COUNTING))
    raw = oracle(COUNTING)[0][-1]
    s = cap.runs[0].summary
    assert (s.nmis, s.smis, s.inst_mismatches) == (raw["nmis"], raw["smis"],
                                                   raw["inst_mismatches"])
    assert s.inst_mismatches == sum(1 for r in cap.runs[0].results.values()
                                    if r.inst_mismatch is not None) > 0


ENV = ('PTIBENCH {"type":"env","vendor":"GenuineIntel","bare_metal":true,"pmu":{"state":'
       '"counting","reason":"","counters":{"cycles":{"event":"CPU_CLK_UNHALTED.THREAD",'
       '"counter":"fixed","index":1}}}}')
SUMMARY = 'PTIBENCH {"type":"summary","ok":3,"skipped":0,"failed":0,"checks_failed":0,"status":"pass"}'


def ok(name: str, extra: str = "") -> str:
    return ('PTIBENCH {"type":"result","name":"%s","group":"cr3","status":"ok","unit":"tsc",'
            '"n":3,"q1":1.000,"median":2.000,"q3":3.000,"instructions":1%s}' % (name, extra))


GOOD = ',"cycles":{"median":4.000,"q1":3.000,"q3":5.000,"min":2.000,"max":6.000}'


def hostile(tmp_path: Path, extra: str) -> tuple[Path, str]:
    """env, a good record, the bad one on line 3, another good one, summary."""
    log = write(tmp_path, "hostile.log", "\n".join(
        [ENV, ok("cr3.before", GOOD), ok("cr3.bad", extra), ok("cr3.after", GOOD), SUMMARY])
        + "\n")
    return log, str(log)


@pytest.mark.parametrize("extra, message, kept", [
    (',"cycles":"abc"', 'field "cycles" should be an object {median, q1, q3, min, max}, got '
     'string "abc"; treated as missing', None),
    (',"cycles":[1,2]', 'field "cycles" should be an object', None),
    (',"cycles":{"q1":1.000,"q3":2.000}', 'counter "cycles" has no usable median; treated as '
     'missing', None),
    (',"cycles":{"median":"4","q1":1.000}', 'counter "cycles": field "median" should be a '
     'number, got string "4"; treated as missing', None),
    (',"cycles":{"median":4.000,"q1":true,"q3":5.000}', 'counter "cycles": field "q1" should '
     'be a number, got boolean true; treated as missing', 4.0),
    (',"cycles":{"median":-7.000,"q1":-8.000,"q3":-6.000}', 'counter "cycles" has a negative '
     'median -7 per operation', -7.0),
    (',"cycles":{"median":4.000,"q1":5.000,"q3":3.000}', 'counter "cycles": statistics out of '
     'order', 4.0),
    (',"dtlb_walks":{"median":' + "9" * 400 + '}', 'counter "dtlb_walks": field "median" '
     'should be a number, got a number too large to use (400 digits)', None),
])
def test_hostile_counter_objects(tmp_path: Path, extra: str, message: str,
                                 kept: float | None) -> None:
    log, name = hostile(tmp_path, extra)
    cap = read_capture(name)
    messages = [str(d) for d in cap.diagnostics]
    assert any(m.startswith(f"{name}:3: ") and message in m for m in messages), messages
    run = cap.runs[0]
    bad = run.results["cr3.bad"]
    assert bad.median == 2.0 and bad.instructions == 1  # the rest of the record is kept
    counter = next(iter(bad.counters.values()), None)
    assert (None if counter is None else counter.median) == kept
    assert run.results["cr3.before"].counters["cycles"].median == 4.0
    assert run.results["cr3.after"].counters["cycles"].median == 4.0


@pytest.mark.parametrize("extra, message, field", [
    (',"aperf_mperf":-1.000', "aperf_mperf -1 is not a positive ratio; treated as missing",
     "aperf_mperf"),
    (',"aperf_mperf":"fast"', 'field "aperf_mperf" should be a number', "aperf_mperf"),
    (',"smis":-3', "smis -3 is negative; treated as missing", "smis"),
    (',"smis":1.5', 'field "smis" should be an integer', "smis"),
    (',"inst_mismatch":"one"', 'field "inst_mismatch" should be a number', "inst_mismatch"),
])
def test_hostile_counter_scalars(tmp_path: Path, extra: str, message: str, field: str) -> None:
    log, name = hostile(tmp_path, extra)
    cap = read_capture(name)
    assert any(str(d).startswith(f"{name}:3: ") and message in str(d)
               for d in cap.diagnostics), [str(d) for d in cap.diagnostics]
    assert getattr(cap.runs[0].results["cr3.bad"], field) is None
    assert cap.runs[0].results["cr3.bad"].median == 2.0


def test_inst_mismatch_must_agree_with_the_counts(tmp_path: Path) -> None:
    inst = ',"inst_retired":{"median":3.000,"q1":3.000,"q3":3.000,"min":3.000,"max":3.000}'
    _, name = hostile(tmp_path, inst)  # 3 retired, 1 declared, no inst_mismatch
    msgs = [str(d) for d in read_capture(name).diagnostics]
    assert any("inst_retired 3.000 differs from the declared 1 instructions, but the record "
               "has no inst_mismatch" in m for m in msgs), msgs
    _, name = hostile(tmp_path, inst + ',"inst_mismatch":1.000')
    msgs = [str(d) for d in read_capture(name).diagnostics]
    assert any("inst_mismatch 1.000 is not inst_retired 3.000 minus the declared 1" in m
               for m in msgs), msgs
    _, name = hostile(tmp_path, inst + ',"inst_mismatch":2.000')
    assert read_capture(name).diagnostics == []


def test_a_crossings_counters_are_checked_against_its_counter_pass_count(tmp_path: Path) -> None:
    # A crossing's counters come from its counter passes, which declare their own count (the
    # row's `instructions` plus two XCHGs): 3 retired against 3 declared is no mismatch ...
    inst = ',"inst_retired":{"median":3.000,"q1":3.000,"q3":3.000,"min":3.000,"max":3.000}'
    _, name = hostile(tmp_path, inst + ',"counter_instructions":3')
    cap = read_capture(name)
    assert cap.diagnostics == [], [str(d) for d in cap.diagnostics]
    assert cap.runs[0].results["cr3.bad"].counter_instructions == 3
    # ... and a mismatch is measured against it, also in the table's flag.
    _, name = hostile(tmp_path, inst + ',"counter_instructions":2,"inst_mismatch":1.000')
    cap = read_capture(name)
    assert cap.diagnostics == [], [str(d) for d in cap.diagnostics]
    from ptibench_report.render import flags_text
    assert flags_text(cap.runs[0].results["cr3.bad"]) == "inst +1.000 vs declared 2"
    _, name = hostile(tmp_path, inst + ',"counter_instructions":2')
    msgs = [str(d) for d in read_capture(name).diagnostics]
    assert any("differs from the declared 2 instructions" in m for m in msgs), msgs


@pytest.mark.parametrize("pmu, message", [
    ('5', 'env: field "pmu" should be an object, got number 5; treated as missing'),
    ('{"state":7}', 'env.pmu: field "state" should be a string, got number 7'),
    ('{"state":"warp"}', 'env.pmu: state "warp" is not one of counting/off/absent'),
    ('{"state":"off","counters":{"cycles":3}}', 'env.pmu.counters.cycles should be an object, '
     'got number 3'),
    ('{"state":"off","missing":{"tlb":false}}', 'env.pmu.missing: "tlb" should be a string, '
     'got boolean false'),
    ('{"state":"off","selftest":{"expected":"x"}}', 'env.pmu.selftest: "expected" should be an '
     'integer'),
    ('{"state":"counting"}', 'env.pmu: state counting but no usable counters listed'),
])
def test_hostile_env_pmu(tmp_path: Path, pmu: str, message: str) -> None:
    env = 'PTIBENCH {"type":"env","vendor":"GenuineIntel","bare_metal":true,"pmu":%s}' % pmu
    log = write(tmp_path, "env.log", "\n".join([env, ok("cr3.a"), SUMMARY]) + "\n")
    cap = read_capture(str(log))
    assert any(str(d) == f"{log}:1: {message}" or
               (str(d).startswith(f"{log}:1: ") and message in str(d))
               for d in cap.diagnostics), [str(d) for d in cap.diagnostics]
    assert cap.runs[0].env.vendor == "GenuineIntel" and "cr3.a" in cap.runs[0].results


def test_counters_while_not_counting_and_on_skips_are_reported(tmp_path: Path) -> None:
    env = ENV.replace('"state":"counting"', '"state":"not-counting"')
    skip = ('PTIBENCH {"type":"result","name":"cr3.s","group":"cr3","status":"skip",'
            '"reason":"no"' + GOOD + '}')
    log = write(tmp_path, "x.log", "\n".join([env, ok("cr3.a", GOOD), skip]) + "\n")
    msgs = [str(d) for d in read_capture(str(log)).diagnostics]
    assert any(m.startswith(f"{log}:2: ") and 'carries counters although the env\'s pmu.state '
               'is "not-counting"' in m for m in msgs), msgs
    assert any(m.startswith(f"{log}:3: ") and 'counter "cycles" on a skip record; ignored' in m
               for m in msgs), msgs


def test_refill_counters_may_be_negative_without_a_warning() -> None:
    """stlb_hits of a refill pass minus the warm pass is negative by design."""
    cap = read_capture(str(COUNTING))
    r = cap.runs[0].results["tlb.refill.cr3.256"]
    assert r.counters["stlb_hits"].median < 0 and cap.diagnostics == []


def test_summary_inst_mismatches_disagreeing_is_reported() -> None:
    text = text_of(COUNTING).replace('"smis":3,"inst_mismatches":1', '"smis":3,'
                                     '"inst_mismatches":4', 1)
    msgs = [str(d) for d in parse_text(text, "c.log").diagnostics]
    assert any("inst_mismatches 4 vs 1 read" in m for m in msgs), msgs
    text = text_of(COUNTING).replace('"smis":3,"inst_mismatches":1', '"smis":-3,'
                                     '"inst_mismatches":1', 1)
    cap = parse_text(text, "c.log")
    assert any("summary: smis -3 is negative" in str(d) for d in cap.diagnostics)
    assert cap.runs[0].summary.smis is None


# --- table -------------------------------------------------------------------------------------

def md_row(out: str, name: str) -> list[str]:
    line = next(l for l in out.splitlines() if l.startswith(f"| {name} |"))
    return [c.strip() for c in line.strip("|").split(" | ")]


def md_head(out: str, name: str) -> list[str]:
    lines = out.splitlines()
    i = next(i for i, l in enumerate(lines) if l.startswith(f"| {name} |"))
    while not lines[i - 1].startswith("|---"):
        i -= 1
    return [c.strip() for c in lines[i - 2].strip("|").split(" | ")]


def test_table_shows_cycles_beside_ticks(run_cli) -> None:
    r = run_cli("table", f"{COUNTING}:1")
    assert r.code == 0, r.err
    rec = record(COUNTING, "cr3.write.nopcid", 0)
    head, row = md_head(r.out, "cr3.write.nopcid"), md_row(r.out, "cr3.write.nopcid")
    cells = dict(zip(head, row))
    c = rec["cycles"]
    assert cells["cycles [q1–q3]"] == f"{c['median']:.3f} [{c['q1']:.3f}–{c['q3']:.3f}]"
    assert cells["median"] == f"{rec['median']:.3f}"
    assert cells["core/ref"] == f"{rec['aperf_mperf']:.3f}"
    assert "dtlb_walks" not in head  # only with --counters
    mism = record(COUNTING, "int.soft.pti", 0)
    status = dict(zip(md_head(r.out, "int.soft.pti"), md_row(r.out, "int.soft.pti")))["status"]
    assert f"inst {mism['inst_mismatch']:+.3f} vs declared {mism['instructions']}" in status
    assert "2 SMIs" in md_row(r.out, "tlb.refill.cr3.2048")[-1]
    assert "| performance counters | counting: inst_retired = INST_RETIRED.ANY" in r.out
    assert "retired another number of instructions than declared" in r.out
    # Crossings carry no counters: their table has no cycles column.
    assert "cycles [q1–q3]" not in md_head(r.out, "crossing.pf.u2k")


def test_table_counters_option(run_cli) -> None:
    r = run_cli("table", f"{COUNTING}:2", "--counters", "dtlb_walks,r1008")
    assert r.code == 0, r.err
    rec = record(COUNTING, "tlb.refill.cr3.512", 1)
    cells = dict(zip(md_head(r.out, "tlb.refill.cr3.512"), md_row(r.out, "tlb.refill.cr3.512")))
    assert cells["dtlb_walks"] == f"{rec['dtlb_walks']['median']:.3f}"
    assert cells["r1008"] == f"{rec['r1008']['median']:.3f}"
    assert "inst_retired" not in cells
    r = run_cli("table", f"{COUNTING}:1", "--counters", "all")
    head = md_head(r.out, "cr3.read")
    assert [h for h in head if h in COUNTERS] == ["ref_cycles", "inst_retired", "dtlb_walks",
                                                  "itlb_walks", "stlb_hits"]
    assert run_cli("table", COUNTING, "--counters", "bogus").code == 2


def test_table_json_and_csv_carry_the_counters(run_cli) -> None:
    r = run_cli("table", "-f", "json", f"{COUNTING}:2")
    assert r.code == 0, r.err
    run = json.loads(r.out)["runs"][0]
    raw = results_of(COUNTING, 1)
    for res in run["results"]:
        rec = raw[res["name"]]
        for key in ("cycles", "r1008", "inst_retired", "inst_mismatch", "aperf_mperf", "smis"):
            assert res.get(key) == rec.get(key), (res["name"], key)
    assert run["env"]["pmu"]["missing"] == oracle(COUNTING)[1][0]["pmu"]["missing"]
    assert run["summary"]["inst_mismatches"] == oracle(COUNTING)[1][-1]["inst_mismatches"]
    r = run_cli("table", "-f", "csv", f"{COUNTING}:2")
    rows = {row["variant"]: row for row in csv.DictReader(io.StringIO(r.out))}
    rec = raw["int.soft.pti"]
    assert rows["int.soft.pti"]["cycles_median"] == f"{rec['cycles']['median']:.3f}"
    assert rows["int.soft.pti"]["r1008_q3"] == f"{rec['r1008']['q3']:.3f}"
    assert rows["int.soft.pti"]["inst_mismatch"] == f"{rec['inst_mismatch']:.3f}"
    assert rows["int.soft.pti"]["stlb_hits_median"] == ""  # not counted in run 2
    # the older columns keep their positions
    head = r.out.splitlines()[0].split(",")
    assert head[:4] == ["file", "run", "run_state", "variant"] and head.index("cycles_median") > \
        head.index("tsc_source")


def test_table_says_why_there_are_no_counters(run_cli) -> None:
    r = run_cli("table", NOT_COUNTING)
    assert r.code == 0, r.err
    reason = oracle(NOT_COUNTING)[0][0]["pmu"]["reason"]
    assert f"No counter figures: the performance counters are not-counting ({reason})." in r.out
    assert "cycles" not in md_head(r.out, "cr3.read")


# --- compare -----------------------------------------------------------------------------------

def compare_json(run_cli, *args: object) -> dict:
    r = run_cli("compare", "-f", "json", *args)
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_compare_picks_cycles_where_every_run_has_them_and_ticks_otherwise(run_cli) -> None:
    out = compare_json(run_cli, f"{COUNTING}:1", f"{COUNTING}:2")
    a, b = results_of(COUNTING, 0), results_of(COUNTING, 1)
    units = {row["unit"] for row in out["rows"]}
    assert units == {"cycles", "tsc"} and out["unit"] == "mixed"
    for row in out["rows"]:
        name = row["variant"]
        in_cycles = name in a and name in b and "cycles" in a[name] and "cycles" in b[name]
        assert row["unit"] == ("cycles" if in_cycles else "tsc"), name
        ca, cb = row["cells"]
        want_a = a[name]["cycles"]["median"] if in_cycles else a[name]["median"]
        want_b = b[name]["cycles"]["median"] if in_cycles else b[name]["median"]
        assert (ca["median"], cb["median"]) == (want_a, want_b), name
        if want_a > 0 and want_b >= 0:
            assert cb["ratio"] == pytest.approx(want_b / want_a), name
        if in_cycles and cb["significant"] is not None:
            assert cb["test"] == analysis.IQR_RULE  # no samples of cycles exist
    # The point of cycles: the second boot ran at a lower clock; ticks say ~1.43, cycles ~1.
    rows = {row["variant"]: row for row in out["rows"]}
    assert rows["int.soft"]["unit"] == "cycles"
    assert rows["int.soft"]["cells"][1]["ratio"] == pytest.approx(1.0, abs=0.03)
    assert rows["crossing.pf.u2k"]["unit"] == "tsc"
    assert rows["crossing.pf.u2k"]["cells"][1]["ratio"] > 1.3
    assert "different units" in out["units_note"]


def test_compare_against_a_run_without_counters_is_in_ticks(run_cli) -> None:
    out = compare_json(run_cli, f"{COUNTING}:1", METAL)
    assert out["unit"] == "tsc" and {row["unit"] for row in out["rows"]} == {"tsc"}
    metal = results_of(METAL, -1)
    rows = {row["variant"]: row for row in out["rows"]}
    assert rows["cr3.read"]["cells"][1]["median"] == metal["cr3.read"]["median"]
    r = run_cli("compare", f"{COUNTING}:1", METAL)
    assert "Every row is compared in TSC ticks per operation (no variant has core cycles in " \
        "every run)" in r.out
    assert "| variant | unit |" not in r.out


def test_compare_says_the_u_test_is_on_ticks(run_cli) -> None:
    if analysis.mann_whitney() is None:
        pytest.skip("scipy (python3-scipy) is not installed")
    out = compare_json(run_cli, f"{COUNTING}:1", f"{COUNTING}:2")
    rows = {row["variant"]: row for row in out["rows"]}
    cell = rows["cr3.read"]["cells"][1]
    assert cell["test"] == analysis.IQR_RULE and cell["p_value"] is None
    assert cell["ticks_p_value"] is not None and cell["ticks_p_value"] < 0.05
    assert cell["test_note"] == analysis.TICKS_ONLY
    tick_cell = rows["crossing.pf.u2k"]["cells"][1]
    assert tick_cell["test"] == analysis.MANN_WHITNEY and tick_cell["ticks_p_value"] is None
    r = run_cli("compare", f"{COUNTING}:1", f"{COUNTING}:2")
    row = md_row(r.out, "cr3.read")
    assert row[1] == "cycles" and "MWU on ticks p=" in row[-1] and "IQR rule" in row[-1]
    assert "`MWU on ticks` = the U test on the same repetitions' tick samples" in r.out
    assert "different clocks" in r.out


def test_compare_without_scipy_on_cycles_rows(run_cli, monkeypatch) -> None:
    monkeypatch.setattr(analysis, "mann_whitney", lambda: None)
    out = compare_json(run_cli, f"{COUNTING}:1", f"{COUNTING}:2")
    cell = {row["variant"]: row for row in out["rows"]}["cr3.read"]["cells"][1]
    assert cell["ticks_p_value"] is None and cell["test_note"] == analysis.NO_SCIPY


def test_compare_unit_can_be_forced(run_cli) -> None:
    out = compare_json(run_cli, "--unit", "tsc", f"{COUNTING}:1", f"{COUNTING}:2")
    assert out["unit"] == "tsc" and out["unit_requested"] == "tsc"
    a = results_of(COUNTING, 0)
    rows = {row["variant"]: row for row in out["rows"]}
    assert rows["int.soft"]["cells"][0]["median"] == a["int.soft"]["median"]
    out = compare_json(run_cli, "--unit", "dtlb_walks", f"{COUNTING}:1", f"{COUNTING}:2")
    rows = {row["variant"]: row for row in out["rows"]}
    assert rows["tlb.refill.cr3.64"]["cells"][0]["median"] == \
        a["tlb.refill.cr3.64"]["dtlb_walks"]["median"]
    assert rows["crossing.pf.u2k"]["cells"][0]["median"] is None  # no counter, no mixing in
    assert run_cli("compare", "--unit", "furlongs", COUNTING, METAL).code == 2


def test_compare_csv_has_the_unit_per_row(run_cli) -> None:
    r = run_cli("compare", "-f", "csv", f"{COUNTING}:1", f"{COUNTING}:2")
    rows = {row["variant"]: row for row in csv.DictReader(io.StringIO(r.out))}
    assert rows["cr3.read"]["unit"] == "cycles" and rows["crossing.int.k2u"]["unit"] == "tsc"


# --- reach and plots ------------------------------------------------------------------------------

def refill_log(tmp_path: Path, stlb: int) -> Path:
    """A refill curve whose dtlb_walks (flushed minus warm) is K up to `stlb` pages, then 0."""
    lines = [ENV.replace('"cycles":{', '"dtlb_walks":{"event":"x","counter":"general",'
                         '"index":0},"cycles":{')]
    for k in (2**i for i in range(13)):
        walks = float(k if k <= stlb else 0)
        lines.append('PTIBENCH {"type":"result","name":"tlb.refill.cr3.%d","group":"tlb",'
                     '"status":"ok","unit":"tsc","n":3,"q1":%d.000,"median":%d.000,'
                     '"q3":%d.000,"instructions":0,"dtlb_walks":{"median":%.3f},'
                     '"flush":"cr3","pages":%d,"global":false}' % (k, 10 * k, 10 * k, 10 * k,
                                                                    walks, k))
    return write(tmp_path, f"refill-{stlb}.log", "\n".join(lines) + "\n")


@pytest.mark.parametrize("stlb", [128, 512])
def test_reach_from_counted_walks_finds_the_stlb(tmp_path: Path, run_cli, stlb: int) -> None:
    r = run_cli("reach", "-f", "json", refill_log(tmp_path, stlb))
    assert r.code == 0, r.err
    est = [e for e in json.loads(r.out)["runs"][0]["estimates"]
           if e["measure"] == "dtlb_walks" and e["flush"] == "cr3"]
    assert len(est) == 1 and est[0]["bends"][0]["below"] == stlb
    assert est[0]["bends"][0]["above"] == 2 * stlb
    assert est[0]["bends"][0]["level"] == "STLB (all levels)"


def test_reach_from_the_counting_fixture(run_cli) -> None:
    r = run_cli("reach", f"{COUNTING}:1")
    assert r.code == 0, r.err
    assert ("after `cr3`, from `stlb_hits` (counted): first-level DTLB (estimate) between 64 "
            "and 128 pages") in r.out
    assert ("after `cr3`, from `dtlb_walks` (counted): STLB (all levels) (estimate) between "
            "1024 and 2048 pages") in r.out
    r = run_cli("reach", METAL)
    assert "counted" not in r.out  # no counters, no counted estimate


def test_plots_in_cycles_and_walks(run_cli, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "one"
    r = run_cli("plot", f"{COUNTING}:1", "-o", out, "--formats", "png", "--unit", "cycles")
    assert r.code == 0, r.err
    got = sorted(Path(p).name for p in r.out.split())
    assert "tlb-refill.png" in got and "tlb-refill-dtlb_walks.png" in got
    assert "crossings.png" not in got and "crossings: not drawn" in r.err  # no cycles there
    r = run_cli("plot", METAL, "-o", tmp_path / "metal", "--formats", "png")
    assert "tlb-refill-dtlb_walks.png" not in r.out
    r = run_cli("plot", f"{COUNTING}:1", f"{COUNTING}:2", "-o", tmp_path / "two",
                "--formats", "svg", "--unit", "cycles")
    assert r.code == 0 and "compare-cr3.svg" in r.out, r.err
    assert run_cli("plot", COUNTING, "-o", tmp_path / "x", "--unit", "bogus").code == 2


def test_a_counter_the_env_lists_is_read_but_never_a_contract_field(tmp_path: Path) -> None:
    """A newer kernel's counter (named in pmu.counters) is read like the others; a name that
    is a field of the contract or of the tool's output stays what it is."""
    env = ENV.replace('"cycles":{', '"l2_misses":{"event":"L2.MISS"},"line":{"event":"x"},'
                      '"median":{"event":"y"},"cycles":{')
    rec = ok("cr3.a", ',"l2_misses":{"median":0.500},"line":{"median":1.000}')
    log = write(tmp_path, "new.log", "\n".join([env, rec, SUMMARY]) + "\n")
    r = read_capture(str(log)).runs[0].results["cr3.a"]
    assert set(r.counters) == {"l2_misses"} and r.counters["l2_misses"].median == 0.5
    assert r.median == 2.0


def test_a_name_only_shaped_like_a_counter_is_ignored(tmp_path: Path) -> None:
    """Unknown fields stay ignored (the contract): an object that no env lists, not a raw
    event name, is not taken for a counter."""
    log, name = hostile(tmp_path, ',"histogram":{"median":3.000}')
    cap = read_capture(name)
    assert cap.runs[0].results["cr3.bad"].counters == {} and cap.diagnostics == []


def test_list_names_the_pmu_state_and_counters(run_cli) -> None:
    r = run_cli("list", COUNTING, NOT_COUNTING, METAL)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[1].endswith("bare metal, PMU counting (cycles ref_cycles inst_retired "
                             "dtlb_walks itlb_walks stlb_hits)")
    assert lines[2].endswith("PMU counting (cycles ref_cycles inst_retired dtlb_walks r1008)")
    assert lines[4].endswith("emulator, PMU not-counting")
    assert "PMU" not in lines[-1]  # a 0.1 log has no pmu object


def test_env_pmu_crossings_is_read_and_shown(tmp_path: Path) -> None:
    # 0.4: what the crossings' counter passes read; a test mode is said even where nothing counts.
    env = ('PTIBENCH {"type":"env","vendor":"GenuineIntel","bare_metal":false,"pmu":'
           '{"state":"not-counting","reason":"r","crossings":{"source":"fake-tsc",'
           '"reason":"a test, not a counter"}}}')
    log = write(tmp_path, "x.log", "\n".join([env, ok("cr3.a"), SUMMARY]) + "\n")
    cap = read_capture(str(log))
    assert not [d for d in cap.diagnostics if "env" in d.message], [str(d) for d in cap.diagnostics]
    pmu = cap.runs[0].env.pmu
    assert (pmu.crossings_source, pmu.crossings_reason) == ("fake-tsc", "a test, not a counter")
    assert pmu.text.endswith("; crossings: fake-tsc (a test, not a counter)"), pmu.text
    # "none" where nothing counts says nothing new; a wrong type is reported, the run kept.
    quiet = env.replace('"source":"fake-tsc"', '"source":"none"')
    log = write(tmp_path, "y.log", "\n".join([quiet, ok("cr3.a"), SUMMARY]) + "\n")
    assert "crossings" not in read_capture(str(log)).runs[0].env.pmu.text
    bad = env.replace('"source":"fake-tsc"', '"source":3')
    log = write(tmp_path, "z.log", "\n".join([bad, ok("cr3.a"), SUMMARY]) + "\n")
    cap = read_capture(str(log))
    assert any('env.pmu.crossings: field "source" should be a string' in str(d)
               for d in cap.diagnostics), [str(d) for d in cap.diagnostics]
    assert "cr3.a" in cap.runs[0].results
