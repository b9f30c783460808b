"""An emulated ADC appliance: the ``/adc/v3.0`` REST API, its DNS service, and test controls.

It is the other side of the wire for adcbridge's driver, tests, benchmarks and demo, and
imports nothing from ``adcbridge``: it must stay an honest, independent peer. The API it
serves is documented in ``mocks/adc/README.md``.
"""

from mocks.adc.server import MockADC, MockConfig
from mocks.adc.sessions import AuthPolicy

__all__ = ["AuthPolicy", "MockADC", "MockConfig"]
