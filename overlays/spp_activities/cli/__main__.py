"""`python -m spp_activities.cli`: the same as the `spp-activities` command."""

import sys

from spp_activities.cli import main

sys.exit(main())
