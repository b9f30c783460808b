"""The appliance's DNS service: authoritative answers for its enabled ``dns/domain`` objects.

UDP and TCP on one port, as a real server. Answers follow the usual rules closely enough
that a resolution check written against it works against BIND: an existing name without
the asked type is NODATA (NOERROR, empty), not NXDOMAIN; a name that only has names below
it (an empty non-terminal) is NODATA too; a wildcard ``*.zone`` covers names at any depth
below ``zone`` that do not exist themselves; an answer too large for UDP is sent empty
with TC set, so clients retry over TCP. Disabled domains do not exist. Zone transfers,
other classes and other opcodes are refused; there are no SOA or NS records (the mock
has no zones), so negative answers carry no SOA. The wire and the listeners are shared
with the other emulators (``mocks/dns_service.py``); this module holds the data side.
"""

from __future__ import annotations

from collections.abc import Callable

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from mocks.adc.store import Obj, Store
from mocks.dns_service import DnsListener, answer


def find_domain(store: Store, name: str) -> Obj | None:
    """The enabled domain answering for ``name``: itself, else the wildcard at its closest
    encloser (the nearest ancestor that exists, RFC 4592)."""
    exact = store.resolvable(name)
    if exact is not None or store.has_names_below(name):
        return exact
    labels = name.split(".")
    for depth in range(1, len(labels)):
        parent = ".".join(labels[depth:])
        if store.resolvable(parent) is None and not store.has_names_below(parent):
            continue
        return store.resolvable(f"*.{parent}")
    return None


def _fill(response: dns.message.Message, question: dns.rrset.RRset, store: Store) -> None:
    name = question.name.to_text(omit_final_dot=True).lower()
    domain = find_domain(store, name)
    if domain is None:
        if not store.has_names_below(name):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return
    wanted = question.rdtype
    for rdtype, family in ((dns.rdatatype.A, "."), (dns.rdatatype.AAAA, ":")):
        if wanted not in (rdtype, dns.rdatatype.ANY):
            continue
        addresses = [address for address in domain["addresses"] if family in address]
        if addresses:
            rrset = dns.rrset.from_text_list(question.name, domain["ttl"], "IN", rdtype, addresses)
            response.answer.append(rrset)


class DnsResponder(DnsListener):
    """UDP and TCP listeners on one address; ``store_of`` is read per query, so a reset
    of the appliance (which swaps the store) is seen at once."""

    def __init__(self, store_of: Callable[[], Store]) -> None:
        def answerer(query: bytes, max_size: int | None) -> bytes | None:
            store = store_of()
            return answer(query, lambda response, question: _fill(response, question, store), max_size=max_size)

        super().__init__(answerer)
