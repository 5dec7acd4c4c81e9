"""The subsampling consistency check: do estimates on disjoint halves and quarters agree with the full one?

An estimate that has converged does not move much when the sample shrinks to a half or a
quarter: the model accounts for n, so smaller subsets give wider intervals around the same
value. Estimates that climb (or fall) steadily with n say that the sample is too small for
the dependence at hand, typically at high MI, where more samples would give a higher value.

References:
    Holmes and Nemenman, "Estimation of mutual information for real-valued data with error
    bars and controlled bias", Physical Review E (2019) (subsampling to check for convergence).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mist.result import ConsistencyCheck, SubsetEstimate

__all__ = ["PARTS", "split", "judge", "not_run"]

PARTS = (2, 4)  # halves and quarters


def split(n: int, parts: int, seed: int = 0) -> list[np.ndarray]:
    """Disjoint random subsets of range(n), sizes within one of each other, for a fixed seed."""
    return np.array_split(np.random.default_rng(seed).permutation(n), parts)


def _f(v: float) -> str:
    return f"{v:.3g}"


def judge(full: SubsetEstimate, halves: Sequence[SubsetEstimate], quarters: Sequence[SubsetEstimate], units: str) -> ConsistencyCheck:
    """The verdict of the subsampling check.

    The rule: the estimate is consistent when both
    (a) the full-data median lies inside the interval [lower, upper] (90% by default) of each
        half-size estimate, and
    (b) the mean of the four quarter-size medians lies inside the full-data interval, i.e. the
        estimates do not trend with n by more than the full estimate's own uncertainty.

    Arguments:
        full, halves, quarters: the estimates, in `units`.
        units: for the message.

    Returns:
        The ConsistencyCheck with the figures and the verdict in words.
    """
    halves, quarters = tuple(halves), tuple(quarters)
    outside = [h for h in halves if not h.lower <= full.mi <= h.upper]
    mq = float(np.mean([q.mi for q in quarters]))
    mh = float(np.mean([h.mi for h in halves]))
    trend = not full.lower <= mq <= full.upper
    figures = (
        f"medians {_f(mq)} (quarters, n ~ {quarters[0].n}), {_f(mh)} (halves, n ~ {halves[0].n}), "
        f"{_f(full.mi)} {units} (all {full.n})"
    )
    if not outside and not trend:
        message = (
            f"{figures}: the full-data median lies in every half's interval and the quarters' mean lies in "
            f"the full-data interval [{_f(full.lower)}, {_f(full.upper)}]"
        )
    else:
        reasons = []
        if outside:
            reasons.append(f"the full-data median is outside the interval of {len(outside)} of {len(halves)} halves")
        if trend:
            direction = "rise" if mq < full.mi else "fall"
            reasons.append(
                f"the estimates {direction} with n beyond the full-data interval [{_f(full.lower)}, {_f(full.upper)}]"
            )
        hint = (
            "the sample is probably too small for this dependence and the true MI is likely higher: "
            "read the estimate as a lower bound"
            if trend and mq < full.mi
            else "do not trust the estimate without more samples or another estimator"
        )
        message = f"{figures}: {'; '.join(reasons)}; {hint}"
    return ConsistencyCheck(not (outside or trend), message, full, halves, quarters)


def not_run(n: int, needed: int) -> ConsistencyCheck:
    """The check when the sample is too small to split into quarters within the trained n."""
    return ConsistencyCheck(
        None,
        f"not run: the check splits the sample into quarters of at least {needed // 4} samples "
        f"(the smallest n it trusts), so it needs n >= {needed}, got {n}",
    )
