"""Drawing the information plane: I(X;T) across, I(T;Y) up, one line per layer, colour by epoch."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["draw_information_plane"]

_MARKERS = "osD^vP*Xh<>p"


def draw_information_plane(
    records: Sequence[dict[str, Any]],
    path: str | Path | None,
    *,
    title: str,
    caption: str,
    label_entropy: float | None = None,
    units: str = "nats",
    xt_bound: float | None = None,
):
    """Draw the information plane from recorded rows and write it as a PNG.

    Arguments:
        records: rows with `layer`, `epoch`, `i_xt`, `i_xt_lower`, `i_xt_upper`, `i_ty`,
            `i_ty_lower`, `i_ty_upper` (as `InformationPlane.records`).
        path: the PNG to write (parent folders are created); None draws without saving.
        title: the figure title.
        caption: the estimation convention, printed under the axes.
        label_entropy: H(Y) of the probe labels, drawn as the ceiling of I(T;Y); None: no line.
        units: the units of every value, for the axis labels.
        xt_bound: the largest I(X;T) can be (log n for X uniform over n probe rows), drawn as a
            dotted vertical line; None: no line.

    Returns:
        The matplotlib Figure (closed; the Agg backend is chosen when pyplot was not loaded yet).
    """
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    layers = list(dict.fromkeys(r["layer"] for r in records))
    epochs = sorted({int(r["epoch"]) for r in records}) or [0]
    norm = matplotlib.colors.Normalize(vmin=min(epochs), vmax=max(max(epochs), min(epochs) + 1))
    cmap = matplotlib.colormaps["viridis"]
    fig, ax = plt.subplots(figsize=(7.5, 5.8))
    handles = []
    for k, layer in enumerate(layers):
        rows = sorted((r for r in records if r["layer"] == layer), key=lambda r: r["epoch"])
        x, y = np.array([r["i_xt"] for r in rows]), np.array([r["i_ty"] for r in rows])
        xerr = np.abs(np.array([[r["i_xt"] - r["i_xt_lower"], r["i_xt_upper"] - r["i_xt"]] for r in rows]).T)
        yerr = np.abs(np.array([[r["i_ty"] - r["i_ty_lower"], r["i_ty_upper"] - r["i_ty"]] for r in rows]).T)
        colours = cmap(norm([r["epoch"] for r in rows]))
        marker = _MARKERS[k % len(_MARKERS)]
        ax.plot(x, y, "-", color="0.45", lw=1.0, zorder=1)
        for xi, yi, xe, ye, c in zip(x, y, xerr.T, yerr.T, colours):
            ax.errorbar(xi, yi, xerr=xe[:, None], yerr=ye[:, None], fmt="none", ecolor=c, alpha=0.35, lw=0.8, zorder=2)
        ax.scatter(x, y, c=colours, marker=marker, s=38, edgecolors="black", linewidths=0.4, zorder=3)
        ax.annotate(layer, (x[-1], y[-1]), textcoords="offset points", xytext=(6, 5 if k % 2 == 0 else -11), fontsize=8)
        handles.append(Line2D([], [], color="0.45", marker=marker, markerfacecolor="white", markeredgecolor="black",
                              label=layer))
    if label_entropy is not None:
        ax.axhline(label_entropy, color="firebrick", ls="--", lw=0.9)
        handles.append(Line2D([], [], color="firebrick", ls="--", label=f"H(Y) = {label_entropy:.2f} {units}"))
    if xt_bound is not None:
        ax.axvline(xt_bound, color="steelblue", ls=":", lw=1.1)
        handles.append(Line2D([], [], color="steelblue", ls=":", label=f"log n = {xt_bound:.2f} {units}"))
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="epoch (0 = before training)")
    ax.set_xlabel(f"I(X;T)  [{units}]")
    ax.set_ylabel(f"I(T;Y)  [{units}]")
    ax.set_title(title, fontsize=11)
    ax.legend(handles=handles, fontsize=8, loc="lower right", title="layer", title_fontsize=8)
    ax.grid(alpha=0.25)
    fig.text(0.01, 0.01, caption, fontsize=7, va="bottom", ha="left", wrap=True)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return fig
