"""Hostnames as the ADC's DNS must receive them: normalised, or rejected with a reason.

Hosts come from objects anyone in the cluster can write, so every one is checked here
before it can become a DNS domain: lower-cased, without the trailing dot, IDN converted to
punycode (IDNA 2008 with UTS 46 mapping, via the ``idna`` library), ``*`` only as the
whole first label, RFC 1123 labels of 1-63 characters, at most 253 in all, and at least two
labels (the appliance has no single-label names). Pure functions, no I/O; memoised.
"""

from __future__ import annotations

import functools
import ipaddress
import re

import idna

MAX_NAME = 253
MAX_LABEL = 63
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_MAYBE_IP = re.compile(r"^[\[]?[0-9a-f:.]*[0-9a-f:][\]]?$|^[0-9.]+$")  # digits and dots, or hex and colons


class InvalidHost(ValueError):
    """The reason a host was rejected."""


@functools.lru_cache(maxsize=1 << 16)
def normalize_host(raw: str) -> str:
    """The host in the form the ADC stores, or InvalidHost saying what is wrong.

    Cached: every cycle normalises every host of the cluster again, and the answer for one
    string never changes (a rejection raises, and raising is not cached)."""
    host = raw.strip().lower()
    host = host[:-1] if host.endswith(".") else host
    if not host:
        raise InvalidHost("empty hostname")
    if _is_ip(host):
        raise InvalidHost("an IP address is not a hostname")
    wildcard = host.startswith("*.")
    labels = host.split(".")[1:] if wildcard else host.split(".")
    ascii_labels = [_to_ascii(label) for label in labels]
    for label in ascii_labels:
        _check_label(label)
    name = ".".join((["*"] if wildcard else []) + ascii_labels)
    if len(name) > MAX_NAME:
        raise InvalidHost(f"longer than {MAX_NAME} characters")
    if len(name.split(".")) < 2:
        raise InvalidHost("needs at least two labels (the ADC has no single-label names)")
    return name


def _is_ip(host: str) -> bool:
    if not _MAYBE_IP.match(host):
        return False  # the common case, without the cost of a raised ValueError
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _to_ascii(label: str) -> str:
    if label.isascii():
        return label
    try:
        return idna.encode(label, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidHost(f"label {label!r} is not a valid internationalised name: {exc}") from None


def _check_label(label: str) -> None:
    if not label:
        raise InvalidHost("empty label")
    if "*" in label:
        raise InvalidHost("'*' is allowed only as the whole first label")
    if len(label) > MAX_LABEL:
        raise InvalidHost(f"label longer than {MAX_LABEL} characters")
    if not _LABEL.match(label):
        raise InvalidHost(f"label {label!r} is not letters, digits and inner hyphens (RFC 1123)")
    if label.startswith("xn--"):
        try:
            idna.decode(label)
        except idna.IDNAError as exc:
            raise InvalidHost(f"label {label!r} is not valid punycode: {exc}") from None
