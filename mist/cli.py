"""The `mist` command: `mist estimate` (MI of columns of a data file) and `mist info` (the checkpoint card).

    mist estimate --example
    mist estimate data.csv --x a,b --y c [--units bits] [--check] [--json]
    mist estimate data.npz --x xkey --y ykey
    mist estimate data.csv --x a --y b --z c,d   (conditional MI)
    mist estimate --x x.npy --y y.npy
    mist info [--checkpoint PATH] [--json]

Errors print one line on stderr and exit with status 1 (2 for a malformed command line).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from typing import Any

from mist.version import __version__

__all__ = ["main", "build_parser"]

_SELECTION_HELP = (
    "columns: names or 0-based indices, comma-separated, half-open ranges allowed (a,b  0:3  3,5  4:); "
    ".npz/HDF5: keys or dataset paths (xkey, /group/x), KEY[0:3] for columns of a 2-D array; "
    "without FILE: a .npy file"
)


# subcommands that are whole workflows with their own command lines: (module with main(argv, prog), help)
_WORKFLOWS = {
    "benchmark": ("mist.benchmark.command", "run the benchmark suites and check a release's goals (mist benchmark --help)"),
    "calibrate": ("mist.calibrate", "fit a release's split-conformal interval offsets into its card (mist calibrate --help)"),
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line in one line, without the usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mist", description="Estimate mutual information with a pretrained transformer.")
    p.add_argument("--version", action="version", version=f"mist {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    e = sub.add_parser(
        "estimate",
        help="estimate I(X;Y) between columns of a data file",
        description="Estimate I(X;Y) between the --x and --y columns of FILE (CSV, TSV, TXT, Parquet, .npy, .npz, HDF5).",
        epilog="examples:\n  mist estimate --example\n  mist estimate data.csv --x 0:3 --y 3,5\n"
        "  mist estimate data.csv --x age,income --y score --units bits --check\n"
        "  mist estimate data.npz --x x --y y --json\n  mist estimate data.h5 --x /group/x --y /group/y\n"
        "  mist estimate data.csv --x a --y b --z c,d          # I(X;Y|Z)\n"
        "  mist estimate --x x.npy --y y.npy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    e.add_argument("file", nargs="?", metavar="FILE", help="data file; omit with --example or with --x A.npy --y B.npy")
    e.add_argument("--x", dest="xspec", metavar="COLS", help="X: " + _SELECTION_HELP)
    e.add_argument("--y", dest="yspec", metavar="COLS", help="Y: same syntax as --x")
    e.add_argument("--z", dest="zspec", metavar="COLS",
                   help="a conditioning set Z, same syntax: estimate the conditional MI I(X;Y|Z)")
    e.add_argument("--example", action="store_true", help="run on the bundled example with known MI")
    e.add_argument("--format", choices=["csv", "tsv", "txt", "parquet", "npy", "npz", "hdf5"],
                   help="file format (default: from the extension)")
    e.add_argument("--delimiter", help="field separator of a text table: a character, 'tab' or 'whitespace' (default: from the extension)")
    e.add_argument("--units", choices=["nats", "bits"], default="nats", help="units of the result (default: nats)")
    e.add_argument("--check", action="store_true", help="run the subsampling consistency check (halves and quarters)")
    e.add_argument("--y-discrete", action="store_true",
                   help="Y is one column of integer class labels (up to 100 classes): estimate I(X;Y) for labels (no checkpoint)")
    e.add_argument("--checkpoint", metavar="PATH", help="a release checkpoint (NAME or NAME.json); default: the shipped model")
    e.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    e.add_argument("--json", action="store_true", help="print the result as JSON")

    for name, (_, text) in _WORKFLOWS.items():
        sub.add_parser(name, help=text, add_help=False)  # parsed by the workflow itself (see main)
    i = sub.add_parser("info", help="print the checkpoint card: trained ranges, calibration, version")
    i.add_argument("--checkpoint", metavar="PATH", help="a release checkpoint; default: the shipped model")
    i.add_argument("--json", action="store_true", help="print the whole card as JSON")
    return p


def _delimiter(d: str | None) -> str | None:
    if d is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "whitespace": "whitespace", "space": " ", "comma": ",", "semicolon": ";"}
    if d.lower() in named:
        return named[d.lower()]
    if len(d) != 1:
        raise ValueError(f"--delimiter must be one character, 'tab' or 'whitespace', got {d!r}")
    return d


def _estimate(args: argparse.Namespace) -> int:
    from mist.datafiles import read_sides
    from mist.inference.estimator import MIEstimator, MISTWarning
    from mist.inputs import as_pair

    example = None
    if args.example:
        if args.file or args.xspec or args.yspec or args.zspec:
            raise ValueError("--example runs on the bundled data: give no FILE, --x, --y or --z with it")
        from mist.examples import GAUSSIAN as example

        args.file, args.xspec, args.yspec = str(example.path), example.x, example.y
    elif not (args.xspec and args.yspec):
        raise ValueError("say which columns are X and Y with --x COLS --y COLS (or run `mist estimate --example`)")
    specs = {"x": args.xspec, "y": args.yspec, **({"z": args.zspec} if args.zspec else {})}
    sides = read_sides(args.file, specs, fmt=args.format, delimiter=_delimiter(args.delimiter))
    x, y, z = sides["x"], sides["y"], sides.get("z")
    if z is not None:
        if args.y_discrete:
            raise ValueError("--y-discrete is not supported with --z yet; leave it out (a column with few distinct "
                             "values is recognised as discrete)")
        est = MIEstimator.from_pretrained(args.checkpoint, device=args.device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MISTWarning)
            r = est.estimate(x.data, y.data, z=z.data, units=args.units, check=args.check)
    elif args.y_discrete:
        from mist.discrete import estimate_discrete

        r = estimate_discrete(x.data, y.data, units=args.units, check=args.check)
    else:
        pair = as_pair(x.data, y.data, x_columns=x.names, y_columns=y.names)
        est = MIEstimator.from_pretrained(args.checkpoint, device=args.device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MISTWarning)  # they are printed with the result
            r = est.estimate_pairs([pair], units=args.units, check=args.check)[0]
    scale = 1.0 if args.units == "nats" else math.log(2.0)
    if args.json:
        out: dict[str, Any] = r.to_dict()
        out["x"], out["y"] = x.names, y.names
        if z is not None:
            out["z"] = z.names
        out["file"] = args.file
        if example is not None:
            out["example"] = {"name": example.name, "true_mi": example.mi_nats / scale}
        print(json.dumps(out, indent=2))
        return 0
    source = "the bundled example " + example.file if example else args.file or f"{args.xspec} and {args.yspec}"
    print(f"{source}: X = {', '.join(x.names)}; Y = {', '.join(y.names)}" + (f"; Z = {', '.join(z.names)}" if z is not None else ""))
    print(r.summary())
    if example is not None:
        print(f"exact MI of this example: {example.mi_nats / scale:.4g} {args.units} ({example.description})")
    return 0


def _info(args: argparse.Namespace) -> int:
    from mist.inference.estimator import MIEstimator, default_checkpoint

    est = MIEstimator.from_pretrained(args.checkpoint, device="cpu")  # verifies the sha256 and the weights
    card = est.card
    if args.json:
        print(json.dumps(dict(card), indent=2, sort_keys=True))
        return 0
    r = est.ranges
    arch = card.architecture
    training = card.training
    per_dim = f" (at most {r.max_mi_per_dim:g} nats per coordinate pair)" if r.max_mi_per_dim else ""
    tr = card.get("trained_ranges") or {}
    lines = [
        f"checkpoint: {args.checkpoint or default_checkpoint()}",
        f"mist version: {card.get('mist_version')} (format {card.get('format_version')}), exported {card.get('exported', 'unknown')}",
        f"weights sha256: {card.get('weights_sha256')}",
        f"trained ranges: n {r.n[0]} to {r.n[1]} (larger n: extrapolated, with a warning), dx {r.dx[0]} to {r.dx[1]}, "
        f"dy {r.dy[0]} to {r.dy[1]}, MI {r.mi[0]:g} to {r.mi[1]:g} nats{per_dim}",
    ]
    if tr.get("families"):
        lines.append(f"families: {', '.join(tr['families'])}")
    if tr.get("transforms"):
        lines.append(f"transforms: {', '.join(tr['transforms'])}")
    lines += [
        f"quantile levels: {', '.join(f'{q:g}' for q in est.levels)}",
        "architecture: " + ", ".join(f"{k} {v}" for k, v in arch.items() if k != "quantiles"),
        "calibration: " + _calibration_line(card.calibration),
    ]
    if training:
        shown = ("global_step", "epoch", "batch_size", "source")
        lines.append("training: " + ", ".join(f"{k} {v}" for k, v in training.items() if k in shown))
    print("\n".join(lines))
    return 0


def _calibration_line(cal: dict[str, Any] | None) -> str:
    """The calibration method and, when recorded, the held-out 90% coverage per n bin before -> after."""
    if not cal:
        return "none recorded (the quantiles are the network's own)"
    text = f"{cal.get('method', 'recorded')}; n bins from edges {cal.get('edges')}"
    if cal.get("dim_edges"):
        text += f"; dx + dy groups from edges {cal['dim_edges']}"
    check = cal.get("check") or {}
    before, after = check.get("before") or {}, check.get("after") or {}
    kept = dict(zip(cal.get("bins") or [], cal.get("kept") or []))
    order = [b for b in cal.get("bins") or sorted(before, key=lambda b: float(b.split("-")[0])) if b in before]
    cover = [
        f"{b}: {before[b].get('cover90', float('nan')):.2f} -> {after[b].get('cover90', float('nan')):.2f}"
        + ("" if kept.get(b, True) else " (offsets not kept)")
        for b in order
        if b in after
    ]
    if cover:
        text += "; held-out 90% interval coverage before -> after: " + ", ".join(cover)
    return text


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 bad command line)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in _WORKFLOWS:
        import importlib

        return importlib.import_module(_WORKFLOWS[argv[0]][0]).main(argv[1:], prog=f"mist {argv[0]}")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a malformed command line (already printed)
        return int(e.code or 0)
    try:
        return {"estimate": _estimate, "info": _info}[args.command](args)
    except BrokenPipeError:  # `mist estimate --json | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, OSError, ImportError) as e:  # bad data, files, checkpoints (CheckpointError is a ValueError)
        print(f"mist {args.command}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except Exception as e:  # a bug: still one line, unless asked for the traceback
        if os.environ.get("MIST_TRACEBACK"):
            raise
        print(f"mist {args.command}: internal error: {type(e).__name__}: {e} (set MIST_TRACEBACK=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
