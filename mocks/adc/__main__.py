"""``python -m mocks.adc`` runs the emulated appliance, as ``adcbridge-mock-adc`` does."""

import sys

from mocks.adc.cli import main

sys.exit(main())
