"""An emulated F5 BIG-IP: iControl REST (``/mgmt/...``) over HTTPS for LTM and BIG-IP DNS
objects, its DNS listener for wide IPs, and test controls.

It is the other side of the wire for adcbridge's BIG-IP dialect, tests, benchmarks and
demo, and imports nothing from ``adcbridge``: it must stay an honest, independent peer,
checked with F5's own Python clients. The API it serves, and every choice made where the
real unit's behaviour is not on record, is in ``mocks/bigip/README.md``.
"""

from mocks.bigip.server import BigIPConfig, MockBigIP

__all__ = ["BigIPConfig", "MockBigIP"]
