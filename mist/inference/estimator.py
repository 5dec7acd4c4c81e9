"""MIEstimator: a release checkpoint that estimates I(X;Y) of paired samples, with an interval.

One estimate: the classical statistics of `mist.stats` on all n rows (copula scores, the
elliptical core, evidence features), then one forward pass of the network, whose attention
reads at most `attention_rows` rows (chosen by a rule of the data), to correct the core and
give quantiles.
Precision grows with n through the statistics; the cost of the network stays bounded.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import math
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from mist.calibration import apply_calibration
from mist.discrete import estimate_discrete
from mist.discrete.sides import break_ties
from mist.discrete.sides import estimate_discrete_sides as discrete_sides
from mist.inference.consistency import PARTS, judge, not_run, split
from mist.inference.forward import predict_log1p
from mist.card import Card
from mist.inference.columns import informative_columns, listed
from mist.inference.conditional import estimate_conditional
from mist.inference.trust import manifold_check
from mist.result import UNITS, ConsistencyCheck, EstimateResult, SubsetEstimate
from mist.inputs import MIN_N, Pair, as_pair, column_warnings
from mist.model import MISTNetwork
from mist.release import CheckpointError, load_release
from mist.tensorfiles import pair_paths
from mist.stats import SetSummary, normal_scores
from mist.stats.reduction import Reduction, needs_reduction, reduce_pair

__all__ = [
    "SPLIT_SEED", "UNITS", "MIEstimator", "MISTWarning", "default_checkpoint", "estimate", "resolve_device", "shared_estimator",
]

DEFAULT_CHECKPOINT = "mist-default"
SPLIT_SEED = 0  # the fixed shuffle of the consistency check's subsets: the same input, the same output


class Job(NamedTuple):
    """One sample set for the network: all rows of a pair, a subset, or a reduced half."""

    x: np.ndarray
    y: np.ndarray
    ranks: np.ndarray | None = None  # average ranks of [x, y], when the input checks computed them
    reduced: bool = False  # a cross-fitted half of a reduced pair: its estimate must stay a lower bound


class MISTWarning(UserWarning):
    """Something about the data or the estimate that the user should know (also in `EstimateResult.warnings`)."""


def default_checkpoint() -> Path:
    """Where the shipped checkpoint lives: `mist/checkpoints/mist-default` (without suffix)."""
    return Path(str(importlib.resources.files("mist.checkpoints"))) / DEFAULT_CHECKPOINT


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """"auto" (or None): CUDA when available, else CPU; otherwise a checked torch device."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        d = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device {device!r} is not a device; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if d.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} asked for, but this torch sees no CUDA GPU; use device='cpu' or 'auto'")
        if d.index is not None and d.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r} does not exist: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    elif d.type != "cpu":
        raise ValueError(
            f"device {device!r} is not supported: the preprocessing needs float64 ranks and eigendecompositions; "
            "use 'cpu', 'cuda' or 'auto'"
        )
    return d


def _issue(messages: Iterable[str]) -> None:
    """Issue each message as a MISTWarning attributed to the first caller outside mist."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame, level = sys._getframe(0), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame, level = frame.f_back, level + 1
    for m in messages:
        warnings.warn(m, MISTWarning, stacklevel=level)


class MIEstimator:
    """Estimates I(X;Y) with a pretrained network, in nats or bits, with quantiles.

    Arguments:
        network: the trained MISTNetwork.
        card: its checkpoint card (a `mist.card.Card`, or its JSON as a dict; needs `trained_ranges`
            with n, dx, dy and mi); a `calibration` entry (split-conformal offsets by n bin,
            `mist.calibration`) is applied to every prediction.
        device: "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
        batch_tokens: the most (set x sample x coordinate) tokens per forward pass, which bounds
            memory; by default 2**23 / hidden width (a few hundred MB on CPU).

    Example:
        >>> est = MIEstimator.from_pretrained()                      # doctest: +SKIP
        >>> r = est.estimate(x, y)                                   # doctest: +SKIP
        >>> r.mi, r.lower, r.upper                                   # doctest: +SKIP
    """

    def __init__(self, network: MISTNetwork, card: Mapping[str, Any], device: str | torch.device = "auto",
                 batch_tokens: int | None = None):
        self.device = resolve_device(device)
        self.network = network.to(self.device).eval()
        self.levels = tuple(float(q) for q in network.cfg.quantiles)
        if 0.5 not in self.levels:
            raise CheckpointError(f"the checkpoint's quantile levels {self.levels} lack the median 0.5")
        self.card = card if isinstance(card, Card) else Card(card, levels=self.levels)
        self.ranges = self.card.ranges()
        self.calibration = self.card.calibration
        self.attention_rows = int(network.cfg.attention_rows)
        self.batch_tokens = int(batch_tokens or max(1, 2**23 // network.cfg.hidden))

    @classmethod
    def from_pretrained(cls, checkpoint: str | Path | None = None, device: str | torch.device = "auto", **kwargs) -> MIEstimator:
        """Load a release checkpoint (the shipped default when `checkpoint` is None).

        Arguments:
            checkpoint: `dir/NAME` or either of its files (NAME.json, NAME.safetensors).
            device: as in the constructor.
            kwargs: further constructor arguments (batch_tokens).

        Raises:
            CheckpointError (a ValueError): a file is missing or corrupt (sha256 mismatch), or the
                card lacks what estimation needs. A random model is never returned.
        """
        if checkpoint is None:
            path = default_checkpoint()
            if not (path.with_suffix(".json").is_file() and path.with_suffix(".safetensors").is_file()):
                raise CheckpointError(
                    f"the default checkpoint is missing ({path}.json and .safetensors): this installation of mist "
                    "ships no trained model; reinstall mist, or pass checkpoint=PATH (`--checkpoint PATH`) to a "
                    "release checkpoint (NAME.json beside NAME.safetensors)"
                )
        else:
            pair_paths(checkpoint)  # an empty path is refused here, with the fix
            path = Path(checkpoint)
        network, card = load_release(path, map_location="cpu")
        return cls(network, card, device=device, **kwargs)

    def __repr__(self) -> str:
        return (
            f"MIEstimator(device={str(self.device)!r}, levels={self.levels}, trained n={list(self.ranges.n)}, "
            f"dx={list(self.ranges.dx)}, dy={list(self.ranges.dy)}, mi={list(self.ranges.mi)})"
        )

    # ------------------------------------------------------------------ public
    def estimate(
        self, x, y, *, z=None, units: str = "nats", check: bool = False, y_discrete: bool = False
    ) -> EstimateResult:
        """Estimate I(X;Y) from paired samples.

        Arguments:
            x: samples of X, shape (n, dx) or (n,): numpy array, torch tensor, pandas DataFrame
                or Series, or nested list; any real dtype.
            y: samples of Y, shape (n, dy) or (n,), paired with x row by row.
            units: "nats" (natural log) or "bits" (log base 2; nats / ln 2).
            check: also run the subsampling consistency check (about 3x the cost); see
                `mist.inference.consistency.judge` for the rule.
            y_discrete: y is one column of class labels (integers, strings, whole-number
                floats; up to 100 classes): I(X;Y) is estimated by `mist.discrete`, without
                the network (see the README, "Class labels").
            z: a conditioning set, shape (n, dz) or (n,), paired with x and y: the result is
                the conditional MI I(X;Y|Z) by the chain rule (`mist.inference.conditional`),
                with `dz` set. None (the default): plain MI.

        Returns:
            An EstimateResult: `mi` (the median), `lower` and `upper` (the 0.05 and 0.95
            quantiles: a 90% interval), `quantiles`, `warnings` (each also issued as a
            MISTWarning), `consistency`, and `reduction` when a side has more columns than the
            model was trained on and too many for the classical core on all of them: then
            each such side is reduced by cross-fitted PCA (`mist.stats.reduction`) and the
            estimate is of a lower bound on I(X;Y), as the warning says.

        Raises:
            ValueError: bad input (different n in x and y, n < 10, NaN or infinite values,
                non-numeric data, empty arrays, 3 or more dimensions, no columns) or bad units.
        """
        if z is not None:
            return _conditional(self, x, y, z, units, check, y_discrete)
        if y_discrete:
            result = estimate_discrete(x, y, units=units, check=check)
            _issue(result.warnings)
            return result
        return self.estimate_pairs([as_pair(x, y)], units=units, check=check)[0]

    def estimate_with_info(self, x, y, **options) -> EstimateResult:
        """The `mist.contract.Estimator` form of `estimate` (same arguments, same result): mist's
        result is already the estimate with everything known about it."""
        return self.estimate(x, y, **options)

    def estimate_batch(
        self, pairs: Iterable[tuple[Any, Any]], *, units: str = "nats", check: bool = False, y_discrete: bool = False
    ) -> list[EstimateResult]:
        """Estimate several samples at once; sets of equal (n, dx, dy) share forward passes.

        Arguments:
            pairs: (x, y) pairs, each as in `estimate`.
            units, check, y_discrete: as in `estimate` (y_discrete: every y is class labels).

        Returns:
            One EstimateResult per pair, in order (equal to `estimate` on each, up to float
            rounding of the batched matrix products).
        """
        validated = []
        for i, pair in enumerate(pairs):
            try:
                x, y = pair
            except (TypeError, ValueError):
                raise ValueError(f"pairs[{i}] is not an (x, y) pair; pass a list of (x, y) tuples") from None
            try:
                validated.append(estimate_discrete(x, y, units=units, check=check) if y_discrete else as_pair(x, y))
            except ValueError as e:
                raise ValueError(f"pairs[{i}]: {e}") from None
        if y_discrete:
            for result in validated:
                _issue(result.warnings)
            return validated
        return self.estimate_pairs(validated, units=units, check=check)

    # ------------------------------------------------------------------ internals
    def _forward(self, jobs: Sequence[Job]) -> tuple[np.ndarray, list[SetSummary]]:
        """Calibrated quantiles in nats, shape (len(jobs), K), and the summary of each job."""
        raw, summaries = predict_log1p(
            self.network, [(j.x, j.y) for j in jobs], self.batch_tokens, self.device, [j.ranks for j in jobs]
        )
        q = torch.from_numpy(raw)
        calibrated = np.stack([apply_calibration(q[i : i + 1], len(j.x), self.calibration, j.x.shape[1] + j.y.shape[1])[0].numpy()
                               for i, j in enumerate(jobs)]) if jobs else raw
        mid = self.levels.index(0.5)
        for i, j in enumerate(jobs):
            if j.reduced or self._beyond_trained_dims(j.x.shape[1], j.y.shape[1]):  # the network's spread, centred on the core
                calibrated[i] += np.log1p(summaries[i].core_mi) - calibrated[i, mid]
        return np.expm1(np.clip(calibrated, 0.0, None)), summaries

    def _beyond_trained_dims(self, dx: int, dy: int) -> bool:
        """dx or dy above what the network was trained on: its correction, never trained there, is
        not applied and the core is the estimate (a rule, not a measured gain: on BMI's one such
        task, 50 + 50 dims, the two agree within 0.001 nats)."""
        return dx > self.ranges.dx[1] or dy > self.ranges.dy[1]

    def _max_dim(self) -> int:
        return min(self.ranges.dx[1], self.ranges.dy[1])

    def _plan(self, pairs: Sequence[Pair], check: bool) -> tuple[list[Job], list[dict[str, Any]], list[Reduction | None]]:
        """The jobs (arrays to estimate), per pair which jobs make what, and the reduction applied.

        Per pair: {"full": job ids} and, with the check, "halves" and "quarters": one list of
        job ids per disjoint random subset. A list of several ids is averaged: that is how a
        reduced pair's two cross-fitted halves (`mist.stats.reduction`) become one estimate.
        """
        jobs: list[Job] = []
        plans: list[dict[str, Any]] = []
        reductions: list[Reduction | None] = []

        def add(x: np.ndarray, y: np.ndarray, ranks=None) -> tuple[list[int], Reduction | None]:
            if not needs_reduction(len(x), x.shape[1], y.shape[1], self._max_dim()):
                jobs.append(Job(x, y, ranks() if ranks else None))
                return [len(jobs) - 1], None
            parts, reduction = reduce_pair(x, y, self._max_dim())
            # no learned correction on reduced data: it leans upward on Gaussian-like sets (about
            # +0.05 nats), which would break the lower bound the reduction promises
            jobs.extend(Job(a, b, reduced=True) for a, b in parts)
            return list(range(len(jobs) - len(parts), len(jobs))), reduction

        for p in pairs:
            # the input checks rank every column anyway (`column_warnings`): the statistics reuse those ranks
            full, reduction = add(p.x, p.y, lambda p=p: np.hstack([p.x_stats.ranks, p.y_stats.ranks]))
            plan: dict[str, Any] = {"full": full}
            if check and p.n >= self._check_min_n * (2 if reduction else 1):
                for name, parts in zip(("halves", "quarters"), PARTS):
                    plan[name] = [add(p.x[rows], p.y[rows])[0] for rows in split(p.n, parts, SPLIT_SEED)]
            plans.append(plan)
            reductions.append(reduction)
        return jobs, plans, reductions

    @property
    def _check_min_n(self) -> int:
        """The check needs quarters of at least max(MIN_N, the smallest trained n) samples."""
        return 4 * max(MIN_N, self.ranges.n[0])

    def _result(
        self, p: Pair, plan: dict[str, Any], reduction: Reduction | None, q: np.ndarray, summaries: list[SetSummary],
        jobs: Sequence[Job], units: str, check: bool, shown: Pair | None = None,
    ) -> EstimateResult:
        """Convert units, collect warnings and diagnostics, judge the consistency check.

        `p` is the pair the network read; `shown` the pair before its ties were broken (for
        the column warnings), `p` itself when None.
        """
        scale, mid = UNITS[units], self.levels.index(0.5)

        def subset(ids: list[int]) -> SubsetEstimate:
            v = q[ids].mean(axis=0) / scale
            return SubsetEstimate(sum(len(jobs[j].x) for j in ids), float(v[mid]), float(v[0]), float(v[-1]))

        full = q[plan["full"]].mean(axis=0)  # nats
        job = jobs[plan["full"][0]]
        msgs = column_warnings(p if shown is None else shown) + self.ranges.input_warnings(len(job.x), job.x.shape[1], job.y.shape[1])
        core = float(np.mean([summaries[j].core_mi for j in plan["full"]]))
        if len(plan["full"]) == 1 and not job.reduced:  # the summary read these scores' dimensions on the same rows
            near = summaries[plan["full"][0]].neighbours
            manifold = manifold_check(summaries[plan["full"][0]].scores, p.dx, float(full[mid]), core,
                                      intrinsic=(near.dim_x, near.dim_y))
        else:
            scores = normal_scores(np.hstack([p.x, p.y]), ranks=np.hstack([p.x_stats.ranks, p.y_stats.ranks]))
            manifold = manifold_check(scores, p.dx, float(full[mid]), core)
        if manifold.above:
            msgs.append(manifold.warning(float(full[mid]), scale, units))
            full = manifold.apply(full, self.levels)
        if reduction is not None:
            msgs.append(
                f"X has {p.dx} and Y {p.dy} columns, more than the {self._max_dim()} the model was trained on: each "
                f"larger side was reduced by PCA to {reduction.x_dims[1]} and {reduction.y_dims[1]} columns "
                "(cross-fitted on two halves), so the estimate is a lower bound on I(X;Y): the classical core of the "
                "reduced halves, without the learned correction, with the network's interval (see `EstimateResult.reduction`)"
            )
        elif self._beyond_trained_dims(p.dx, p.dy):
            msgs.append(
                "the learned correction is not applied above the trained dimensions: the estimate is the "
                "classical core (an elliptical-copula MI), with the network's interval around it"
            )
        msgs += self.ranges.estimate_warnings(full[mid], full[-1], p.dx, p.dy, scale, units)
        consistency = None
        if check and "halves" in plan:
            consistency = judge(
                subset(plan["full"]), [subset(j) for j in plan["halves"]], [subset(j) for j in plan["quarters"]], units
            )
            if consistency.consistent is False:
                msgs.append(f"the subsampling consistency check failed: {consistency.message}")
        elif check:
            consistency = not_run(p.n, self._check_min_n)
            msgs.append(f"the subsampling consistency check was {consistency.message}")
        nus = [summaries[j].fit.nu for j in plan["full"] if not math.isinf(summaries[j].fit.nu)]
        diagnostics = {
            "core_mi": core / scale,
            "core_nu": float(np.mean(nus)) if nus else None,
            "attention_rows": min(len(job.x), self.attention_rows),
            "intrinsic_dims": {side: round(d[0], 2) for side, d in manifold.dims.items()},
            "knn_mi": None if manifold.knn is None else manifold.knn / scale,
        }
        return EstimateResult(
            mi=float(full[mid] / scale),
            lower=float(full[0] / scale),
            upper=float(full[-1] / scale),
            quantiles={lvl: float(v / scale) for lvl, v in zip(self.levels, full)},
            units=units,
            n=p.n,
            dx=p.dx,
            dy=p.dy,
            diagnostics=diagnostics,
            warnings=msgs,
            consistency=consistency,
            reduction=None if reduction is None else reduction.to_dict(),
        )

    def estimate_pairs(
        self, pairs: Sequence[Pair], *, units: str = "nats", check: bool = False, issue: bool = True,
        summaries: list | None = None,
    ) -> list[EstimateResult]:
        """`estimate_batch` for samples already validated by `mist.inputs.as_pair` (which names their columns).

        `issue=False` leaves the results' warnings unissued (for callers that combine results).
        `summaries`, a list, receives per pair the classical statistics (`SetSummary`) of the one
        set the network read for it, or None (a constant or discrete pair, a reduced one), so a
        caller can reuse the core's fit instead of repeating it.

        Before the network: columns that add nothing are left out (`mist.inference.columns`),
        pairs with a discrete side go to a discrete estimator, and heavy ties in the rest are
        broken at random (`mist.discrete.sides`); the result's warnings say which applied.
        """
        if units not in UNITS:
            raise ValueError(f"units must be 'nats' or 'bits', got {units!r}")
        results: list[EstimateResult | None] = [None] * len(pairs)
        reductions = [informative_columns(p) for p in pairs]
        live: list[tuple[int, Pair, Pair]] = []  # (index, the pair as reduced, the pair the network reads)
        for i, red in enumerate(reductions):
            if red.all_constant:
                results[i] = _constant_result(red.pair, red.constant, units, self.levels)
                continue
            found = discrete_sides(red.pair, self.levels, units, UNITS[units])
            if found is not None:
                results[i] = _checked_discrete(found, check) if check else found
                continue
            live.append((i, red.pair, break_ties(red.pair)[0]))
        jobs, plans, reduced = self._plan([seen for _, _, seen in live], check)
        q, read = self._forward(jobs)
        for (i, p, seen), plan, r in zip(live, plans, reduced):
            results[i] = self._result(seen, plan, r, q, read, jobs, units, check, shown=p)
        if summaries is not None:
            full = {i: plan["full"] for (i, _, _), plan in zip(live, plans)}
            summaries.extend(read[full[i][0]] if len(full.get(i, ())) == 1 and not jobs[full[i][0]].reduced else None
                             for i in range(len(pairs)))
        for i, (red, result) in enumerate(zip(reductions, results)):
            if red.all_constant:
                continue
            notes = list(red.notes)
            if red.constant:
                notes.insert(0, f"{listed(red.constant, ' columns')} {'is' if len(red.constant) == 1 else 'are'} constant: no "
                                f"information, so {'it was' if len(red.constant) == 1 else 'they were'} left out")
            if notes:
                consistency = result.consistency
                if consistency is not None:
                    consistency = dataclasses.replace(
                        consistency, message=f"{consistency.message} (on the input as reduced: {'; '.join(notes)})")
                result = dataclasses.replace(result, dx=pairs[i].dx, dy=pairs[i].dy, warnings=[*notes, *result.warnings],
                                             consistency=consistency)
            results[i] = result
        if issue:
            for r in results:
                _issue(r.warnings)
        return results


def _conditional(est: MIEstimator, x, y, z, units: str, check: bool, y_discrete: bool) -> EstimateResult:
    """I(X;Y|Z) (`mist.inference.conditional`), its warnings issued once."""
    if units not in UNITS:
        raise ValueError(f"units must be 'nats' or 'bits', got {units!r}")
    if y_discrete:
        raise ValueError("y_discrete=True is not supported with a conditioning set z yet; pass y as numbers (a column "
                         "with few distinct values is recognised as discrete)")
    result = estimate_conditional(est, x, y, z, units=units)
    if check:
        message = "not run: the check is defined for I(X;Y), not for the chain rule of I(X;Y|Z)"
        result = dataclasses.replace(result, consistency=ConsistencyCheck(None, message),
                                     warnings=[*result.warnings, f"the subsampling consistency check was {message}"])
    _issue(result.warnings)
    return result


def _checked_discrete(result: EstimateResult, check: bool) -> EstimateResult:
    """A discrete estimate asked for the consistency check: it is not run (the estimators are not the network's)."""
    message = ("not run: a side is discrete, so the estimate is a discrete estimator's "
               f"({result.diagnostics['method']}), whose interval already reaches 0 at independence")
    return dataclasses.replace(result, consistency=ConsistencyCheck(None, message),
                               warnings=[*result.warnings, f"the subsampling consistency check was {message}"])


def _constant_result(p: Pair, dropped: list[str], units: str, levels: Sequence[float]) -> EstimateResult:
    """MI exactly 0: one side has only constant columns (a constant carries no information)."""
    side = "x" if p.x_stats.distinct.max() <= 1 else "y"
    return EstimateResult(
        mi=0.0, lower=0.0, upper=0.0, quantiles={float(lvl): 0.0 for lvl in levels}, units=units,
        n=p.n, dx=p.dx, dy=p.dy, diagnostics={"core_mi": 0.0, "core_nu": None, "attention_rows": 0},
        warnings=[f"every column of {side} is constant ({listed(dropped, ' columns')}): it carries no information, so I(X;Y) = 0 exactly"],
    )


@functools.lru_cache(maxsize=4)
def _cached(stem: str, device: str, stamp: tuple) -> MIEstimator:
    return MIEstimator.from_pretrained(None if stem == "" else stem, device=device)


def _stamp(stem: Path) -> tuple:
    """Size and modification time of both files, so that a replaced checkpoint is reloaded."""
    out = []
    for suffix in (".json", ".safetensors"):
        try:
            st = stem.with_suffix(suffix).stat()
            out.append((st.st_size, st.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


def estimate(
    x,
    y,
    *,
    units: str = "nats",
    check: bool = False,
    device: str | torch.device = "auto",
    checkpoint: str | Path | None = None,
    y_discrete: bool = False,
    z=None,
) -> EstimateResult:
    """Estimate the mutual information I(X;Y), or I(X;Y|Z), of paired samples with the pretrained model.

    The estimator (the shipped default, or `checkpoint`) is loaded once and kept for later calls.

    Arguments:
        x: samples of X, shape (n, dx) or (n,); numpy array, torch tensor, pandas DataFrame or
            Series, or nested list.
        y: samples of Y, shape (n, dy) or (n,), paired with x row by row.
        units: "nats" or "bits".
        check: also run the subsampling consistency check.
        device: "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
        checkpoint: a release checkpoint (`dir/NAME`); None for the shipped default.
        y_discrete: y is one column of class labels: estimated by `mist.discrete` (no
            checkpoint is loaded), as `MIEstimator.estimate`.
        z: a conditioning set, shape (n, dz) or (n,): the result is then the conditional MI
            I(X;Y|Z), with `dz` set (`mist.inference.conditional`); None: plain MI.

    Returns:
        An EstimateResult: `mi` (median, in `units`), `lower`, `upper` (90% interval),
        `quantiles`, `warnings`, `n`, `dx`, `dy`, `diagnostics`, `consistency`, `reduction`
        (None, or how a side with too many columns was reduced: then a lower bound).

    Raises:
        ValueError: bad input, as `MIEstimator.estimate`; CheckpointError (a ValueError) when
            the checkpoint is missing or corrupt.

    Example:
        >>> import numpy as np, mist                                  # doctest: +SKIP
        >>> x = np.random.default_rng(0).normal(size=(1000, 2))       # doctest: +SKIP
        >>> y = x[:, :1] + np.random.default_rng(1).normal(size=(1000, 1))  # doctest: +SKIP
        >>> mist.estimate(x, y).mi    # about 0.35 nats = -0.5 log(1 - 0.5)  # doctest: +SKIP
    """
    if y_discrete and z is None:
        result = estimate_discrete(x, y, units=units, check=check)
        _issue(result.warnings)
        return result
    return shared_estimator(checkpoint, device).estimate(x, y, z=z, units=units, check=check, y_discrete=y_discrete)


def shared_estimator(checkpoint: str | Path | None = None, device: str | torch.device = "auto") -> MIEstimator:
    """The estimator of `checkpoint` (None: the shipped default) on `device`, loaded once per
    process and kept; reloaded when either file of the checkpoint changes on disk."""
    stem = default_checkpoint() if checkpoint is None else pair_paths(checkpoint)[0].with_suffix("")
    dev = str(resolve_device(device))
    key = "" if checkpoint is None else str(stem.resolve())
    return _cached(key, dev, _stamp(stem))
