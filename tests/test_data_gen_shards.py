"""HDF5 shards: round trip, byte determinism, resume after interruption, corruption, CLI."""

import hashlib
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from data_gen import DatasetSampler, GeneratorConfig, ShardError, ShardReader, write_shard
from data_gen.generate import generate, select_shards
from data_gen.shards import dataset_seed, shard_path

ROOT = Path(__file__).resolve().parents[1]
CFG = {"families": ["gaussian_dense", "student_t", "uniform_noise"], "transforms": ["warp_asinh", "linear", "spiral"],
       "n": [16, 256], "dx": [1, 6], "dy": [1, 6]}


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_round_trip_matches_the_sampler(tmp_path):
    path = write_shard(tmp_path, 3, CFG, 5, base_seed=7)
    assert path == shard_path(tmp_path, 3) and path.name == "shard-000003.h5"
    reader = ShardReader(tmp_path)
    assert len(reader) == 5 and reader.shard_paths == [str(path)]
    sampler = DatasetSampler(CFG)
    for i in range(5):
        got, want = reader[i], sampler.sample_seeded(dataset_seed(7, 3, i))
        np.testing.assert_array_equal(got.x, want.x)
        np.testing.assert_array_equal(got.y, want.y)
        assert (got.mi, got.family, got.transform, got.params, got.seed) == \
            (want.mi, want.family, want.transform, want.params, want.seed)
        row = reader.index[i]
        assert (row["n"], row["dx"], row["dy"], row["mi"]) == (got.n, got.dx, got.dy, got.mi)
    assert reader[-1].mi == reader[4].mi
    with pytest.raises(IndexError):
        reader[5]


def test_shard_attributes_and_storage(tmp_path):
    path = write_shard(tmp_path, 0, CFG, 2, base_seed=0, compression="gzip")
    with h5py.File(path) as f:
        assert f.attrs["format"] == "mist-shard" and f.attrs["num_datasets"] == 2
        assert f.attrs["config_sha256"] == GeneratorConfig.from_dict(CFG).fingerprint()
        g = f["000001"]
        assert set(g.attrs) == {"mi", "family", "transform", "params", "n", "dx", "dy", "seed"}
        assert g["x"].dtype == np.float32 and g["x"].chunks == g["x"].shape and g["x"].fletcher32
        assert g["x"].compression == "gzip"
    assert len(ShardReader([path])) == 2


def test_same_config_and_index_give_identical_bytes(tmp_path):
    a = write_shard(tmp_path / "a", 1, CFG, 4, base_seed=5)
    time.sleep(1.1)  # HDF5 timestamps have one-second resolution: none may be stored
    b = write_shard(tmp_path / "b", 1, CFG, 4, base_seed=5)
    assert sha(a) == sha(b)
    assert sha(write_shard(tmp_path / "c", 2, CFG, 4, base_seed=5)) != sha(a)
    assert sha(write_shard(tmp_path / "d", 1, CFG, 4, base_seed=6)) != sha(a)


def test_reader_over_many_shards_and_lists(tmp_path):
    paths = [write_shard(tmp_path, k, CFG, 3, base_seed=0) for k in range(3)]
    reader = ShardReader(tmp_path)
    assert len(reader) == 9 and reader.locate(4) == (str(paths[1]), 1)
    part = ShardReader([paths[2], paths[0]])
    np.testing.assert_array_equal(part[0].x, reader[6].x)
    clone = pickle.loads(pickle.dumps(reader))  # DataLoader workers receive a pickled copy
    np.testing.assert_array_equal(clone[8].y, reader[8].y)
    reader.close()


def test_empty_or_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no shards"):
        ShardReader(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        ShardReader(tmp_path / "nope")


def test_truncated_shard_names_the_file(tmp_path):
    path = write_shard(tmp_path, 0, CFG, 4, base_seed=0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ShardError, match=str(path)):
        ShardReader(tmp_path)


def test_a_rerun_regenerates_a_truncated_shard_byte_for_byte(tmp_path, capsys):
    path = write_shard(tmp_path, 0, CFG, 4, base_seed=0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    write_shard(tmp_path, 0, CFG, 4, base_seed=0)
    assert path.read_bytes() == data
    assert "regenerating it" in capsys.readouterr().err


def test_corrupt_data_names_the_file(tmp_path):
    path = write_shard(tmp_path, 0, CFG, 4, base_seed=0)
    with h5py.File(path) as f:
        offset = f["000002"]["x"].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as fh:  # flip bytes inside one dataset's chunk: fletcher32 notices
        fh.seek(offset + 4)
        fh.write(b"\xff\x00\xff\x00")
    reader = ShardReader(tmp_path)
    reader[1]  # the other datasets are still readable
    with pytest.raises(ShardError, match=rf"{path}.*dataset 2"):
        reader[2]


def test_a_foreign_h5_file_is_rejected(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(ShardError, match="not a mist shard"):
        ShardReader(tmp_path)


def test_resume_skips_complete_shards_and_replaces_stale_tmp(tmp_path):
    done = [write_shard(tmp_path, k, CFG, 3, base_seed=0) for k in range(2)]
    stamps = [p.stat().st_mtime_ns for p in done]
    stale = shard_path(tmp_path, 2).with_name("shard-000002.h5.tmp")
    stale.write_bytes(b"half a shard")
    paths = generate(CFG, tmp_path, num_shards=3, datasets_per_shard=3, seed=0, progress=False)
    assert [p.stat().st_mtime_ns for p in paths[:2]] == stamps, "complete shards are not rewritten"
    assert not stale.exists() and len(ShardReader(tmp_path)) == 9
    assert sha(paths[2]) == sha(write_shard(tmp_path / "fresh", 2, CFG, 3, base_seed=0))


def test_existing_shard_from_another_config_is_not_silently_kept(tmp_path):
    write_shard(tmp_path, 0, CFG, 3, base_seed=0)
    with pytest.raises(FileExistsError, match="config_sha256"):
        write_shard(tmp_path, 0, {**CFG, "n": 64}, 3, base_seed=0)
    with pytest.raises(FileExistsError, match="base_seed"):
        write_shard(tmp_path, 0, CFG, 3, base_seed=1)
    write_shard(tmp_path, 0, CFG, 3, base_seed=1, overwrite=True)


_SLOW_WRITER = """
import sys, time
from data_gen import write_shard
cfg = dict(families=["gaussian_sparse"], transforms=[], n=64, dx=2, dy=2)
# each dataset waits, so the shard is still being written when the test kills this process
write_shard(sys.argv[1], 0, cfg, 200, base_seed=0, progress=lambda m: time.sleep(0.05))
"""


def test_resume_after_a_killed_run(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(out)], cwd=ROOT)
    tmp = out / "shard-000000.h5.tmp"
    while proc.poll() is None and not (tmp.exists() and tmp.stat().st_size > 0):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert tmp.exists() and not shard_path(out, 0).exists(), "no half-written shard under the final name"
    with pytest.raises(FileNotFoundError):
        ShardReader(out)
    cfg = dict(families=["gaussian_sparse"], transforms=[], n=64, dx=2, dy=2)
    generate(cfg, out, num_shards=1, datasets_per_shard=200, seed=0, progress=False)
    assert not tmp.exists() and len(ShardReader(out)) == 200
    assert sha(shard_path(out, 0)) == sha(write_shard(tmp_path / "ref", 0, cfg, 200, base_seed=0))


def test_select_shards():
    assert select_shards(None, 3) == [0, 1, 2]
    assert select_shards(2, 3) == [2]
    assert select_shards("1:3", 5) == [1, 2]
    assert select_shards(":2", 5) == [0, 1]
    assert select_shards([4, 0], 5) == [4, 0]
    with pytest.raises(ValueError, match="outside 0..2"):
        select_shards(3, 3)
    with pytest.raises(ValueError, match="'A:B'"):
        select_shards("a:b", 3)


def test_hydra_configs_compose_and_drive_generate(tmp_path):
    from hydra import compose, initialize_config_module

    with initialize_config_module("mist.configs", version_base=None):
        cfg = compose("generate", overrides=[f"out_dir={tmp_path}", "num_shards=2", "datasets_per_shard=2",
                                             "generator.n=[16,32]", "progress=false"])
        held = compose("generate", overrides=["generator=heldout"])
    assert "gamma_exponential" in held.generator.families
    paths = generate(cfg.generator, cfg.out_dir, cfg.num_shards, cfg.datasets_per_shard, seed=cfg.seed,
                     workers=cfg.workers, shard_index=cfg.shard_index, progress=cfg.progress)
    assert len(ShardReader(tmp_path)) == 4 and all(p.exists() for p in paths)


def test_cli_writes_identical_shards_with_workers_and_leaves_no_litter(tmp_path):
    exe = Path(sys.executable).with_name("mist-generate")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "data_gen.generate"]
    common = ["num_shards=2", "datasets_per_shard=3", "generator.n=[16,64]", "progress=false"]
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    subprocess.run(cmd + ["out_dir=one", "workers=1", *common], cwd=tmp_path, check=True, env=env)
    subprocess.run(cmd + ["out_dir=two", "workers=2", *common], cwd=tmp_path, check=True, env=env)
    subprocess.run(cmd + ["out_dir=three", "shard_index=1", *common], cwd=tmp_path, check=True, env=env)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "three", "two"], "no outputs/ or logs in cwd"
    for k in range(2):
        assert sha(tmp_path / "one" / f"shard-00000{k}.h5") == sha(tmp_path / "two" / f"shard-00000{k}.h5")
    assert [p.name for p in (tmp_path / "three").iterdir()] == ["shard-000001.h5"]
    assert sha(tmp_path / "three" / "shard-000001.h5") == sha(tmp_path / "one" / "shard-000001.h5")


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
        except (OSError, IndexError, ValueError):
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the run's processes")
@pytest.mark.slow
def test_sigkill_of_the_parent_leaves_no_worker_and_a_rerun_matches(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    args = ["num_shards=6", "datasets_per_shard=40", "generator.n=[256,512]", "progress=false", "seed=3"]
    killed, clean = tmp_path / "killed-run", tmp_path / "clean-run"
    proc = subprocess.Popen([sys.executable, "-m", "data_gen.generate", f"out_dir={killed}", "workers=2", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list(killed.glob("*.h5.tmp")) and time.time() < deadline:  # the workers are writing
        time.sleep(0.1)
    children = _children(proc.pid)
    assert len(children) >= 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(4)
    assert [p for p in children if _alive(p)] == []  # no worker, no resource tracker left behind
    for out, workers in ((killed, 2), (clean, 1)):  # the rerun finishes the killed run; a clean run to compare
        subprocess.run([sys.executable, "-m", "data_gen.generate", f"out_dir={out}", f"workers={workers}", *args],
                       check=True, capture_output=True)
    for k in range(6):
        name = f"shard-{k:06d}.h5"
        assert (killed / name).read_bytes() == (clean / name).read_bytes(), name


def test_a_config_that_cannot_work_is_one_line(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "data_gen.generate", f"out_dir={tmp_path}", "generator.n=5"],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.strip() == ("mist-generate: error: generator config 'n' must be an int >= 10 or [lo, hi] with "
                                  "10 <= lo <= hi (the estimator needs at least 10 samples), got [5, 5]")


def test_bad_workers_and_an_out_dir_that_is_a_file_are_named(tmp_path):
    from data_gen.generate import generate

    cfg = dict(families=["gaussian_sparse"], transforms=[], n=64, dx=2, dy=2)
    with pytest.raises(ValueError, match="workers must be an integer >= 0"):
        generate(cfg, tmp_path / "s", num_shards=1, datasets_per_shard=2, workers=-3)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        generate(cfg, tmp_path / "file", num_shards=1, datasets_per_shard=2)
