"""What every dialect's ``observe`` shares: an item the parser cannot read is left out and logged.

Firmware answers can hold an object the bridge cannot understand (a field of another type, an
address in a form it refuses). Such an item is neither ours to change nor a reason to stop the
observation: it is left out, with one warning naming it. A list that cannot be read at all is
another matter, and fails the observation in the dialect's own code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from adcbridge.model import AdcObject, AdcState

log = logging.getLogger(__name__)


def read_item(parse: Callable[[Mapping[str, Any]], Any], item: Any, *, named_by: str) -> Any:
    """``parse(item)``, or None (and a warning naming the item by its ``named_by`` field)."""
    try:
        if not isinstance(item, Mapping):
            raise ValueError("not an object")
        return parse(item)
    except ValueError as exc:
        name = item.get(named_by) if isinstance(item, Mapping) else None
        log.warning("ignoring an ADC object that cannot be read (%s): %s", str(name)[:80], exc)
        return None


def keep(state: AdcState, parse: Callable[[Mapping[str, Any]], AdcObject], item: Any, *, named_by: str) -> None:
    """Add what ``item`` reads as to ``state``, if it can be read."""
    obj = read_item(parse, item, named_by=named_by)
    if obj is not None:
        state.of_kind(obj.kind)[obj.key] = obj
