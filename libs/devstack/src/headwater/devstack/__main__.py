"""`python -m headwater.devstack` is `headwater-dev`."""

import sys

from headwater.devstack.cli import main

sys.exit(main())
