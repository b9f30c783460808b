"""A strict fake Kubernetes API server: the other side of the wire for the bridge's client and kubectl.

It imports nothing from ``adcbridge``. The API it serves, its controls and its approximations
are documented in ``mocks/kube/README.md``.
"""

from mocks.kube.errors import KubeError
from mocks.kube.seeding import SeedError
from mocks.kube.server import FakeKube

__all__ = ["FakeKube", "KubeError", "SeedError"]
