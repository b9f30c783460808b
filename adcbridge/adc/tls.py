"""The TLS context for the ADC, kept in step with its files (a rotated Secret).

The CA bundle and the client certificate come from mounted Secrets, which Kubernetes updates
in place; cert-manager renews client certificates every few weeks. A bridge that read them
once would fail its first handshake after the old certificate expires, until someone
restarts it. So ``refresh()`` compares the files' identity (inode, size, mtime — a Secret
update swaps a symlink, so all three change) with what was loaded and, when they differ,
loads them again into the same ``SSLContext``: new connections use the new files, open ones
finish with the old. Loading a CA adds to what is trusted; a CA removed from the bundle stays
trusted until the process restarts. A file that cannot be read or parsed is reported once and
the previous material is kept.
"""

from __future__ import annotations

import logging
import os
import ssl
from pathlib import Path

from adcbridge.config import AdcSettings

log = logging.getLogger(__name__)

Signature = tuple[tuple[int, int, int] | None, ...]


class TlsFiles:
    def __init__(self, settings: AdcSettings) -> None:
        self._settings = settings
        self.context: ssl.SSLContext | bool = _context(settings)
        self._loaded = self._signature()

    def refresh(self) -> bool:
        """Reload the files if they changed since the last load; True if something was reloaded."""
        if not isinstance(self.context, ssl.SSLContext):
            return False
        current = self._signature()
        if current == self._loaded:
            return False
        self._loaded = current  # tried once per change: a broken file is reported once, not per request
        try:
            _load(self.context, self._settings)
        except (OSError, ssl.SSLError) as exc:
            log.warning("the ADC's TLS files changed but cannot be loaded, keeping the previous ones: %s", exc)
            return False
        log.info("reloaded the ADC's TLS files (CA bundle or client certificate changed)")
        return True

    def _signature(self) -> Signature:
        settings = self._settings
        return tuple(_identity(path) for path in (settings.ca_file, settings.client_cert, settings.client_key))


def _context(settings: AdcSettings) -> ssl.SSLContext | bool:
    if not settings.verify_tls:
        log.warning("TLS verification of the ADC is OFF (adc.verify_tls=false): anyone on the path can impersonate it")
        return False
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if settings.client_cert is not None and settings.client_key is not None:
        context.load_cert_chain(str(settings.client_cert), str(settings.client_key))
    return context


def _load(context: ssl.SSLContext, settings: AdcSettings) -> None:
    if settings.ca_file is not None:
        context.load_verify_locations(cafile=str(settings.ca_file))
    if settings.client_cert is not None and settings.client_key is not None:
        context.load_cert_chain(str(settings.client_cert), str(settings.client_key))


def _identity(path: Path | None) -> tuple[int, int, int] | None:
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)
