"""``python -m mocks.bigip``: the same as ``adcbridge-mock-bigip``."""

import sys

from mocks.bigip.cli import main

sys.exit(main())
