"""``python -m mocks.acos``: the same as ``adcbridge-mock-acos``."""

import sys

from mocks.acos.cli import main

sys.exit(main())
