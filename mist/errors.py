"""One error boundary for every console script: expected failures are one line, bugs say how to see more."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["one_line_errors", "EXPECTED"]

# bad data, files, configs and checkpoints (CheckpointError is a ValueError), missing optional packages
EXPECTED = (ValueError, OSError, ImportError, KeyError)


@contextmanager
def one_line_errors(prog: str) -> Iterator[None]:
    """Run a command's body: an expected error prints `PROG: error: MESSAGE` on stderr and exits 1;
    any other exception prints one line too, unless MIST_TRACEBACK=1 asks for the traceback."""
    try:
        yield
    except EXPECTED as e:
        if os.environ.get("MIST_TRACEBACK"):
            raise
        text = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"{prog}: error: {' '.join(str(text).split())}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:
        if os.environ.get("MIST_TRACEBACK"):
            raise
        if isinstance(e.__cause__, EXPECTED):  # e.g. Hydra's InstantiationException around a config error
            print(f"{prog}: error: {' '.join(str(e.__cause__).split())}", file=sys.stderr)
            sys.exit(1)
        print(f"{prog}: internal error: {type(e).__name__}: {e} (set MIST_TRACEBACK=1 for details)", file=sys.stderr)
        sys.exit(1)
