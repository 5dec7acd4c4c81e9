"""Training batches: subsampling and padding, the token budget, and the split across ranks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from scipy.stats import norm

from data_gen import SampleSet, write_shard
from mist.stats import NUM_FEATURES
from mist.training.batching import collate, draw_log_uniform_int
from mist.training.datasets import GeneratedBatches, ShardBatches, sets_per_batch
from mist.training.train import train

SMALL = {"n": [40, 80], "dx": [1, 3], "dy": [1, 3]}


def _generator() -> dict:
    """The training prior of the smoke experiment (a mixture)."""
    with initialize_config_module(config_module="mist.configs", version_base="1.3"):
        cfg = compose(config_name="train", overrides=["experiment=smoke"])
    return OmegaConf.to_container(cfg.data.generator, resolve=True)


def _plain_generator() -> dict:
    """One generator config (shards are written from one config)."""
    return _generator()["mixture"]["broad"]["generator"]


def _set(n: int, dx: int, dy: int, mi: float) -> SampleSet:
    rng = np.random.default_rng(int(mi * 100))
    x = rng.normal(size=(n, dx)).astype(np.float32)
    y = rng.normal(size=(n, dy)).astype(np.float32)
    return SampleSet(x=x, y=y, mi=mi, family="test", transform="", params={})


def test_collate_subsamples_to_one_n_summarises_and_pads_coordinates_with_masks():
    sets = [_set(50, 2, 1, 0.5), _set(30, 1, 3, 1.5)]
    b = collate(sets, 20, np.random.default_rng(0))
    assert b["x"].shape == (2, 20, 2) and b["y"].shape == (2, 20, 3)
    assert b["x_mask"].tolist() == [[True, True], [True, False]]
    assert b["y_mask"].tolist() == [[True, False, False], [True, True, True]]
    assert torch.all(b["x"][1, :, 1] == 0) and torch.all(b["y"][0, :, 1:] == 0)
    # every column holds the normal scores of 20 distinct rows (subsampled without replacement)
    scores = np.sort(norm.ppf(np.arange(1, 21) / 21.0)).astype(np.float32)
    for col in b["x"][0].T.numpy():
        np.testing.assert_allclose(np.sort(col), scores, atol=1e-6)
    assert b["features"].shape == (2, NUM_FEATURES) and torch.isfinite(b["features"]).all()
    assert b["base"].shape == (2,) and torch.all(b["base"] >= 0)
    assert b["mi"].tolist() == [0.5, 1.5]


def test_collate_gives_the_attention_at_most_its_rows():
    b = collate([_set(300, 2, 2, 0.5)], 300, np.random.default_rng(0), attention_rows=64)
    assert b["x"].shape == (1, 64, 2) and b["y"].shape == (1, 64, 2)


def test_collate_refuses_sets_smaller_than_the_batch_n():
    with pytest.raises(ValueError, match="fewer than the batch's n"):
        collate([_set(10, 1, 1, 0.1)], 20, np.random.default_rng(0))


def test_token_budget_caps_sets_per_batch():
    assert sets_per_batch(32, None, 4096, 40) == 32
    assert sets_per_batch(32, 131072, 16, 2) == 32
    assert sets_per_batch(32, 131072, 4096, 8) == 4
    assert sets_per_batch(32, 1000, 4096, 40) == 1  # never empty


def test_log_uniform_draws_stay_in_range():
    rng = np.random.default_rng(0)
    draws = [draw_log_uniform_int(rng, 16, 4096) for _ in range(2000)]
    assert min(draws) >= 16 and max(draws) <= 4096
    assert np.median(draws) < 600  # log-uniform: the median is near sqrt(16 * 4096) = 256


def test_generated_batches_share_a_shape_and_differ_between_ranks():
    streams = []
    for rank in (0, 1):
        ds = GeneratedBatches(_generator(), batch_size=4, batches_per_epoch=3, seed=0)
        ds.rank, ds.world = rank, 2
        torch.manual_seed(0)  # the same main-process RNG on both ranks, as under DDP
        batches = list(ds)
        assert len(batches) == 3
        for b in batches:
            assert b["x"].ndim == 3 and b["x_mask"].all() and b["y_mask"].all()
        streams.append(torch.cat([b["mi"] for b in batches]))
    assert not torch.equal(streams[0], streams[1])


def test_shard_batches_give_each_rank_its_own_shards(tmp_path):
    for k in range(4):
        write_shard(tmp_path, k, {**_plain_generator(), **SMALL}, datasets_per_shard=3, base_seed=0)
    seen = []
    for rank in (0, 1):
        ds = ShardBatches(str(tmp_path), batch_size=3, batches_per_epoch=2, min_n=16, seed=0)
        ds.rank, ds.world = rank, 2
        seen.append({round(v, 6) for b in ds for v in b["mi"].tolist()})
    assert seen[0] and seen[1] and not seen[0] & seen[1]


def test_training_runs_from_shards(tmp_path):
    shards = tmp_path / "shards"
    for k in range(2):
        write_shard(shards, k, {**_plain_generator(), **SMALL}, datasets_per_shard=4, base_seed=0)
    with initialize_config_module(config_module="mist.configs", version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=["experiment=smoke", "data=shards", f"data.shards={shards}", "data.num_workers=0",
                       f"run_dir={tmp_path / 'run'}", "trainer.max_steps=2", "export=false"],
        )
    result = train(cfg)
    assert np.isfinite(result["train/loss"])


def test_missing_shard_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="mist-generate"):
        ShardBatches(str(tmp_path / "nowhere"), batch_size=2, batches_per_epoch=1)
