"""An emulated A10 Thunder: ACOS aXAPI v3 (``/axapi/v3/...``) over HTTPS for SLB objects in
partitions, and test controls.

It is the other side of the wire for adcbridge's ACOS dialect, tests, benchmarks and demo,
and imports nothing from ``adcbridge``: it must stay an honest, independent peer, checked
with A10's own Python client (acos-client). The API it serves, and every choice made where
the real unit's behaviour is not on record, is in ``mocks/acos/README.md``.
"""

from mocks.acos.server import AcosConfig, MockAcos

__all__ = ["AcosConfig", "MockAcos"]
