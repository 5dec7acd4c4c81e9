"""GeneratorConfig validation and the DatasetSampler contract used by training."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from data_gen import FAMILIES, TRANSFORMS, DatasetSampler, GeneratorConfig, SampleSet
from data_gen.config import MIComponent
from data_gen.sampler import truncated_prior_sample

ROOT = Path(__file__).resolve().parents[1]
GEN = ROOT / "configs" / "generator"
BASE = {"families": ["gaussian_sparse"], "transforms": ["warp_asinh"]}


def _yaml(name):
    from omegaconf import OmegaConf

    return OmegaConf.load(GEN / f"{name}.yaml")


# ---------------------------------------------------------------- config
@pytest.mark.parametrize("change,words", [
    ({"dx": 0}, ["'dx'", ">= 1"]),
    ({"dy": [3, 2]}, ["'dy'", "lo <= hi"]),
    ({"mi_prior": [{"low": -1.0, "high": 3.0}]}, ["mi_prior[0]", "0 <= low < high"]),
    ({"mi_prior": [{"low": 4.0, "high": 2.0}]}, ["mi_prior[0]", "low < high"]),
    ({"mi_prior": []}, ["'mi_prior' is empty"]),
    ({"families": ["gaussian"]}, ["unknown family 'gaussian'", "gaussian_dense"]),
    ({"families": []}, ["'families' is empty"]),
    ({"families": {"student_t": 0}}, ["families.student_t", "weight must be > 0"]),
    ({"transforms": ["warp_tanh"]}, ["unknown transform 'warp_tanh'", "warp_asinh"]),
    ({"n": 5}, ["'n'", ">= 10", "at least 10 samples"]),
    ({"max_mi_per_dim": 30}, ["'max_mi_per_dim'", "float32"]),
    ({"min_chain": 3, "max_chain": 1}, ["min_chain <= max_chain"]),
    ({"dim_prior": "normal"}, ["'dim_prior'", "log_uniform"]),
    ({"dx": 1, "mi_prior": [{"low": 10, "high": 20}]}, ["'mi_prior'", "raise dx/dy"]),
    ({"colour": "red"}, ["unknown key(s) ['colour']"]),
    ({"family_options": {"student_t": {"dof": [0, 3]}}}, ["family_options.student_t.dof"]),
    ({"family_options": {"student_t": {"nu": 3}}}, ["family_options.student_t", "unknown option(s) ['nu']"]),
    ({"transform_options": {"spirall": {}}}, ["transform_options", "unknown name 'spirall'"]),
])
def test_bad_configs_are_rejected_with_the_key_and_the_fix(change, words):
    with pytest.raises(ValueError) as err:
        GeneratorConfig.from_dict({**BASE, **change})
    for w in words:
        assert w in str(err.value), str(err.value)


def test_config_round_trips_and_accepts_omegaconf_and_plain_forms():
    from omegaconf import OmegaConf

    cfg = GeneratorConfig.from_dict({"families": {"student_t": 2, "uniform_noise": 1}, "transforms": [],
                                     "n": 512, "dx": 3, "dy": [1, 4], "mi_prior": [[0, 10]]})
    assert cfg.n == (512, 512) and cfg.dx == (3, 3) and cfg.mi_prior == (MIComponent(1.0, 0.0, 10.0),)
    again = GeneratorConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.fingerprint() == cfg.fingerprint()
    assert GeneratorConfig.from_dict(OmegaConf.create(cfg.to_dict())) == cfg


@pytest.mark.parametrize("name", ["default", "heldout", "heldout_family", "heldout_transforms"])
def test_shipped_generator_configs_load_and_comment_every_key(name):
    GeneratorConfig.from_dict(_yaml(name))
    for line in (GEN / f"{name}.yaml").read_text().splitlines():
        if line and not line.startswith(("#", " ", "-")) and ":" in line:
            assert "#" in line, f"{name}.yaml: key without a comment: {line!r}"


def test_heldout_names_are_absent_from_default():
    default, held = (GeneratorConfig.from_dict(_yaml(n)) for n in ("default", "heldout"))
    assert not set(held.families) & set(default.families)
    assert not set(held.transforms) & set(default.transforms)
    assert held.min_chain >= 1, "every held-out set carries a held-out transform"
    fam, tr = (GeneratorConfig.from_dict(_yaml(n)) for n in ("heldout_family", "heldout_transforms"))
    assert set(fam.families) == set(held.families) and set(tr.transforms) == set(held.transforms)
    structures = GeneratorConfig.from_dict(_yaml("structures"))
    assert set(FAMILIES) == set(default.families) | set(held.families) | set(structures.families)
    assert not set(structures.families) & (set(default.families) | set(held.families))
    assert set(TRANSFORMS) == set(default.transforms) | set(held.transforms)


# ---------------------------------------------------------------- sampler
def test_sample_shapes_types_and_fixed_shape():
    sampler = DatasetSampler(_yaml("default"))
    rng = np.random.default_rng(0)
    for _ in range(30):
        s = sampler.sample(rng)
        assert isinstance(s, SampleSet) and s.x.dtype == np.float32 and s.y.dtype == np.float32
        assert 16 <= s.n <= 4096 and 1 <= s.dx <= 32 and 1 <= s.dy <= 32
        assert np.isfinite(s.x).all() and np.isfinite(s.y).all() and s.mi >= 0
        assert s.family in FAMILIES and s.transform.startswith("x:") and ";y:" in s.transform
        json.dumps(s.params)
        assert s.seed is None
    s = sampler.sample(rng, n=512, dx=3, dy=5)
    assert s.x.shape == (512, 3) and s.y.shape == (512, 5)
    s = sampler.sample(rng, dx=1)
    assert s.dx == 1


def test_same_seed_same_sample_and_seed_recorded():
    sampler = DatasetSampler(_yaml("default"))
    a, b = sampler.sample_seeded(123), sampler.sample_seeded(123)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert (a.mi, a.transform, a.params, a.seed) == (b.mi, b.transform, b.params, 123)


def test_label_equals_the_drawn_target():
    sampler = DatasetSampler(_yaml("default"))
    rng = np.random.default_rng(1)
    for _ in range(100):
        s = sampler.sample(rng, n=16)
        assert s.mi == pytest.approx(s.params["target_mi"], rel=1e-6, abs=1e-9)
        assert s.mi <= min(s.dx, s.dy) * 8.0 + 1e-9


def test_labels_follow_the_truncated_mixture_prior():
    comps = (MIComponent(0.7, 0.0, 5.0), MIComponent(0.2, 5.0, 15.0), MIComponent(0.1, 15.0, 40.0))
    rng = np.random.default_rng(2)
    for cap in (40.0, 8.0):
        draws = np.array([truncated_prior_sample(rng, comps, cap) for _ in range(4000)])
        kept = np.array([c.weight * max(0, min(c.high, cap) - c.low) / (c.high - c.low) for c in comps])
        kept /= kept.sum()

        def cdf(t, kept=kept, cap=cap):
            return sum(k * np.clip((t - c.low) / (min(c.high, cap) - c.low), 0, 1)
                       for k, c in zip(kept, comps) if k > 0)

        assert draws.max() <= cap and stats.kstest(draws, cdf).pvalue > 1e-3


def test_default_prior_reaches_every_range_when_dims_allow():
    sampler = DatasetSampler(_yaml("default"))
    rng = np.random.default_rng(3)
    mi = np.array([sampler.sample(rng, n=16, dx=8, dy=8).mi for _ in range(600)])
    assert 0.6 < np.mean(mi < 5) < 0.8 and np.mean(mi > 15) > 0.05 and mi.max() <= 40


def test_drawn_dims_can_carry_a_prior_that_excludes_small_mi():
    sampler = DatasetSampler({**BASE, "dx": [1, 8], "dy": [1, 8], "mi_prior": [{"low": 20, "high": 30}]})
    rng = np.random.default_rng(4)
    for _ in range(20):
        s = sampler.sample(rng, n=16)
        assert 20 <= s.mi <= 30 and min(s.dx, s.dy) >= 3
    with pytest.raises(ValueError, match="raise dx/dy"):
        sampler.sample(rng, n=16, dx=1, dy=1)


def test_chain_lengths_and_dimension_limits():
    sampler = DatasetSampler({"families": ["gaussian_sparse"], "transforms": ["spiral", "flow"],
                              "min_chain": 1, "max_chain": 1})
    rng = np.random.default_rng(5)
    s = sampler.sample(rng, n=16, dx=1, dy=2)  # nothing applies to a 1-D side: it stays as is
    assert s.transform.startswith("x:identity;y:")
    plain = DatasetSampler({"families": ["gaussian_sparse"], "transforms": []})
    assert plain.sample(rng, n=16).transform == "x:identity;y:identity"


def test_extreme_draws_stay_finite():
    sampler = DatasetSampler({"families": ["student_t", "gamma_exponential"],
                              "transforms": ["warp_power", "warp_power", "linear", "spiral"],
                              "family_options": {"student_t": {"dof": [0.3, 0.5]}},
                              "transform_options": {"warp_power": {"max_power": 3.0}},
                              "min_chain": 2, "max_chain": 3, "mi_prior": [{"low": 0, "high": 40}]})
    rng = np.random.default_rng(6)
    for _ in range(20):
        s = sampler.sample(rng, n=2048, dx=8, dy=8)
        assert np.isfinite(s.x).all() and np.isfinite(s.y).all()


def test_monte_carlo_agrees_with_labels_over_default_draws():
    sampler = DatasetSampler(_yaml("default"))
    rng = np.random.default_rng(7)
    for _ in range(12):
        draw = sampler.draw(rng, n=4000)
        s = draw.sample_set
        lr = draw.log_ratio(s.x, s.y)
        assert abs(lr.mean() - s.mi) <= 5 * lr.std() / math.sqrt(s.n) + 5e-3, (s.family, s.transform, s.mi)


def test_data_gen_runs_without_torch():
    code = ("import sys, numpy as np, data_gen, data_gen.generate; "
            "from data_gen import DatasetSampler; "
            f"DatasetSampler(dict(families={sorted(FAMILIES)!r}, transforms={sorted(set(TRANSFORMS) - {'flow'})!r}))"
            ".sample(np.random.default_rng(0)); "
            "assert 'torch' not in sys.modules and 'normflows' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize("family, transform, elliptical", [
    ("gaussian_dense", "x:identity;y:identity", True),
    ("student_t", "x:warp_asinh+warp_power;y:warp_wiggly", True),  # monotone warps keep the copula
    ("gaussian_sparse", "x:linear+warp_steps;y:linear", True),  # linear first: the joint stays elliptical
    ("gaussian_lowrank", "x:warp_asinh+linear;y:identity", False),  # linear after a warp: not elliptical
    ("gaussian_dense", "x:identity;y:spiral", False),
    ("uniform_noise", "x:identity;y:identity", False),
    ("gamma_exponential", "x:identity;y:identity", False),
    ("no_such_family", "x:identity;y:identity", False),
])
def test_elliptical_copula_names_the_sets_where_the_core_is_consistent(family, transform, elliptical):
    from data_gen import elliptical_copula

    assert elliptical_copula(family, transform) is elliptical


def test_sets_flagged_elliptical_are_read_exactly_by_the_gaussian_copula():
    """The flag means what it says: on a flagged set (a Gaussian through linear maps and then
    monotone warps) the Gaussian copula of the sample reads the exact MI."""
    from data_gen import elliptical_copula
    from mist.baselines.gaussian import Gaussian

    sampler = DatasetSampler({"families": ["gaussian_dense"], "transforms": ["linear", "warp_power", "warp_asinh"],
                              "min_chain": 2, "max_chain": 2, "mi_prior": [{"weight": 1, "low": 1.0, "high": 1.0001}]})
    rng = np.random.default_rng(3)
    flagged = 0
    for _ in range(6):
        s = sampler.sample(rng, n=20000, dx=2, dy=2)
        if elliptical_copula(s.family, s.transform):
            flagged += 1
            assert abs(Gaussian(copula=True).estimate(s.x, s.y) - s.mi) < 0.05, s.transform
    assert flagged >= 2
