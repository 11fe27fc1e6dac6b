"""python -m sps: the same as the `sps` command."""
import sys

from sps.cli import main

sys.exit(main())
