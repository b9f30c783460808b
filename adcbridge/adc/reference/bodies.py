"""Model objects as the reference appliance's API takes them (``mocks/adc/README.md``).

The vendor-neutral model was drawn after this API, so the mapping is close to one to one; it is
still written out here, field by field, because the wire format is this dialect's alone. A
member's pool is in the URL, not in its body. ``parsing.py`` reads the same shapes back.
"""

from __future__ import annotations

from typing import Any

from adcbridge.model import AdcDomain, AdcMember, AdcNode, AdcObject, AdcPool, AdcVserver


def body(obj: AdcObject) -> dict[str, Any]:
    if isinstance(obj, AdcNode):
        return {"name": obj.name, "ip": obj.ip, "description": obj.description, "enable": obj.enable}
    if isinstance(obj, AdcPool):
        return {
            "name": obj.name,
            "method": obj.method,
            "healthcheck": list(obj.healthcheck),
            "description": obj.description,
            "enable": obj.enable,
        }
    if isinstance(obj, AdcMember):
        return {
            "node": obj.node,
            "port": obj.port,
            "weight": obj.weight,
            "description": obj.description,
            "enable": obj.enable,
        }
    if isinstance(obj, AdcVserver):
        return {
            "name": obj.name,
            "vip": obj.vip,
            "protocol": obj.protocol,
            "pool": obj.pool,
            "description": obj.description,
            "enable": obj.enable,
        }
    return _domain(obj)


def _domain(obj: AdcDomain) -> dict[str, Any]:
    return {
        "name": obj.name,
        "type": obj.type,
        "addresses": list(obj.addresses),
        "ttl": obj.ttl,
        "description": obj.description,
        "enable": obj.enable,
    }
