"""Journal (torn last line after a kill) and manifest (changed settings refused)."""

import pytest

from discodock.errors import ConfigError
from discodock.screen.journal import Journal, check_manifest


def test_a_torn_last_line_is_dropped_and_cut(tmp_path):
    path = tmp_path / "j.jsonl"
    j = Journal(path, key="id")
    j.append({"id": "a", "v": 1})
    j.append({"id": "b", "v": 2})
    j.close()
    with open(path, "a") as fh:
        fh.write('{"id": "c", "v"')  # the process died mid-write
    assert Journal(path, key="id").done() == {"a", "b"}
    j = Journal(path, key="id")
    j.append({"id": "d"})
    j.close()
    assert [r["id"] for r in j.records()] == ["a", "b", "d"]


def test_manifest_refuses_changed_settings(tmp_path):
    path = tmp_path / "manifest.json"
    check_manifest(path, {"samples": 2, "seed": 0, "note": "x"})
    check_manifest(path, {"samples": 2, "seed": 0, "note": "y"}, ignore=("note",))
    with pytest.raises(ConfigError, match=r"samples: 2 -> 3"):
        check_manifest(path, {"samples": 3, "seed": 0, "note": "x"})
