"""``python -m nlpcourse``: the course's command line."""

import sys

from nlpcourse.cli import main

sys.exit(main())
