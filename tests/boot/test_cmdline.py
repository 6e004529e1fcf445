"""The kernel command line: a requested fault is reported and fails the run; garbage is warned
about and ignored, the run keeping the default parameters."""

from bootlib import boot

GARBAGE = "reps=abc bogus=1 unroll=0 =x ,,,"


def plain():
    return boot("quick", "--accel", "tcg", "--entry", "quick", timeout=600)


def fault_ud():
    return boot("fault-ud", "--accel", "tcg", "--entry", "quick", "--cmdline", "fault=ud",
                timeout=600)


def garbage():
    return boot("garbage", "--accel", "tcg", "--entry", "quick", "--cmdline", GARBAGE,
                timeout=600)


def test_fault_ud_is_reported():
    run = fault_ud()
    faults = run.faults()
    assert faults, "no fault record\n" + run.describe()
    assert faults[-1]["mnemonic"] == "#UD", faults
    assert faults[-1]["vector"] == 6, faults
    assert any("invalid opcode" in line.lower() for line in run.human_lines()), \
        "no human fault report naming 'invalid opcode'\n" + run.describe()


def test_fault_ud_fails_the_run():
    run = fault_ud()
    summary = run.summary()
    assert summary is not None and summary["status"] == "fail", run.describe()
    assert run.returncode == 1, run.describe()
    assert run.damaged == [], run.damaged


def test_cmdline_reaches_the_kernel():
    run = garbage()
    env = run.env()
    assert env is not None, run.describe()
    assert env["cmdline"].split() == ["suite=quick", *GARBAGE.split()], env["cmdline"]


def test_garbage_is_warned_about():
    run = garbage()
    warnings = [line for line in run.human_lines() if "warning:" in line]
    for key in ("reps", "bogus", "unroll"):
        assert any(key in w for w in warnings), \
            f"no warning naming {key!r}; warnings: {warnings}\n" + run.describe()


def test_garbage_keeps_defaults_and_passes():
    run = garbage()
    assert run.returncode == 0, run.describe()
    summary = run.summary()
    assert summary is not None and summary["status"] == "pass", run.describe()
    reference = plain()
    assert reference.env() is not None, reference.describe()
    assert run.env()["params"] == reference.env()["params"], \
        f"garbage changed the parameters: {run.env()['params']} vs {reference.env()['params']}"


def test_an_argument_grub_quotes_is_read_as_the_options_inside():
    # A menu line `multiboot2 /boot/ptibench.elf 'suite=selftest reps=3'`: GRUB passes the
    # argument with its spaces in double quotes, "suite=selftest reps=3"; the kernel must read the
    # words inside as options (issue 9, item 8), not warn about a key `"suite`.
    import ptibench_report.harness as harness
    from bootlib import iso_path, log_dir

    quoted = log_dir() / "grub-quoted-iso"
    quoted.mkdir(parents=True, exist_ok=True)
    real_quote = harness.grub_quote
    harness.grub_quote = lambda word: word  # write the single quotes into grub.cfg as they are
    try:
        image = harness.variant_iso(iso_path(), "full", "'suite=selftest reps=3'", quoted)
    finally:
        harness.grub_quote = real_quote
    run = boot("grub-quoted", "--accel", "tcg", iso=image, timeout=300)
    assert run.returncode == 0, run.describe()
    env = run.env()
    assert '"suite=selftest reps=3"' in env["cmdline"], env["cmdline"]
    assert env["suite"] == "selftest" and env["params"]["reps"] == 3, env
    # The menu entry's own suite=full comes first: that repetition is the only warning.
    warnings = [l for l in run.human_lines() if l.startswith("warning: cmdline:")]
    assert warnings == ["warning: cmdline: suite given twice; using the last value selftest"], \
        warnings


def test_a_long_command_line_keeps_the_env_record_whole():
    # The env record repeats the command line verbatim: 1.5 KB of it must not cut the record.
    words = " ".join(f"x{i}=1" for i in range(150))
    run = boot("long", "--accel", "tcg", "--entry", "selftest", "--cmdline",
               f"reps=3 {words}", timeout=300)
    assert run.returncode == 0, run.describe()
    assert not run.damaged, run.damaged[:1]
    env = run.env()
    assert env is not None and env["cmdline"].endswith("x149=1"), run.describe()
    assert env["params"]["reps"] == 3
