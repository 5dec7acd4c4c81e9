"""Triples (X, Y, Z) with exact conditional mutual information I(X; Y | Z), in nats.

The ground truth that conditional estimators are measured against. Every label is a closed form
of the drawn parameters (no Monte Carlo):

- `gaussian`: jointly Gaussian, X = A Z + U, Y = B Z + V with (U, V) Gaussian independent of Z;
  the label is 1/2 log(det S_xz det S_yz / (det S_z det S_xyz)) of the full covariance, which
  equals I(U; V), set to the target through the canonical correlations of (U, V).
- `warped`: `gaussian` with a strictly monotone map on every column (asinh, signed powers, exp,
  a wiggly but increasing map, a decreasing cubic): CMI is unchanged by such maps.
- `student_t`: a joint multivariate Student-t with nu degrees of freedom and shape matrix S,
  built as `gaussian` and divided by one shared sqrt(chi2_nu / nu). By the chain rule,
  I(X; Y | Z) = I(X; (Y, Z)) - I(X; Z), each term the Gaussian MI of S's blocks plus the
  Student-t term `t_correction`, so CMI = I_S(X; Y | Z) + c(nu, dx, dy + dz) - c(nu, dx, dz),
  and the t part equals c(nu + dz, dx, dy) (given Z, (X, Y) is a t with nu + dz degrees of
  freedom). The t part is positive: X and Y share the scale even when their partial
  correlation given Z is zero, so this CMI is never 0. A target below the t part at the drawn nu
  (and, with probability 1/4, any target below the t part at nu = 2) is carried by the tails
  alone: the partial correlation given Z is 0 and nu solves t part = target.
- `chain_linear`, `chain_nonlinear`: Markov chains X -> Z -> Y (Z = A X + noise or f(A X) + noise,
  Y = B Z + noise or g(B Z) + noise): CMI exactly 0, though X and Y are dependent.
- `common_cause_linear`, `common_cause_nonlinear`: Z -> X and Z -> Y with independent noises
  (maps such as tanh, sin, square): CMI exactly 0.
- `additive_nonlinear`: X = f(A Z) + E_x, Y = g(B Z) + E_y with (E_x, E_y) jointly Gaussian and
  independent of Z: given Z, X and Y are shifted copies of E_x and E_y, so
  I(X; Y | Z) = I(E_x; E_y) exactly (set to the target), while the joint law is not elliptical.

The nonlinear maps (`tanh`, `sin`, `square`, `abs`, `cubic`) are applied to unit-variance
inputs, most of them non-monotone, so linear (and rank-linear) partialling cannot remove the
dependence through Z: the Gaussian-copula CMI reads above 0 on the zero-CMI nonlinear kinds.

References:
    Cover & Thomas, Elements of Information Theory, 2nd ed., ch. 2 and 8;
    Arellano-Valle, Contreras-Reyes & Genton (2013), Scand. J. Statist. 40(1) (Student-t MI).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from data_gen.families.base import split_mi
from data_gen.families.gaussian import mixing_matrix
from mist.numerics.student_t import t_correction

__all__ = ["CONDITIONAL_KINDS", "ZERO_CMI_KINDS", "ConditionalSet", "draw_conditional", "gaussian_cmi",
           "student_t_cmi_term"]

ZERO_CMI_KINDS = ("chain_linear", "chain_nonlinear", "common_cause_linear", "common_cause_nonlinear")
CONDITIONAL_KINDS = ("gaussian", "warped", "student_t", "additive_nonlinear") + ZERO_CMI_KINDS

DEFAULT_CMI_RANGE = (0.1, 2.0)  # nats: the target drawn when `cmi` is None
_MAX_CMI_PER_PAIR = 20.0  # nats a canonical pair can carry in float64 (1 - rho^2 = e^-40)
_DOF_RANGE = (2.0, 20.0)  # Student-t degrees of freedom, drawn log-uniformly
_MAX_DOF = 1e8
_TAILS_ONLY_PROB = 0.25  # of a zero partial correlation where the tails can carry the target
_MAX_CONDITION = 10.0  # of the mixing matrices
_PILOT = 20_000  # draws that fix the input scale of a map applied to a non-Gaussian Z

_NONLINEAR: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": lambda u: np.tanh(2.0 * u),
    "sin": lambda u: np.sin(2.0 * u),
    "square": lambda u: u**2 - 1.0,
    "abs": lambda u: np.abs(u) - math.sqrt(2.0 / math.pi),
    "cubic": lambda u: u**3 / 3.0,
}
_WARPS: dict[str, Callable[[np.ndarray], np.ndarray]] = {  # strictly monotone, on unit-variance columns
    "asinh": lambda v: np.arcsinh(3.0 * v),
    "power_0.5": lambda v: np.sign(v) * np.sqrt(np.abs(v)),
    "power_2": lambda v: np.sign(v) * v**2,
    "exp": np.exp,
    "wiggly": lambda v: v + 0.4 * np.sin(2.0 * v),  # derivative 1 + 0.8 cos(2 v) >= 0.2
    "neg_cubic": lambda v: -(v**3),
}


@dataclass(frozen=True)
class ConditionalSet:
    """n i.i.d. draws of (X, Y, Z) with their exact I(X; Y | Z) in nats.

    Attributes:
        x, y, z: float64 arrays of shapes (n, dx), (n, dy), (n, dz), paired row by row.
        cmi: the exact conditional mutual information, computed from the drawn parameters.
        kind: one of `CONDITIONAL_KINDS`.
        params: what the label was computed from (covariance, degrees of freedom, maps, ...).
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    cmi: float
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


def gaussian_cmi(cov: np.ndarray, dx: int, dy: int, dz: int) -> float:
    """I(X; Y | Z) in nats of a Gaussian with covariance `cov` ordered (X, Y, Z):
    1/2 log(det S_xz det S_yz / (det S_z det S_xyz)), with log-determinants (dz = 0: I(X; Y))."""
    cov = np.asarray(cov, dtype=np.float64)
    if cov.shape != (dx + dy + dz,) * 2:
        raise ValueError(f"cov has shape {cov.shape}; pass the ({dx + dy + dz}, {dx + dy + dz}) covariance of (X, Y, Z)")
    ix, iy, iz = np.arange(dx), dx + np.arange(dy), dx + dy + np.arange(dz)

    def logdet(*blocks):
        idx = np.concatenate(blocks)
        sign, value = np.linalg.slogdet(cov[np.ix_(idx, idx)])
        if sign <= 0:
            raise ValueError("cov is not positive definite; pass a valid covariance matrix")
        return value

    return float(0.5 * (logdet(ix, iz) + logdet(iy, iz) - logdet(iz) - logdet(ix, iy, iz)))


def student_t_cmi_term(nu: float, dx: int, dy: int, dz: int) -> float:
    """The part of a multivariate Student-t's I(X; Y | Z) beyond the Gaussian term of its shape
    matrix: c(nu, dx, dy + dz) - c(nu, dx, dz) (chain rule), > 0 and decreasing in nu."""
    return t_correction(nu, dx, dy + dz) - t_correction(nu, dx, dz)


# ---------------------------------------------------------------- structures


@dataclass
class _Structure:
    """A drawn distribution: its exact CMI, a summary and a sampler of (x, y, z)."""

    cmi: float
    params: dict[str, Any]
    sample: Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _loadings(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    """(d_out, d_in) dense loadings with row norms uniform in [0.3, 1.5]."""
    a = rng.standard_normal((d_out, d_in))
    return a / np.linalg.norm(a, axis=1, keepdims=True) * rng.uniform(0.3, 1.5, (d_out, 1))


def _canonical_cov(rng: np.random.Generator, dx: int, dy: int, mi: float) -> tuple[np.ndarray, np.ndarray]:
    """A random (dx + dy) covariance of (U, V) with I(U; V) = mi, and a factor L (cov = L L^T).

    U = Mx a, V = My b with (a, b) standard normal pairs of correlation rho_i, the MI split over
    min(dx, dy) pairs; Mx, My dense invertible mixings.
    """
    k = min(dx, dy)
    pair_mi = split_mi(rng, mi, k, _MAX_CMI_PER_PAIR, active=k) if mi > 0 else np.zeros(k)
    rho = np.sqrt(-np.expm1(-2.0 * pair_mi))
    noise = np.exp(-pair_mi)  # sqrt(1 - rho^2) without cancellation
    # (a, b) = W (e_a, e_b) with e standard normal: b_i = rho_i a_i + noise_i e_b,i on the pairs
    w = np.eye(dx + dy)
    for i in range(k):
        w[dx + i, i] = rho[i]
        w[dx + i, dx + i] = noise[i]
    mx, my = mixing_matrix(rng, dx, _MAX_CONDITION), mixing_matrix(rng, dy, _MAX_CONDITION)
    m = np.zeros((dx + dy, dx + dy))
    m[:dx, :dx], m[dx:, dx:] = mx, my
    factor = m @ w
    return factor @ factor.T, factor


def _gaussian_parts(rng: np.random.Generator, dx: int, dy: int, dz: int, cmi: float):
    """(cov, factor) of a random Gaussian (X, Y, Z) with I(X; Y | Z) = cmi: Z = Mz w,
    X = A Z + U, Y = B Z + V, (U, V) from `_canonical_cov`; cov = factor factor^T."""
    mz = mixing_matrix(rng, dz, _MAX_CONDITION)
    a, b = _loadings(rng, dx, dz), _loadings(rng, dy, dz)
    _, fuv = _canonical_cov(rng, dx, dy, cmi)
    d = dx + dy + dz
    factor = np.zeros((d, d))  # (x, y, z) = factor @ (e_uv, e_z)
    factor[: dx + dy, : dx + dy] = fuv
    factor[:dx, dx + dy:] = a @ mz
    factor[dx: dx + dy, dx + dy:] = b @ mz
    factor[dx + dy:, dx + dy:] = mz
    return factor @ factor.T, factor


def _split(g: np.ndarray, dx: int, dy: int):
    return g[:, :dx], g[:, dx: dx + dy], g[:, dx + dy:]


def _gaussian(rng, dx, dy, dz, cmi) -> _Structure:
    cov, factor = _gaussian_parts(rng, dx, dy, dz, cmi)

    def sample(r, n):
        return _split(r.standard_normal((n, dx + dy + dz)) @ factor.T, dx, dy)

    return _Structure(gaussian_cmi(cov, dx, dy, dz), {"cov": cov, "target": cmi}, sample)


def _warped(rng, dx, dy, dz, cmi) -> _Structure:
    base = _gaussian(rng, dx, dy, dz, cmi)
    names = list(_WARPS)
    warps = [names[i] for i in rng.integers(len(names), size=dx + dy + dz)]
    sd = np.sqrt(np.diag(base.params["cov"]))

    def sample(r, n):
        g = np.hstack(base.sample(r, n)) / sd
        out = np.column_stack([_WARPS[w](g[:, j]) for j, w in enumerate(warps)])
        return _split(out, dx, dy)

    return _Structure(base.cmi, {**base.params, "warps": warps}, sample)


def _solve_dof(target: float, dx: int, dy: int, dz: int, lo: float) -> float:
    """nu >= lo with student_t_cmi_term(nu) = target (the term decreases in nu): bisection on log nu."""
    a, b = math.log(lo), math.log(_MAX_DOF)
    for _ in range(60):
        m = 0.5 * (a + b)
        if student_t_cmi_term(math.exp(m), dx, dy, dz) > target:
            a = m
        else:
            b = m
    return math.exp(b)


def _student_t(rng, dx, dy, dz, cmi) -> _Structure:
    if not cmi > 0:
        raise ValueError("student_t needs cmi > 0: the shared scale alone makes I(X; Y | Z) > 0; use the gaussian kind for 0")
    lo, hi = (math.log(v) for v in _DOF_RANGE)
    nu = math.exp(rng.uniform(lo, hi))
    carried = cmi <= student_t_cmi_term(_DOF_RANGE[0], dx, dy, dz)  # heavy tails alone can carry it
    tails_only = student_t_cmi_term(nu, dx, dy, dz) >= cmi or (rng.uniform() < _TAILS_ONLY_PROB and carried)
    if tails_only:  # zero partial correlation: the shared scale carries all of the target
        nu = _solve_dof(cmi, dx, dy, dz, _DOF_RANGE[0])
    t_part = student_t_cmi_term(nu, dx, dy, dz)
    shape, factor = _gaussian_parts(rng, dx, dy, dz, 0.0 if tails_only else cmi - t_part)
    gauss_part = 0.0 if tails_only else gaussian_cmi(shape, dx, dy, dz)

    def sample(r, n):
        g = r.standard_normal((n, dx + dy + dz)) @ factor.T
        return _split(g / np.sqrt(r.chisquare(nu, (n, 1)) / nu), dx, dy)

    params = {"shape": shape, "dof": nu, "gaussian_part": gauss_part, "t_part": t_part, "tails_only": tails_only,
              "target": cmi}
    return _Structure(gauss_part + t_part, params, sample)


def _unit_rows(a: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Rows of `a` rescaled so that a @ v has unit variances when v has covariance `cov`."""
    return a / np.sqrt(np.einsum("ij,jk,ik->i", a, cov, a))[:, None]


def _draw_maps(rng: np.random.Generator, d: int) -> list[tuple[str, float]]:
    """d maps (name, shift): column j becomes map(u_j + shift); shifts in [-1, 1] break the
    odd / even symmetries that would hide the dependence from linear partialling."""
    names = list(_NONLINEAR)
    return [(names[i], float(c)) for i, c in zip(rng.integers(len(names), size=d), rng.uniform(-1.0, 1.0, d))]


def _apply(maps: list[tuple[str, float]], u: np.ndarray) -> np.ndarray:
    return np.column_stack([_NONLINEAR[m](u[:, j] + c) for j, (m, c) in enumerate(maps)])


def _additive_nonlinear(rng, dx, dy, dz, cmi) -> _Structure:
    mz = mixing_matrix(rng, dz, _MAX_CONDITION)
    sz = mz @ mz.T
    a, b = _unit_rows(rng.standard_normal((dx, dz)), sz), _unit_rows(rng.standard_normal((dy, dz)), sz)
    fx, fy = _draw_maps(rng, dx), _draw_maps(rng, dy)
    cov_e, fe = _canonical_cov(rng, dx, dy, cmi)
    scale = rng.uniform(0.3, 0.8)  # noise level relative to the unit-variance inputs of the maps
    exact = gaussian_cmi(cov_e, dx, dy, 0)  # I(E_x; E_y); the noise scale changes nothing

    def sample(r, n):
        z = r.standard_normal((n, dz)) @ mz.T
        e = scale * (r.standard_normal((n, dx + dy)) @ fe.T)
        return _apply(fx, z @ a.T) + e[:, :dx], _apply(fy, z @ b.T) + e[:, dx:], z

    return _Structure(exact, {"maps_x": fx, "maps_y": fy, "noise_cov": scale**2 * cov_e, "target": cmi}, sample)


def _common_cause(nonlinear: bool):
    def build(rng, dx, dy, dz, cmi) -> _Structure:
        mz = mixing_matrix(rng, dz, _MAX_CONDITION)
        sz = mz @ mz.T
        a, b = _unit_rows(rng.standard_normal((dx, dz)), sz), _unit_rows(rng.standard_normal((dy, dz)), sz)
        fx = _draw_maps(rng, dx) if nonlinear else None
        fy = _draw_maps(rng, dy) if nonlinear else None
        mx, my = mixing_matrix(rng, dx, _MAX_CONDITION), mixing_matrix(rng, dy, _MAX_CONDITION)
        sx, sy = rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.7)  # noise levels

        def sample(r, n):
            z = r.standard_normal((n, dz)) @ mz.T
            ux, uy = z @ a.T, z @ b.T
            x = (_apply(fx, ux) if nonlinear else ux) + sx * (r.standard_normal((n, dx)) @ mx.T)
            y = (_apply(fy, uy) if nonlinear else uy) + sy * (r.standard_normal((n, dy)) @ my.T)
            return x, y, z

        return _Structure(0.0, {"maps_x": fx, "maps_y": fy, "noise": (sx, sy)}, sample)

    return build


def _chain(nonlinear: bool):
    def build(rng, dx, dy, dz, cmi) -> _Structure:
        mx = mixing_matrix(rng, dx, _MAX_CONDITION)
        sx = mx @ mx.T
        a = _unit_rows(rng.standard_normal((dz, dx)), sx)
        b = rng.standard_normal((dy, dz))
        fz = _draw_maps(rng, dz) if nonlinear else None
        fy = _draw_maps(rng, dy) if nonlinear else None
        mz, my = mixing_matrix(rng, dz, _MAX_CONDITION), mixing_matrix(rng, dy, _MAX_CONDITION)
        s_z, s_y = rng.uniform(0.2, 0.7), rng.uniform(0.2, 0.7)  # noise levels

        def z_of(r, n):
            x = r.standard_normal((n, dx)) @ mx.T
            u = x @ a.T
            return x, (_apply(fz, u) if nonlinear else u) + s_z * (r.standard_normal((n, dz)) @ mz.T)

        # unit-variance inputs to Y's maps: Z's covariance in closed form when linear, else from a
        # fixed pilot sample drawn with the structure (a fixed map, so Y still depends on Z alone)
        if nonlinear:
            pilot = np.random.default_rng(int(rng.integers(2**63)))
            z0 = z_of(pilot, _PILOT)[1]
            mean_z, cov_z = z0.mean(axis=0), np.atleast_2d(np.cov(z0, rowvar=False))
        else:
            mean_z, cov_z = np.zeros(dz), a @ sx @ a.T + s_z**2 * (mz @ mz.T)
        b = _unit_rows(b, cov_z)

        def sample(r, n):
            x, z = z_of(r, n)
            u = (z - mean_z) @ b.T
            y = (_apply(fy, u) if nonlinear else u) + s_y * (r.standard_normal((n, dy)) @ my.T)
            return x, y, z

        return _Structure(0.0, {"maps_z": fz, "maps_y": fy, "noise": (s_z, s_y)}, sample)

    return build


_BUILDERS: dict[str, Callable[..., _Structure]] = {
    "gaussian": _gaussian,
    "warped": _warped,
    "student_t": _student_t,
    "additive_nonlinear": _additive_nonlinear,
    "chain_linear": _chain(False),
    "chain_nonlinear": _chain(True),
    "common_cause_linear": _common_cause(False),
    "common_cause_nonlinear": _common_cause(True),
}


def draw_conditional(kind: str, rng: np.random.Generator, n: int, dx: int, dy: int, dz: int,
                     cmi: float | None = None) -> ConditionalSet:
    """Draw a random distribution of the given kind and n samples of it, with the exact CMI.

    The structure is drawn from `rng` first and the samples after, so the same seed gives the
    same distribution (and label) at any n.

    Arguments:
        kind: one of `CONDITIONAL_KINDS`.
        rng: the generator of the structure and the samples.
        n: samples, at least 10.
        dx, dy, dz: dimensions, each at least 1 (the kinds are tested with 1 to 8).
        cmi: the target I(X; Y | Z) in nats for the non-zero kinds (uniform on [0.1, 2] when
            None; at most 20 nats per min(dx, dy)); the zero-CMI kinds ignore it.

    Returns:
        A `ConditionalSet` whose `cmi` is the closed form of the drawn parameters (equal to the
        target up to rounding for every non-zero kind).
    """
    if kind not in _BUILDERS:
        raise ValueError(f"unknown kind {kind!r}; pick one of {', '.join(CONDITIONAL_KINDS)}")
    for name, v in (("n", n), ("dx", dx), ("dy", dy), ("dz", dz)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise ValueError(f"{name} must be an integer, got {v!r}")
    if n < 10:
        raise ValueError(f"n must be at least 10, got {n}")
    if min(dx, dy, dz) < 1:
        raise ValueError(f"dx, dy and dz must each be at least 1, got {dx}, {dy}, {dz}")
    if kind in ZERO_CMI_KINDS:
        target = 0.0
    elif cmi is None:
        target = float(rng.uniform(*DEFAULT_CMI_RANGE))
    else:
        target = float(cmi)
        if not (math.isfinite(target) and 0 <= target <= _MAX_CMI_PER_PAIR * min(dx, dy)):
            raise ValueError(f"cmi must be finite, >= 0 and at most {_MAX_CMI_PER_PAIR:g} nats per min(dx, dy) "
                             f"= {_MAX_CMI_PER_PAIR * min(dx, dy):g}, got {cmi!r}")
    structure = _BUILDERS[kind](rng, int(dx), int(dy), int(dz), target)
    x, y, z = structure.sample(rng, int(n))
    as64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
    return ConditionalSet(as64(x), as64(y), as64(z), float(structure.cmi), kind, structure.params)
