"""``python -m adcbridge`` is the ``adcbridge`` command."""

import sys

from adcbridge.cli import main

sys.exit(main())
