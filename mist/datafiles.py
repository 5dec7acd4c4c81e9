"""Read the X and Y columns of a data file: CSV, TSV, Parquet, .npy, .npz and HDF5.

Selections (the `--x` and `--y` of `mist estimate`):
- tables (CSV, TSV, Parquet, a 2-D .npy): comma-separated column names or 0-based indices,
  and half-open index ranges: `a,b`, `0:3` (columns 0, 1, 2), `3:` (3 to the last), `0,2,5:7`;
  negative indices count from the end;
- .npz and HDF5: comma-separated keys (dataset paths in HDF5, e.g. `/group/x`), each a 1-D or
  2-D numeric array; `KEY[COLS]` picks columns of a 2-D array with the index grammar above;
- two .npy files: `--x a.npy --y b.npy` and no FILE.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Columns", "FORMATS", "detect_format", "read_sides", "read_xy", "select_columns"]

FORMATS = {
    "csv": (".csv",),
    "tsv": (".tsv", ".tab"),
    "txt": (".txt", ".dat"),  # whitespace-separated unless --delimiter says otherwise
    "parquet": (".parquet", ".pq"),
    "npy": (".npy",),
    "npz": (".npz",),
    "hdf5": (".h5", ".hdf5", ".hdf", ".he5"),
}
_MISSING = {"", "na", "nan", "null", "none", "n/a"}
_INDEX = re.compile(r"^-?\d+$")
_RANGE = re.compile(r"^(-?\d*):(-?\d*)$")
_KEYCOLS = re.compile(r"^(.*)\[([^\[\]]*)\]$")


@dataclass
class Columns:
    """The selected samples of one side.

    Attributes:
        data: shape (n, d), float64 (missing values are NaN).
        names: a name per column, for messages and the summary.
    """

    data: np.ndarray
    names: list[str]


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """The format named by `fmt`, else by the file's extension; ValueError when unknown."""
    if fmt:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    known = ", ".join(s for ss in FORMATS.values() for s in ss)
    raise ValueError(f"cannot tell the format of {path} from its extension; use one of {known}, or pass --format")


def select_columns(spec: str, names: list[str] | None, count: int, where: str) -> list[int]:
    """Indices of the columns a selection names.

    Arguments:
        spec: e.g. "a,b", "0:3", "3,5", "-1".
        names: the column names, or None when the columns have none.
        count: how many columns there are.
        where: the file, for messages.

    Returns:
        0-based column indices, in the order given, without repeats.
    """
    def by_name(name: str) -> list[int]:
        hits = [i for i, n in enumerate(names) if n == name]
        if len(hits) > 1:
            raise ValueError(f"column name {name!r} appears {len(hits)} times in the header of {where} (columns "
                             f"{', '.join(map(str, hits))}): select it by index instead, e.g. --x {hits[0]}")
        return hits

    if names is not None and spec in names:
        return by_name(spec)
    out: list[int] = []
    for item in (s.strip() for s in spec.split(",")):
        if names is not None and item in names:
            idx = by_name(item)
        elif _INDEX.match(item):
            i = int(item)
            if not -count <= i < count:
                raise ValueError(f"column index {i} is out of range: {where} has {count} columns (0 to {count - 1})")
            idx = [i % count]
        elif m := _RANGE.match(item):
            lo = int(m.group(1)) if m.group(1) else None
            hi = int(m.group(2)) if m.group(2) else None
            for end in (lo, hi):
                if end is not None and not -count <= end <= count:
                    raise ValueError(f"column range {item!r} reaches past {where}, which has {count} columns "
                                     f"(0 to {count - 1}): use {lo or ''}:{count} or {lo or ''}: for the rest")
            idx = list(range(count))[lo:hi]
            if not idx:
                raise ValueError(f"column range {item!r} selects no column of {where} ({count} columns)")
        elif not item:
            raise ValueError(f"empty item in the column selection {spec!r}")
        else:
            shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "") if names else ""
            hint = f" (columns: {shown})" if names else " (its columns have no names: select them by index, e.g. 0:3)"
            seps = [c for c in ";|\t:" if names and len(names) == 1 and c in names[0]]
            if seps:
                hint += f"; the header looks separated by {seps[0]!r}: pass --delimiter {seps[0]!r}"
            raise ValueError(f"no column named {item!r} in {where}{hint}")
        out.extend(i for i in idx if i not in out)
    return out


def _float_column(values: list[str], lines: list[int], name: str, where: str) -> np.ndarray:
    try:
        return np.array(values, dtype=np.float64)
    except ValueError:
        pass
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except ValueError:
            if v.strip().lower() in _MISSING:
                out[i] = np.nan
            else:
                raise ValueError(
                    f"column {name!r} of {where} has non-numeric data ({v!r} on line {lines[i]}); mist needs "
                    "numbers: encode that column as numbers or leave it out of --x and --y"
                ) from None
    return out


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return v.strip().lower() in _MISSING


def _read_text_table(path: Path, delimiter: str | None) -> tuple[list[str] | None, list[list[str]], list[int]]:
    """(header or None, rows of fields, the line number of each row); delimiter None: any whitespace."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            if delimiter is None:
                lines = [(k, line.split()) for k, line in enumerate(f, start=1)]
            else:
                lines = list(enumerate(csv.reader(f, delimiter=delimiter), start=1))
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{path} is not a UTF-8 text table (byte {e.object[e.start]:#04x} at offset {e.start}); if it is a "
            "binary file, give it its real extension (.npy, .npz, .parquet, .h5) or pass --format"
        ) from None
    except csv.Error as e:
        raise ValueError(f"{path} cannot be read as a table ({e}): check --delimiter and quoting") from None
    lines = [(k, row) for k, row in lines if any(c.strip() for c in row) and not row[0].lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"{path} has no data rows")
    header = None
    if not all(_is_number(c) for c in lines[0][1]):
        header = [c.strip() for c in lines[0][1]]
        lines = lines[1:]
        if not lines:
            raise ValueError(f"{path} has a header but no data rows")
    width = len(header) if header is not None else len(lines[0][1])
    for k, row in lines:
        if len(row) != width:
            raise ValueError(
                f"line {k} of {path} has {len(row)} fields, expected {width}"
                + (" (the header's)" if header is not None else " (the first row's)")
                + ": check the delimiter (--delimiter) and quoting"
            )
    return header, [row for _, row in lines], [k for k, _ in lines]


def _table_columns(path: Path, fmt: str, delimiter: str | None, specs: dict[str, str]) -> dict[str, Columns]:
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError(f"reading Parquet ({path}) needs pyarrow: pip install pyarrow") from None
        names = list(pq.read_schema(path).names)
        sel = {side: select_columns(s, names, len(names), str(path)) for side, s in specs.items()}
        _disjoint(sel, names)
        table = pq.read_table(path, columns=[names[i] for i in sorted(set(sum(sel.values(), [])))])

        def take(idx: list[int]) -> Columns:
            cols = []
            for i in idx:
                col = table.column(names[i])
                try:
                    cols.append(np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64))
                except (TypeError, ValueError):
                    raise ValueError(
                        f"column {names[i]!r} of {path} has non-numeric data (type {col.type}); mist needs numbers"
                    ) from None
            return Columns(np.column_stack(cols), [names[i] for i in idx])

        return {side: take(idx) for side, idx in sel.items()}
    if fmt == "npy":
        a = _load_npy(path)
        if a.ndim != 2:
            raise ValueError(
                f"{path} has shape {a.shape}; as one FILE a .npy must be a 2-D table (select columns with --x and --y), "
                "or pass two arrays as --x A.npy --y B.npy"
            )
        sel = {side: select_columns(s, None, a.shape[1], str(path)) for side, s in specs.items()}
        _disjoint(sel, None)
        return {side: Columns(_numeric(a[:, idx], str(path)), [str(i) for i in idx]) for side, idx in sel.items()}
    if delimiter is None:
        delimiter = {"csv": ",", "tsv": "\t", "txt": "whitespace"}[fmt]
    header, rows, lines = _read_text_table(path, None if delimiter == "whitespace" else delimiter)
    width = len(header) if header is not None else len(rows[0])
    sel = {side: select_columns(s, header, width, str(path)) for side, s in specs.items()}
    _disjoint(sel, header)
    where = str(path)

    def take(idx: list[int]) -> Columns:
        names = [header[i] if header is not None else str(i) for i in idx]
        cols = [_float_column([r[i] for r in rows], lines, names[k], where) for k, i in enumerate(idx)]
        m = np.column_stack(cols)
        bad = ~np.isfinite(m)
        if bad.any():  # named by file line, as every other error of a text file
            rows_bad = np.flatnonzero(bad.any(axis=1))
            first = int(rows_bad[0])
            col = names[int(np.flatnonzero(bad[first])[0])]
            what = "a missing value" if np.isnan(m[first]).any() else "an infinite value"
            more = f" and {rows_bad.size - 1} more line{'s' if rows_bad.size > 2 else ''}" if rows_bad.size > 1 else ""
            raise ValueError(
                f"column {col!r} of {where} has {what} on line {lines[first]}{more}; drop or impute those rows "
                "before estimating"
            )
        return Columns(m, names)

    return {side: take(idx) for side, idx in sel.items()}


def _disjoint(sel: dict[str, list[int]], names: list[str] | None) -> None:
    """No column may be selected for two sides."""
    sides = list(sel)
    for k, a in enumerate(sides):
        for b in sides[k + 1:]:
            both = [i for i in sel[a] if i in sel[b]]
            if both:
                shown = ", ".join(repr(names[i]) if names else str(i) for i in both)
                why = ("X and Y must be different columns (a variable shares infinite MI with itself)" if {a, b} == {"x", "y"}
                       else f"{a.upper()} and {b.upper()} must be different columns (conditioning on a variable itself "
                       "leaves it no information)")
                raise ValueError(f"column {shown} is selected for both --{a} and --{b}; {why}")


def _numeric(a: np.ndarray, where: str) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{where} holds {a.dtype} data, not numbers; mist needs a numeric array")
    return a.astype(np.float64)


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        raise ValueError(f"{path} is not a numeric .npy array ({e}); mist loads numeric arrays only, never pickles") from None


def _npy_columns(path: Path) -> Columns:
    a = _numeric(_load_npy(path), str(path))
    names = [path.name] if a.ndim == 1 else [f"{path.name}[{i}]" for i in range(a.shape[1])] if a.ndim == 2 else []
    return Columns(a, names)


def _keyed(path: Path, fmt: str, spec: str, side: str) -> Columns:
    """Columns from .npz keys or HDF5 datasets, `KEY` or `KEY[COLS]`, comma-separated."""
    parts, names = [], []
    for item in _split_keys(spec):
        m = _KEYCOLS.match(item)
        key, cols = (m.group(1), m.group(2)) if m else (item, None)
        a = _read_key(path, fmt, key)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise ValueError(f"{key!r} in {path} has shape {a.shape}; --{side} needs 1-D or 2-D arrays (n,) or (n, d)")
        idx = list(range(a.shape[1])) if cols is None else select_columns(cols, None, a.shape[1], f"{key!r} in {path}")
        parts.append(_numeric(a[:, idx], f"{key!r} in {path}"))
        names.extend(key if a.shape[1] == 1 and cols is None else f"{key}[{i}]" for i in idx)
    n = {p.shape[0] for p in parts}
    if len(n) > 1:
        raise ValueError(f"the arrays of --{side} {spec!r} in {path} have different lengths {sorted(n)}")
    return Columns(np.hstack(parts), names)


def _split_keys(spec: str) -> list[str]:
    """Split on commas outside brackets: `a[0,2],b` -> ['a[0,2]', 'b']."""
    out, depth, cur = [], 0, ""
    for c in spec:
        depth += (c == "[") - (c == "]")
        if c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
    out.append(cur.strip())
    if any(not k for k in out):
        raise ValueError(f"empty key in the selection {spec!r}")
    return out


def _read_key(path: Path, fmt: str, key: str) -> np.ndarray:
    if fmt == "npz":
        import zipfile

        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path} is not an .npz archive (an .npz is a zip of .npy arrays); pass --format to "
                             "name its real format (csv, tsv, npy, h5), or leave --format out to go by its extension")
        with np.load(path, allow_pickle=False) as z:
            if key not in z.files:
                raise ValueError(f"{path} has no array {key!r} (arrays: {', '.join(z.files)})")
            try:
                return z[key]
            except ValueError as e:
                raise ValueError(f"{key!r} in {path} is not a numeric array ({e}); mist never unpickles") from None
    import h5py

    with h5py.File(path, "r") as f:
        obj = f.get(key)
        if not isinstance(obj, h5py.Dataset):
            found: list[str] = []
            f.visititems(lambda name, o: found.append("/" + name) if isinstance(o, h5py.Dataset) else None)
            shown = ", ".join(found[:20]) + (" ..." if len(found) > 20 else "")
            what = "is a group, not a dataset" if obj is not None else "does not exist"
            raise ValueError(f"{key!r} in {path} {what} (datasets: {shown or 'none'})")
        return obj[()]


def read_xy(
    file: str | Path | None, xspec: str, yspec: str, *, fmt: str | None = None, delimiter: str | None = None
) -> tuple[Columns, Columns]:
    """Read the X and Y columns of a data file (or of two .npy files when `file` is None).

    Arguments:
        file: the data file, or None for `--x A.npy --y B.npy`.
        xspec, yspec: the selections (see the module docstring).
        fmt: the format, overriding the extension (csv, tsv, txt, parquet, npy, npz, hdf5).
        delimiter: the field separator of a text table, "whitespace" for any run of blanks
            (default by extension: "," for .csv, tab for .tsv, whitespace for .txt).

    Returns:
        (X columns, Y columns), each float64 of shape (n, d) with NaN for missing values.

    Raises:
        ValueError: unknown format, missing file, key or column, non-numeric data, Parquet
            without pyarrow, the same column in X and Y.
    """
    sides = read_sides(file, {"x": xspec, "y": yspec}, fmt=fmt, delimiter=delimiter)
    return sides["x"], sides["y"]


def read_sides(
    file: str | Path | None, specs: dict[str, str], *, fmt: str | None = None, delimiter: str | None = None
) -> dict[str, Columns]:
    """Read several sides ("x", "y", and "z" for a conditioning set) of one file, as `read_xy`.

    No column may be selected for two sides. With `file` None, every selection is a .npy path.
    """
    if file is None:
        paths = {side: Path(s) for side, s in specs.items()}
        if not all(p.suffix.lower() == ".npy" for p in paths.values()):
            flags = " ".join(f"--{side} {side.upper()}.npy" for side in specs)
            raise ValueError(f"give a data FILE with {' '.join(f'--{side} COLS' for side in specs)}, or arrays as {flags}")
        for p in paths.values():
            if not p.is_file():
                raise ValueError(f"{p} does not exist")
        return {side: _npy_columns(p) for side, p in paths.items()}
    path = Path(file)
    if not path.is_file():
        raise ValueError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    fmt = detect_format(path, fmt)
    if fmt in ("npz", "hdf5"):
        return {side: _keyed(path, fmt, spec, side) for side, spec in specs.items()}
    return _table_columns(path, fmt, delimiter, specs)
