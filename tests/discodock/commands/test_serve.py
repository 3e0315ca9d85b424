"""``discodock serve`` options: bad values, the missing-extra message, the no-authentication warning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from discodock.cli import main
from discodock.commands.serve import _is_loopback


def test_bad_options_exit_2(capsys, tmp_path):
    assert main(["serve", "--workers", "0", "--data-dir", str(tmp_path)]) == 2
    assert "--workers: must be at least 1" in capsys.readouterr().err
    assert main(["serve", "--max-upload-mb", "0", "--data-dir", str(tmp_path)]) == 2


def test_missing_web_extra_says_how_to_install(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if the extra were not installed
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pip install 'discodock[web]'" in err and len(err.strip().splitlines()) == 1


def test_loopback_addresses():
    assert _is_loopback("127.0.0.1") and _is_loopback("localhost") and _is_loopback("::1")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("192.168.1.5") and not _is_loopback("example.org")


def test_public_address_prints_a_no_authentication_warning(tmp_path):
    pytest.importorskip("uvicorn", reason="needs the web extra")
    proc = subprocess.Popen([sys.executable, "-m", "discodock.cli", "serve", "--host", "0.0.0.0", "--port", "0",
                             "--data-dir", str(tmp_path)], stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    try:
        first = proc.stderr.readline()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "warning" in first and "no authentication" in first
