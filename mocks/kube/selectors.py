"""Label and field selectors, parsed the way the real API server parses them.

Label selectors: ``k=v``, ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k``, ``!k``;
commas join requirements (AND). Field selectors: ``path=v``, ``path==v``, ``path!=v`` over
the labels a kind declares in ``resources.py``; any other label is a 400 like the real
server's "field label not supported". Malformed input is a 400 rather than "match nothing":
a client bug must not look like an empty cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mocks.kube.errors import bad_request

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQUALITY = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*$")


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _requirement(text: str) -> Predicate:
    if match := _SET.match(text):
        bang, key, operator, values = match.groups()
        if bang:
            raise bad_request(f"unable to parse requirement: {text!r}")
        wanted = {value.strip() for value in values.split(",")}
        if operator == "in":
            return lambda obj: _labels(obj).get(key) in wanted
        return lambda obj: _labels(obj).get(key) not in wanted
    if match := _EQUALITY.match(text):
        key, operator, value = match.groups()
        if operator == "!=":
            return lambda obj: _labels(obj).get(key) != value
        return lambda obj: _labels(obj).get(key) == value
    if match := _EXISTS.match(text):
        bang, key = match.groups()
        if bang:
            return lambda obj: key not in _labels(obj)
        return lambda obj: key in _labels(obj)
    raise bad_request(f"unable to parse requirement: found '{text.strip()}', expected a label selector")


def label_selector(text: str | None) -> Predicate:
    if not text or not text.strip():
        return lambda obj: True
    requirements = [_requirement(part) for part in _split(text)]
    return lambda obj: all(requirement(obj) for requirement in requirements)


def field_value(obj: Obj, path: str) -> str:
    """The selector view of a field: missing is ``""``, booleans are ``true``/``false``."""
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, bool):
        return "true" if node else "false"
    if path == "source" and isinstance(node, dict):  # core Events select on source.component
        return str(node.get("component", ""))
    return "" if node is None else str(node)


def _field_requirement(text: str, allowed: tuple[str, ...]) -> Predicate:
    match = re.match(r"^\s*([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*?)\s*$", text)
    if match is None:
        raise bad_request(f"invalid selector: '{text}'; can't understand '{text}'")
    path, operator, value = match.groups()
    if path not in allowed:
        raise bad_request(f"field label not supported: {path}")
    if operator == "!=":
        return lambda obj: field_value(obj, path) != value
    return lambda obj: field_value(obj, path) == value


def field_selector(text: str | None, allowed: tuple[str, ...]) -> Predicate:
    if not text or not text.strip():
        return lambda obj: True
    requirements = [_field_requirement(part, allowed) for part in text.split(",")]
    return lambda obj: all(requirement(obj) for requirement in requirements)
