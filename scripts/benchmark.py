"""`python scripts/benchmark.py ...` runs `mist benchmark ...` (`mist/benchmark/command.py`) from a checkout.

    python scripts/benchmark.py --suite release --workers 2 --out runs/release
"""

import sys

from mist.benchmark.command import parse_args  # noqa: F401 - the script's interface, as before
from mist.benchmark.command import main as _main


def main(argv=None) -> int:
    return _main(argv, prog="python scripts/benchmark.py")


if __name__ == "__main__":
    sys.exit(main())
