"""Input conversion and validation (mist.inputs): what is accepted, each refusal's message, column warnings."""

import numpy as np
import pandas as pd
import pytest
import torch

from mist.inputs import MIN_N, TIE_SHARE, as_pair, column_ties, column_warnings
from mist.stats.scores import average_ranks, ranks_and_ties


# --- accepted containers ------------------------------------------------------------------------


def _reference(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2)), rng.standard_normal(n)


@pytest.mark.parametrize(
    "convert",
    [
        lambda a: a,
        lambda a: torch.from_numpy(a),
        lambda a: a.tolist(),
        lambda a: pd.DataFrame(a) if a.ndim == 2 else pd.Series(a),
    ],
    ids=["numpy", "torch", "list", "pandas"],
)
def test_containers_give_the_same_matrices(convert):
    x, y = _reference()
    p = as_pair(convert(x), convert(y))
    assert p.x.dtype == p.y.dtype == np.float64
    assert (p.n, p.dx, p.dy) == (40, 2, 1)
    np.testing.assert_array_equal(p.x, x)
    np.testing.assert_array_equal(p.y, y[:, None])


def test_other_accepted_types():
    n = 30
    p = as_pair(torch.arange(n, dtype=torch.bfloat16), np.arange(n) % 7 == 0)  # bfloat16 and bool
    assert p.x.dtype == np.float64 and p.y[:, 0].sum() == 5
    p = as_pair(pd.DataFrame({"a": np.arange(n), "b": np.arange(n) * 2.0}), pd.Series(np.ones(n), name="s"))
    assert p.x_labels == ("x column 'a'", "x column 'b'") and p.y_labels == ("y column 's'",)
    p = as_pair(np.arange(n, dtype=object), range(n))  # object array of numbers
    assert p.x.dtype == np.float64


# --- refusals -------------------------------------------------------------------------------------


def _good(n=40):
    return np.random.default_rng(1).standard_normal((n, 2))


BAD = {
    "different n": (lambda: (_good(40), _good(41)), ["x has 40 samples but y has 41", "paired row by row"]),
    "too few": (lambda: (_good(MIN_N - 1), _good(MIN_N - 1)), [f"n = {MIN_N - 1}", f"at least {MIN_N}"]),
    "nan": (
        lambda: (np.where(np.arange(80).reshape(40, 2) % 17 == 3, np.nan, 1.0) + _good(), _good()),
        ["x contains", "NaN", "x column", "drop or impute"],
    ),
    "inf in y": (lambda: (_good(), np.where(np.arange(80).reshape(40, 2) == 9, np.inf, 0.0) + _good()),
                 ["y contains 1 infinite value", "y column 1: 1", "first at row 4"]),
    "strings": (lambda: (np.array([["a", "b"]] * 40), _good()), ["x column 0 has non-numeric data", "'a'"]),
    "object with text": (lambda: (np.array([1.0, "oops"] * 20, dtype=object), _good()), ["non-numeric", "'oops'"]),
    "pandas text column": (lambda: (pd.DataFrame({"v": np.ones(40), "city": ["Oslo"] * 40}), _good()),
                           ["x column 'city'", "non-numeric", "'Oslo'"]),
    "datetimes": (lambda: (pd.Series(pd.date_range("2020-01-01", periods=40)), _good()), ["non-numeric", "datetime"]),
    "complex": (lambda: (np.ones(40) * 1j, _good()), ["complex", "real and imaginary"]),
    "empty": (lambda: (np.array([]), np.array([])), ["x is empty", "no samples"]),
    "empty y": (lambda: (_good(), np.empty((40, 0))), ["y has no columns"]),
    "3-D": (lambda: (np.zeros((40, 2, 2)), _good()), ["x has 3 dimensions", "(40, 2, 2)", "reshape"]),
    "ragged": (lambda: ([[1.0, 2.0], [3.0]] * 20, _good()), ["could not be read as an array", "same number of columns"]),
    "scalar": (lambda: (_good(), 3.0), ["y is a single number"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_names_problem_and_fix(case):
    make, fragments = BAD[case]
    with pytest.raises(ValueError) as err:
        as_pair(*make())
    for f in fragments:
        assert f in str(err.value), (f, str(err.value))


def test_nan_message_counts_per_column():
    x = _good(50)
    x[[3, 7, 9], 1] = np.nan
    x[5, 0] = -np.inf
    with pytest.raises(ValueError, match=r"3 NaN and 1 infinite values \(x column 0: 1, x column 1: 3; first at row 3\)"):
        as_pair(x, _good(50))


def test_pandas_missing_values_are_nan_errors():
    df = pd.DataFrame({"a": pd.array([1, None] + list(range(38)), dtype="Int64")})
    with pytest.raises(ValueError, match=r"1 NaN value \(x column 'a': 1"):
        as_pair(df, _good())


# --- column warnings ------------------------------------------------------------------------------


def test_clean_data_has_no_warnings():
    x, y = _reference(200)
    assert column_warnings(as_pair(x, y)) == []


def test_constant_column():
    x, y = _reference(100)
    x[:, 1] = 2.5
    (w,) = column_warnings(as_pair(x, y))
    assert "x column 1 is constant" in w and "2.5" in w


def test_heavy_ties_threshold():
    n = 200
    rng = np.random.default_rng(0)
    y = rng.standard_normal(n)
    top = int(np.ceil(TIE_SHARE * n))  # 10 rows of one value: warned
    x = rng.standard_normal(n)
    x[:top] = 0.0
    (w,) = column_warnings(as_pair(x, y))
    assert "heavy ties" in w and f"in {top} of {n} rows" in w and "5%" in w
    x[top - 1] = 1.0  # 9 rows: not warned
    assert column_warnings(as_pair(x, y)) == []
    # any column with at most 20 distinct values is heavily tied (pigeonhole)
    assert any("heavy ties" in w for w in column_warnings(as_pair(np.arange(n) % 20, y)))


def test_monotone_relation_between_x_and_y():
    x, y = _reference(100)
    for yy in (np.exp(x[:, 1]), -x[:, 1] ** 3):
        w = column_warnings(as_pair(x, np.column_stack([y, yy])))
        assert len(w) == 1 and "x column 1 and y column 1 are strictly monotone functions" in w[0]


# --- ranks and ties --------------------------------------------------------------------------------


def test_average_ranks_and_ties():
    col = np.array([3.0, 1.0, 3.0, 2.0, 3.0])
    np.testing.assert_array_equal(average_ranks(col[:, None])[:, 0], [3.0, 0.0, 3.0, 1.0, 3.0])
    assert column_ties(col) == (3, 3)


def test_ranks_and_ties_from_one_sort_match_the_column_by_column_counts():
    rng = np.random.default_rng(0)
    a = np.round(rng.normal(size=(200, 6)) * [0.1, 1, 3, 10, 100, 1e-9])
    a[:, 2] = 5.0
    ranks, distinct, top = ranks_and_ties(a)
    np.testing.assert_array_equal(ranks, average_ranks(a))
    assert [(int(d), int(t)) for d, t in zip(distinct, top)] == [column_ties(a[:, j]) for j in range(6)]


def test_many_columns_with_one_finding_make_one_message():
    """Wide embeddings with dead units: one message per finding and side, counting the columns."""
    rng = np.random.default_rng(0)
    x = np.maximum(rng.normal(size=(300, 40)), 0.0)  # ReLU units: about half the rows at 0
    x[:, :5] = 1.0  # five dead units
    msgs = column_warnings(as_pair(x, rng.normal(size=(300, 2))))
    assert len(msgs) == 2
    assert msgs[0].startswith("5 of the 40 columns of x are constant (x column 0, x column 1, x column 2, ...)")
    assert msgs[1].startswith("35 of the 40 columns of x have heavy ties (x column 5,")


def test_none_is_named_as_none():
    import mist

    with pytest.raises(ValueError, match="x is None"):
        mist.estimate(None, np.zeros(20))
