"""The unit's DNS listener (BIG-IP DNS): wide IPs answered with the addresses of their
pools' virtual servers.

``A`` and ``AAAA`` questions are answered from the enabled wide IPs of that record type
(``gtm.answers``), with the pool's TTL and AA set; ``ANY`` gets both. A name that has a
wide IP of another type only, or whose pools have no available member, answers NOERROR
with no records; any other name NXDOMAIN. There are no zones, SOA or NS records, and no
load balancing: the same members answer every time, in member order.
"""

from __future__ import annotations

from collections.abc import Callable

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from mocks.bigip.gtm import RECORD_TYPES, answers
from mocks.bigip.store import Store
from mocks.dns_service import DnsListener, answer

TYPES = {"a": dns.rdatatype.A, "aaaa": dns.rdatatype.AAAA}


def fill(response: dns.message.Message, question: dns.rrset.RRset, store: Store) -> None:
    name = question.name.to_text(omit_final_dot=True).lower()
    found = {rtype: answers(store, name, rtype) for rtype in RECORD_TYPES}
    if all(result is None for result in found.values()):
        response.set_rcode(dns.rcode.NXDOMAIN)
        return
    for rtype, result in found.items():
        if result is None or not result.addresses or question.rdtype not in (TYPES[rtype], dns.rdatatype.ANY):
            continue
        rdtype = TYPES[rtype]
        response.answer.append(dns.rrset.from_text_list(question.name, result.ttl, "IN", rdtype, result.addresses))


class WideIpResponder(DnsListener):
    """UDP and TCP on one port; ``store_of`` is read per query (a reset swaps the store)."""

    def __init__(self, store_of: Callable[[], Store]) -> None:
        def answerer(query: bytes, max_size: int | None) -> bytes | None:
            store = store_of()
            return answer(query, lambda response, question: fill(response, question, store), max_size=max_size)

        super().__init__(answerer)
