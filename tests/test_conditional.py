"""Conditional MI I(X;Y|Z) (`mist.estimate(x, y, z=z)`, `mist estimate --z`), with the shipped checkpoint.

Reference: Z ~ N(0, I_2), X = Z_1 + E_1, Y = Z_2 + X + E_2 with unit noises, so
I(X;Y|Z) = I(E_1; E_1 + E_2) = log(2) / 2 = 0.347 nats, while I(X;Y) is smaller (Z_2 adds noise to Y).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import mist
from mist.cli import main

TRUE = 0.5 * math.log(2.0)


def _triple(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    x = z[:, :1] + rng.normal(size=(n, 1))
    y = z[:, 1:] + x + rng.normal(size=(n, 1))
    return x, y, z


def _quiet(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mist.MISTWarning)
        return mist.estimate(*args, **kw)


def test_a_gaussian_cmi_is_read_with_an_interval_that_covers_it():
    r = _quiet(*_triple()[:2], z=_triple()[2])
    assert r.conditional and r.dz == 2 and (r.dx, r.dy) == (1, 1)
    assert abs(r.mi - TRUE) < 0.08 and r.lower <= TRUE <= r.upper
    assert set(r.diagnostics["terms"]) == {"I(X;YZ)", "I(X;Z)"}  # X has no more columns than Y: its decomposition
    assert "I(X;Y|Z)" in r.summary() and "dz = 2" in r.summary() and r.to_dict()["dz"] == 2


def test_without_z_the_estimate_is_plain_mi_and_unchanged():
    x, y, _ = _triple()
    a, b = _quiet(x, y), _quiet(x, y, z=None)
    assert a.mi == b.mi and not a.conditional and a.to_dict()["dz"] == 0


def test_a_markov_chain_reads_near_zero_and_its_interval_holds_zero():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 2))
    z = x @ rng.normal(size=(2, 2)) + 0.5 * rng.normal(size=(2000, 2))
    y = z[:, :1] + rng.normal(size=(2000, 1))  # X -> Z -> Y: I(X;Y|Z) = 0 although I(X;Y) is not
    r = _quiet(x, y, z=z)
    assert r.lower == 0.0 and r.mi < 0.1
    assert _quiet(x, y).mi > 0.2


def test_units_bits_divide_by_ln_2():
    x, y, z = _triple()
    nats, bits = _quiet(x, y, z=z), _quiet(x, y, z=z, units="bits")
    assert bits.mi == pytest.approx(nats.mi / math.log(2.0)) and bits.units == "bits"


@pytest.mark.parametrize("bad, message", [
    (lambda x, y, z: (x, y, z[:500]), "z has 500 samples but x and y have 1000"),
    (lambda x, y, z: (x, y, np.where(np.arange(1000)[:, None] == 3, np.nan, z)), "z contains 2 NaN values .* in x, y and z"),
    (lambda x, y, z: (x, y, np.hstack([z, x])), "is the same as x column 0"),
    (lambda x, y, z: (x, y, np.hstack([y, z])), "is the same as y column 0"),
])
def test_bad_conditioning_sets_are_clear_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        x, y, z = bad(*_triple())
        mist.estimate(x, y, z=z)


def test_pandas_z_with_another_index_is_refused():
    x, y, z = _triple()
    with pytest.raises(ValueError, match="x and z have different indexes"):
        mist.estimate(pd.DataFrame(x), pd.DataFrame(y), z=pd.DataFrame(z).iloc[::-1])


def test_the_command_line_reads_z(tmp_path, capsys):
    x, y, z = _triple()
    table = tmp_path / "d.csv"
    np.savetxt(table, np.hstack([x, y, z]), delimiter=",", header="a,b,c,d", comments="")
    assert main(["estimate", str(table), "--x", "a", "--y", "b", "--z", "c,d", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dz"] == 2 and out["z"] == ["c", "d"] and abs(out["mi"] - TRUE) < 0.08
    assert main(["estimate", str(table), "--x", "a", "--y", "b", "--z", "a,d"]) == 1
    assert "selected for both --x and --z" in capsys.readouterr().err


def test_the_readme_s_causal_chain_is_dependent_and_conditionally_independent():
    rng = np.random.default_rng(0)
    smoking = rng.normal(size=2000)
    tar = np.tanh(smoking) + 0.5 * rng.normal(size=2000)
    cancer = tar + 0.5 * rng.normal(size=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", mist.MISTWarning)  # no disagreement warning on this chain
        plain, given = mist.estimate(smoking, cancer), mist.estimate(smoking, cancer, z=tar)
    assert plain.lower > 0.2 and given.lower == 0.0 and given.mi < 0.02


def test_nonlinear_dependence_on_z_is_read_from_the_residuals():
    """X = |Z| + E_x, Y = 2|Z| + E_y, corr(E_x, E_y) = 0.8: I(X;Y|Z) = -log(1 - 0.64) / 2 = 0.51
    nats, which the copula's chain rule misreads (Z's square-like pull stays in both)."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=(3000, 1))
    e = 0.5 * rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=3000)
    r = _quiet(np.abs(z) + e[:, :1], 2 * np.abs(z) + e[:, 1:], z=z)
    truth = -0.5 * math.log(1 - 0.64)
    assert r.diagnostics["residual_weight"] == 1.0
    assert abs(r.mi - truth) < 0.1 and r.lower <= truth <= r.upper
    assert abs(r.diagnostics["copula_cmi"] - truth) > 0.1
