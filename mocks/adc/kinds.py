"""The object kinds of the emulated appliance, declared as data.

A kind says which fields it has (validator, required, default, changeable), which fields
name other objects (so the store can enforce referential integrity both ways), and which
field combinations must be unique. The store is generic over these declarations, so a new
kind is a table entry, not new code paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mocks.adc import validation as v

NODE = "slb/node"
POOL = "slb/pool"
RSERVER = "slb/pool/rserver"
VSERVER = "slb/vserver"
HEALTHCHECK = "slb/healthcheck"
DOMAIN = "dns/domain"


@dataclass(frozen=True)
class Field:
    validate: v.Validator
    required: bool = False
    default: Callable[[], Any] | None = None
    changeable: bool = True


@dataclass(frozen=True)
class Kind:
    """One object kind: its fields, references and unique constraints."""

    path: str
    fields: dict[str, Field]
    # field -> kind it references; list-valued fields reference every item.
    references: dict[str, str] = field(default_factory=dict)
    unique: tuple[tuple[str, ...], ...] = ()
    # True for kinds whose objects live under a pool and are keyed "node:port".
    nested: bool = False
    # Built-in kinds: the API serves only GET routes for them.
    read_only: bool = False

    @property
    def list_key(self) -> str:
        """The key a list answer puts its items under: the last path segment."""
        return self.path.rsplit("/", 1)[-1]


def _common(name_validator: v.Validator) -> dict[str, Field]:
    return {
        "name": Field(name_validator, required=True, changeable=False),
        "description": Field(v.description, default=str),
        "enable": Field(v.boolean, default=lambda: True),
    }


KINDS: dict[str, Kind] = {
    HEALTHCHECK: Kind(
        HEALTHCHECK,
        {**_common(v.object_name), "type": Field(v.one_of(("tcp", "http", "icmp")), required=True)},
        read_only=True,
    ),
    NODE: Kind(
        NODE,
        {**_common(v.object_name), "ip": Field(v.ip_address, required=True)},
        unique=(("ip",),),
    ),
    POOL: Kind(
        POOL,
        {
            **_common(v.object_name),
            "method": Field(v.one_of(v.POOL_METHODS), default=lambda: "rr"),
            "healthcheck": Field(v.name_list, default=list),
        },
        references={"healthcheck": HEALTHCHECK},
    ),
    RSERVER: Kind(
        RSERVER,
        {
            "description": Field(v.description, default=str),
            "enable": Field(v.boolean, default=lambda: True),
            "node": Field(v.object_name, required=True, changeable=False),
            "port": Field(v.port, required=True, changeable=False),
            "weight": Field(v.weight, default=lambda: 1),
        },
        references={"node": NODE},
        nested=True,
    ),
    VSERVER: Kind(
        VSERVER,
        {
            **_common(v.object_name),
            "vip": Field(v.vip, required=True),
            "protocol": Field(v.one_of(v.VSERVER_PROTOCOLS), required=True),
            "pool": Field(v.object_name, required=True),
        },
        references={"pool": POOL},
        unique=(("vip", "protocol"),),
    ),
    DOMAIN: Kind(
        DOMAIN,
        {
            **_common(v.domain_name),
            "type": Field(v.one_of(v.DOMAIN_TYPES), required=True),
            "ttl": Field(v.ttl, default=lambda: 300),
            "addresses": Field(v.address_list, required=True),
        },
    ),
}

# Creation order when a whole state is loaded: referenced kinds first.
LOAD_ORDER = (HEALTHCHECK, NODE, POOL, RSERVER, VSERVER, DOMAIN)

BUILT_IN_HEALTHCHECKS = (
    {"name": "tcp", "type": "tcp", "description": "built-in TCP connect check"},
    {"name": "http", "type": "http", "description": "built-in HTTP GET / check"},
    {"name": "icmp", "type": "icmp", "description": "built-in ICMP echo check"},
)
