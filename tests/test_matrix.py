"""mist.mi_matrix: pairwise MI of many variables in one batch, a symmetric matrix with intervals.

Most tests inject a cheap Gaussian estimator (the MI of the sample correlation) so that they test
the matrix logic; one reads the shipped checkpoint.
"""

from types import SimpleNamespace

import numpy as np
import pytest

import mist
from mist.matrix import MIMatrix


class GaussianSpy:
    """estimate_batch by the Gaussian MI of the canonical correlations; remembers its calls."""

    def __init__(self):
        self.calls = []

    def estimate_batch(self, pairs, units="nats"):
        self.calls.append(list(pairs))
        out = []
        for x, y in pairs:
            c = np.corrcoef(np.column_stack([x, y]), rowvar=False)
            dx = x.shape[1]
            mi = 0.5 * (np.linalg.slogdet(c[:dx, :dx])[1] + np.linalg.slogdet(c[dx:, dx:])[1] - np.linalg.slogdet(c)[1])
            mi = mi / (np.log(2.0) if units == "bits" else 1.0)
            out.append(SimpleNamespace(mi=mi, lower=mi - 0.1, upper=mi + 0.1, warnings=[]))
        return out


def correlated(n=400, seed=0):
    """Columns: a, b = a + noise (dependent), c, d independent of everything."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return np.column_stack([a, a + 0.5 * rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)])


def test_the_matrix_is_symmetric_with_a_nan_diagonal_and_intervals():
    m = mist.mi_matrix(correlated(), estimator=GaussianSpy())
    assert isinstance(m, MIMatrix)
    assert m.mi.shape == m.lower.shape == m.upper.shape == (4, 4)
    for a in (m.mi, m.lower, m.upper):
        np.testing.assert_array_equal(a, a.T)  # each pair estimated once and mirrored
        assert np.isnan(np.diag(a)).all()  # convention: I(Z;Z) is not estimated
    off = ~np.eye(4, dtype=bool)
    assert (m.lower[off] <= m.mi[off]).all() and (m.mi[off] <= m.upper[off]).all()
    assert m.names == ("z0", "z1", "z2", "z3") and m.n == 400 and m.units == "nats"


def test_all_pairs_go_to_the_estimator_in_one_batch():
    spy = GaussianSpy()
    mist.mi_matrix(correlated(), estimator=spy)
    assert len(spy.calls) == 1 and len(spy.calls[0]) == 6  # 4 * 3 / 2 pairs


def test_a_dependent_pair_reads_higher_than_independent_ones():
    m = mist.mi_matrix(correlated(), estimator=GaussianSpy())
    assert m.mi[0, 1] > 0.6  # -0.5 log(1 - 0.8) = 0.80 nats in the population
    assert np.nanmax(np.abs(m.mi[2:, :][:, 2:])) < 0.05 and abs(m.mi[0, 2]) < 0.05


def test_groups_make_multivariate_variables_with_names():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(500, 5))
    z[:, 4] = z[:, 0] + z[:, 1] + 0.3 * rng.normal(size=500)
    m = mist.mi_matrix(z, groups={"inputs": [0, 1], "noise": [2, 3], "target": [4]}, estimator=GaussianSpy())
    assert m.names == ("inputs", "noise", "target") and m.groups == ((0, 1), (2, 3), (4,))
    assert m.mi[0, 2] > 1.2 and abs(m.mi[1, 2]) < 0.05  # exact -0.5 log(0.09 / 2.09) = 1.57 nats
    listed = mist.mi_matrix(z, groups=[[0, 1], [4]], estimator=GaussianSpy())
    assert listed.names == ("g0", "g1") and listed.mi[0, 1] == pytest.approx(m.mi[0, 2])


def test_dataframe_column_names_become_variable_names():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(correlated(), columns=["age", "height", "noise", "other"])
    assert mist.mi_matrix(frame, estimator=GaussianSpy()).names == ("age", "height", "noise", "other")
    named = mist.mi_matrix(frame, groups=[[0, 1], [2]], estimator=GaussianSpy())
    assert named.names == ("age+height", "noise")


@pytest.mark.parametrize(
    "groups, match",
    [
        ([[0, 1], [1, 2]], "groups overlap: column 1 is in group 0 and in group 1"),
        ([[0], [4]], "column index 4 out of range: z has 4 columns"),
        ([[0], [-1]], "column index -1 out of range"),
        ([[0], []], "group 1 is empty"),
        ({"a": [0], "b": []}, "group 'b' is empty"),
        ([[0], [1.5]], "integer column indices"),
        ([[0], ["b"]], "integer column indices"),
        ([[0, 1, 2]], "needs at least 2"),
        ([[0, 0], [1]], "lists a column twice"),
        ("0,1", "list of lists of column indices"),
    ],
)
def test_bad_groups_raise_one_clear_error(groups, match):
    with pytest.raises(ValueError, match=match):
        mist.mi_matrix(correlated(), groups=groups, estimator=GaussianSpy())


def test_other_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="at least 2 variables"):
        mist.mi_matrix(np.zeros((50, 1)), estimator=GaussianSpy())
    with pytest.raises(ValueError, match="names has 2 entries for 4 variables"):
        mist.mi_matrix(correlated(), names=["a", "b"], estimator=GaussianSpy())
    with pytest.raises(ValueError, match="units"):
        mist.mi_matrix(correlated(), units="hartleys", estimator=GaussianSpy())
    with pytest.raises(ValueError, match="NaN"):
        mist.mi_matrix(np.full((50, 3), np.nan), estimator=GaussianSpy())


def test_per_pair_warnings_are_kept_and_summarised_once():
    class Warner(GaussianSpy):
        def estimate_batch(self, pairs, units="nats"):
            out = super().estimate_batch(pairs, units)
            out[0].warnings = ["x column 0 has heavy ties"]
            return out

    with pytest.warns(mist.MISTWarning, match="1 of 6 pairs carry warnings"):
        m = mist.mi_matrix(correlated(), estimator=Warner())
    assert m.warnings == {(0, 1): ["x column 0 has heavy ties"]}
    assert m.to_dict()["warnings"] == {"z0|z1": ["x column 0 has heavy ties"]}


def test_plot_writes_a_png_heat_map(tmp_path):
    pytest.importorskip("matplotlib")
    m = mist.mi_matrix(correlated(), estimator=GaussianSpy())
    path = tmp_path / "sub" / "mi.png"
    m.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mist.plot_mi_matrix(m, tmp_path / "again.png", title="screening")
    assert (tmp_path / "again.png").stat().st_size > 0


def test_to_dict_is_json_ready_with_none_on_the_diagonal():
    import json

    d = mist.mi_matrix(correlated(), estimator=GaussianSpy(), units="bits").to_dict()
    json.dumps(d)
    assert d["mi"][0][0] is None and d["mi"][0][1] == d["mi"][1][0] and d["units"] == "bits"


def test_the_shipped_checkpoint_reads_independence_near_zero_and_dependence_higher():
    m = mist.mi_matrix(correlated(n=300, seed=3))
    assert m.mi[0, 1] > 0.5  # exact 0.80 nats
    assert m.lower[0, 1] < 0.80 < m.upper[0, 1]
    independent = [m.mi[i, j] for i, j in ((0, 2), (0, 3), (1, 2), (1, 3), (2, 3))]
    assert max(independent) < 0.25 and max(independent) < m.mi[0, 1] / 3
