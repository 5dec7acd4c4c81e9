"""Property-based tests (hypothesis) of the input layer, the statistics and the CLI reader: every
input ends in a finite result or the project's own error (ValueError with a message), never in
another exception."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mist import MIEstimator, MISTWarning
from mist.datafiles import read_xy
from mist.inputs import as_pair
from mist.model import MISTNetwork, NetworkConfig
from mist.stats import summarize

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8, np.bool_])


def arrays(dtype=DTYPES):
    """Any shape with 0 to 3 axes, any of these dtypes; floats include NaN, infinities and extremes."""
    return dtype.flatmap(lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=40)))


@pytest.fixture(scope="module")
def est():
    torch.manual_seed(0)
    net = MISTNetwork(NetworkConfig(hidden=8, sample_hidden=8, heads=2, blocks=1, sample_blocks=1, inducing_points=2))
    card = {"trained_ranges": {"n": [10, 4096], "dx": [1, 8], "dy": [1, 8], "mi": [0.0, 40.0], "max_mi_per_dim": 8.0}}
    return MIEstimator(net, card, device="cpu")


@FAST
@given(x=arrays(), y=arrays())
def test_as_pair_gives_float64_pairs_or_a_value_error(x, y):
    try:
        p = as_pair(x, y)
    except ValueError as e:
        assert str(e)
        return
    assert p.x.dtype == p.y.dtype == np.float64 and np.isfinite(p.x).all() and np.isfinite(p.y).all()
    assert p.x.shape[0] == p.y.shape[0] >= 10


finite_tables = st.tuples(st.integers(10, 60), st.integers(1, 4), st.integers(1, 4)).flatmap(
    lambda s: st.tuples(
        hnp.arrays(np.float64, (s[0], s[1]), elements=st.sampled_from([0.0, 1.0, 2.0, -5.0, 1e6]) | st.floats(-1e6, 1e6)),
        hnp.arrays(np.float64, (s[0], s[2]), elements=st.sampled_from([0.0, 1.0, 7.0]) | st.floats(-1e6, 1e6)),
    ))


@FAST
@given(xy=finite_tables)
def test_statistics_are_finite_for_any_finite_sample(xy):
    """Ties, constant columns, duplicated rows and n close to dx + dy included."""
    x, y = xy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = summarize(x, y)
    assert np.isfinite(s.features).all() and math.isfinite(s.core_mi) and s.core_mi >= 0


_TINY = np.full((10, 2), 4.5e-241)
_TINY[0, 0] = _TINY[1, 1] = 0.0


@FAST
@given(xy=finite_tables)
@example(xy=(np.zeros((10, 1)), _TINY))  # values whose squares underflow: the column reduction once read NaN
@example(xy=(np.arange(10.0)[:, None], _TINY))
def test_an_estimate_is_finite_and_ordered_for_any_finite_sample(est, xy):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MISTWarning)
        r = est.estimate(*xy)
    q = list(r.quantiles.values())
    assert all(math.isfinite(v) and v >= 0 for v in q) and q == sorted(q)


cells = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.sampled_from(["", "NA", "x", "1e5", "-0", '"3"', " 2 "]))


@FAST
@given(
    rows=st.lists(st.lists(cells, min_size=1, max_size=4), min_size=0, max_size=15),
    delimiter=st.sampled_from([",", ";", "\t", " "]),
    header=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]),
    cut=st.floats(0.0, 1.0),
)
def test_the_csv_reader_reads_or_names_the_problem(tmp_path_factory, rows, delimiter, header, encoding, cut):
    text = ("a,b,c\n" if header else "") + "\n".join(delimiter.join(r) for r in rows)
    data = text.encode(encoding, errors="replace")
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_bytes(data[: int(len(data) * cut)])  # truncated anywhere
    try:
        x, y = read_xy(path, "0", "1")
    except ValueError as e:
        assert str(e)
        return
    assert x.data.shape[0] == y.data.shape[0] and x.data.dtype == np.float64
