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
                 "--samples", "0"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "--samples" in err
