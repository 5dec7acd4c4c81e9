"""`python scripts/calibrate_checkpoint.py ...` runs `mist calibrate ...` (`mist/calibrate.py`) from a checkout.

    python scripts/calibrate_checkpoint.py RELEASE --generator default --widen-only --by-dims --workers 2
"""

import sys

from mist.calibrate import main

if __name__ == "__main__":
    sys.exit(main(prog="python scripts/calibrate_checkpoint.py"))
