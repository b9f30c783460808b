"""Who may use an emulator's ``/_mock/`` controls: loopback peers only.

The controls need no credentials (a test must be able to inspect a locked-out appliance),
so they must not be reachable from anywhere else.
"""

from __future__ import annotations

import ipaddress


def is_loopback(remote: str | None) -> bool:
    """True for 127.0.0.0/8 and ::1 (a zone index such as ``%lo`` is ignored)."""
    try:
        return remote is not None and ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        return False
