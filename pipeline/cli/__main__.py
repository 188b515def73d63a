"""`python -m pipeline.cli`: the same as the `comms` command."""

import sys

from pipeline.cli import main

sys.exit(main())
