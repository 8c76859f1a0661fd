"""`python -m training`: the same command as `forecast-train` (see `training.cli`)."""

import sys

from training.cli import main

sys.exit(main())
