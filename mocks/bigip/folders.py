"""Partitions, seen through their two URIs: ``/mgmt/tm/auth/partition`` and
``/mgmt/tm/sys/folder``.

A partition is a top-level folder, so both kinds store the same records (table
``auth/partition``) and differ in how they show them: ``auth/partition/foo`` with
``fullPath: "foo"``, ``sys/folder/~foo`` with ``fullPath: "/foo"`` and ``subPath: "/"``.
``Common`` exists from the start and cannot be deleted; neither can a partition that still
holds objects. Sub-folders are not modelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from mocks.bigip import errors
from mocks.bigip.database import Obj
from mocks.bigip.kinds import ObjectType

if TYPE_CHECKING:
    from mocks.bigip.store import Store

COMMON_DESCRIPTION = "Repository for system objects and shared objects."
FOLDER_PROPERTIES = {
    "deviceGroup": "none",
    "hidden": "false",
    "inheritedDevicegroup": "true",
    "inheritedTrafficGroup": "true",
    "noRefCheck": "false",
    "trafficGroup": "/Common/traffic-group-1",
}


def _route_domain(store: Store, record: Obj, value: Any) -> Any:
    if value not in (0, "0"):
        raise errors.bad_request(f"No Route Domain exists with ID {value}.", api_error=3)
    return 0


class Partition(ObjectType):
    path = "auth/partition"
    kind = "tm:auth:partition:partitionstate"
    collection_kind = "tm:auth:partition:partitioncollectionstate"
    label = "partition"
    partitioned = False
    defaults: ClassVar[dict[str, Any]] = {"defaultRouteDomain": 0}

    def __init__(self) -> None:
        super().__init__()
        self.validators["defaultRouteDomain"] = _route_domain

    def key_from_uri(self, raw: str) -> str:
        return raw

    def check_delete(self, store: Store, record: Obj, parent: Obj | None, users: list[tuple[str, str]]) -> None:
        name = record["name"]
        if name == "Common":
            raise errors.bad_request("The Common partition cannot be deleted.", api_error=3)
        for otype, item, _parent in store.walk():
            if item.get("partition") == name and otype.writable_by_clients:
                raise errors.bad_request(
                    f"The folder (/{name}) cannot be deleted because it is not empty: it holds {item['fullPath']}.",
                    api_error=3,
                )

    def seed(self, store: Store) -> None:
        record = self.new_record("", "Common") | {"description": COMMON_DESCRIPTION}
        store.save(self, record, None, None)


class Folder(Partition):
    """The same records, as ``sys/folder`` shows them."""

    path = "sys/folder"
    kind = "tm:sys:folder:folderstate"
    collection_kind = "tm:sys:folder:foldercollectionstate"
    label = "folder"
    optional = frozenset({"description", *FOLDER_PROPERTIES, "subPath"})

    @property
    def table(self) -> str:
        return Partition.path

    def short_name(self, name: str) -> str:
        short = name.removeprefix("/")
        if "/" in short:
            raise errors.bad_request(f"The folder {name} is a sub-folder: this unit models partitions only.")
        return short

    def header(self, record: Obj) -> Obj:
        return {
            "name": record["name"],
            "subPath": "/",
            "fullPath": f"/{record['name']}",
            "generation": record["generation"],
        }

    def uri_id(self, record: Obj) -> str:
        return f"~{record['name']}"

    def key_from_uri(self, raw: str) -> str:
        return raw.removeprefix("~")

    def validate(self, store: Store, record: Obj, key: str, value: Any) -> Any:
        if (key in FOLDER_PROPERTIES or key == "subPath") and value != FOLDER_PROPERTIES.get(key, "/"):
            raise errors.invalid_value(key, value)
        return super().validate(store, record, key, value)

    def accept(self, store: Store, record: Obj, body: Obj, current: Obj | None) -> bool:
        changed = super().accept(store, record, body, current)
        for key in (*FOLDER_PROPERTIES, "subPath"):
            record.pop(key, None)  # fixed values: checked, never stored
        return changed

    def present(self, store: Store, record: Obj, parent: Obj | None) -> Obj:
        shown = {key: value for key, value in record.items() if key == "description"}
        return dict(sorted((shown | FOLDER_PROPERTIES).items()))


def root_folder(store: Store) -> Obj:
    """The ``/`` folder, which ``sys/folder`` lists first."""
    return {
        "kind": Folder.kind,
        "name": "/",
        "fullPath": "/",
        "generation": 1,
        "selfLink": f"https://localhost/mgmt/tm/sys/folder/~?ver={store.version}",
        **FOLDER_PROPERTIES,
    }
