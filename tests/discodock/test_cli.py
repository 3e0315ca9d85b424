"""The discodock console entry point: version, help, and one-line errors with exit status 2."""

import subprocess
import sys

import discodock
from discodock.cli import SUBCOMMANDS, main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert discodock.__version__ in capsys.readouterr().out


def test_help_lists_subcommands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in out


def test_console_script_runs():
    proc = subprocess.run([sys.executable, "-m", "discodock", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "dock" in proc.stdout and "benchmark" in proc.stdout


def test_input_error_is_one_line_exit_2(tmp_path, capsys):
    missing = tmp_path / "nope.pdb"
    code = main(["dock", "--protein", str(missing), "--ligand", "CCO", "--out", str(tmp_path / "o"),
                 "--samples", "-1"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "--samples" in err


def test_learning_rate_decay_ending_before_it_starts_is_a_config_error(tmp_path, capsys):
    """Caught when the config loads (one line naming the file), before any data is read or folder written."""
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("train:\n  lr_decay_start: 500\n  lr_decay_end: 400\n")
    out = tmp_path / "run"
    code = main(["train", "--config", str(cfg), "--data", str(tmp_path), "--train-ids", str(tmp_path / "ids.txt"),
                 "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not out.exists()
    assert len(err.splitlines()) == 1 and str(cfg) in err and "lr_decay_end (400) must be after" in err
