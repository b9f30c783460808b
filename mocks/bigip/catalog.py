"""Every kind the emulated unit serves, by URI, and a store as a freshly set-up unit has it:
partition Common, the built-in monitors and profiles, nothing else."""

from __future__ import annotations

from mocks.bigip import folders, gtm, ltm, shipped, virtuals
from mocks.bigip.kinds import ObjectType
from mocks.bigip.store import Store

DEFAULT_VERSION = "17.1.1"


def object_types() -> dict[str, ObjectType]:
    """Top-level kinds by their URI under /mgmt/tm/ (subcollections hang off their parent)."""
    kinds: list[ObjectType] = [
        folders.Partition(),
        folders.Folder(),
        ltm.Node(),
        ltm.Pool(ltm.Member()),
        ltm.Snatpool(),
        virtuals.VirtualAddress(),
        virtuals.Virtual(virtuals.Profiles(), virtuals.Policies()),
        *shipped.built_ins(),
        gtm.Datacenter(),
        gtm.Server(gtm.ServerVirtual()),
    ]
    for rtype in gtm.RECORD_TYPES:
        kinds += [gtm.GtmPool(rtype, gtm.GtmMember(rtype)), gtm.WideIp(rtype)]
    return {kind.path: kind for kind in kinds}


def fresh_store(*, version: str = DEFAULT_VERSION) -> Store:
    types = object_types()
    store = Store(types, version=version)
    partition = types[folders.Partition.path]
    assert isinstance(partition, folders.Partition)
    partition.seed(store)
    for kind in types.values():
        if isinstance(kind, shipped.BuiltIn):
            kind.seed(store)
    return store
