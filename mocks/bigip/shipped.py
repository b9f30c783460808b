"""What a unit ships with in /Common: monitors, profiles and persistence profiles that
objects may use and clients may list and read, but never write (custom ones are not
modelled)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mocks.bigip.database import Obj
from mocks.bigip.kinds import ObjectType

if TYPE_CHECKING:
    from mocks.bigip.store import Store


class BuiltIn(ObjectType):
    """Monitors and profiles a unit ships with in /Common: listed and read, never written."""

    writable_by_clients = False

    def __init__(self, path: str, kind_name: str, names: dict[str, Obj]) -> None:
        super().__init__()
        self.path = path
        self.kind = f"tm:{path.replace('/', ':')}:{kind_name}state"
        self.collection_kind = f"tm:{path.replace('/', ':')}:{kind_name}collectionstate"
        self.label = path.rsplit("/", 2)[-2]
        self.names = names

    def seed(self, store: Store) -> None:
        for name, properties in self.names.items():
            record = self.new_record("Common", name) | properties
            store.save(self, record, None, None)


def built_ins() -> list[BuiltIn]:
    http = {"interval": 5, "timeout": 16, "send": "GET /\\r\\n", "recv": "none", "destination": "*:*"}
    plain = {"interval": 5, "timeout": 16, "destination": "*:*"}
    return [
        BuiltIn("ltm/monitor/http", "http", {"http": http, "http_head_f5": http}),
        BuiltIn("ltm/monitor/https", "https", {"https": http, "https_443": http, "https_head_f5": http}),
        BuiltIn("ltm/monitor/tcp", "tcp", {"tcp": plain}),
        BuiltIn("ltm/monitor/tcp-half-open", "tcp-half-open", {"tcp_half_open": plain}),
        BuiltIn("ltm/monitor/udp", "udp", {"udp": plain}),
        BuiltIn("ltm/monitor/icmp", "icmp", {"icmp": plain}),
        BuiltIn("ltm/monitor/gateway-icmp", "gateway-icmp", {"gateway_icmp": plain}),
        BuiltIn("ltm/profile/fastl4", "fastl4", {"fastL4": {"defaultsFrom": "none"}}),
        BuiltIn(
            "ltm/profile/tcp",
            "tcp",
            {name: {"defaultsFrom": "none"} for name in ("tcp", "tcp-lan-optimized", "tcp-wan-optimized")},
        ),
        BuiltIn("ltm/profile/udp", "udp", {"udp": {"defaultsFrom": "none"}}),
        BuiltIn("ltm/profile/http", "http", {"http": {"defaultsFrom": "none"}}),
        BuiltIn("ltm/profile/fasthttp", "fasthttp", {"fasthttp": {"defaultsFrom": "none"}}),
        BuiltIn("ltm/profile/one-connect", "one-connect", {"oneconnect": {"defaultsFrom": "none"}}),
        BuiltIn(
            "ltm/profile/client-ssl", "client-ssl", {"clientssl": {"defaultsFrom": "none", "context": "clientside"}}
        ),
        BuiltIn(
            "ltm/profile/server-ssl", "server-ssl", {"serverssl": {"defaultsFrom": "none", "context": "serverside"}}
        ),
        BuiltIn("ltm/persistence/source-addr", "source-addr", {"source_addr": {"defaultsFrom": "none"}}),
        BuiltIn("ltm/persistence/dest-addr", "dest-addr", {"dest_addr": {"defaultsFrom": "none"}}),
        BuiltIn("ltm/persistence/cookie", "cookie", {"cookie": {"defaultsFrom": "none"}}),
    ]
