"""Shards: every N-th ligand, from I/N or from Slurm's job-array variables."""

import pytest

from discodock.errors import ConfigError
from discodock.screen.shards import Shard, parse_shard


def test_shards_partition_the_library():
    shards = [parse_shard(f"{i}/3") for i in range(3)]
    owners = [[s.index for s in shards if s.owns(p)] for p in range(10)]
    assert all(len(o) == 1 for o in owners)
    assert parse_shard(None) == Shard(0, 1)


def test_slurm_array_ids_need_not_start_at_zero():
    env = {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1",
           "SLURM_ARRAY_TASK_MAX": "4"}
    assert parse_shard("auto", env) == Shard(2, 4)
    assert parse_shard("auto", {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"}) == Shard(0, 2)


@pytest.mark.parametrize("text, env, needle", [
    ("3/3", None, "0 <= I < N"),
    ("a/b", None, "expected I/N"),
    ("auto", {}, "SLURM_ARRAY_TASK_ID"),
    ("auto", {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "0",
              "SLURM_ARRAY_TASK_MAX": "2"}, "not contiguous"),
])
def test_bad_shards(text, env, needle):
    with pytest.raises(ConfigError, match=needle):
        parse_shard(text, env if env is not None else {})
