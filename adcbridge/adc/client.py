"""One HTTP session with the appliance: login, envelope, error translation, retries.

This is the only module that imports httpx and tenacity. What it guarantees:

- **One session, reused.** The client logs in once and keeps the token; a 401 (expired,
  unknown) triggers one re-login under a lock, so a burst of concurrent requests that all
  see the expiry opens one new session, not one each (appliances cap sessions).
- **The account is never locked by us.** A login refused for bad credentials is remembered
  by a fingerprint of the credentials and never tried again until they change (a rotated
  Secret): a loop cannot burn through the appliance's lockout threshold.
- **Errors are ours.** Transport failures, HTTP 429/5xx, envelopes with ``failure``, and
  answers that are not the envelope become the tree in ``adcbridge.errors``; messages quote
  bodies truncated and never carry the password or the token.
- **Retries only where they can help.** tenacity retries transient errors with exponential
  backoff and jitter, never sooner than the appliance's Retry-After, within a total
  deadline per call.
- **Dry run is enforced here, once.** A read-only client refuses every write before it
  reaches the network, whoever asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import ssl
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast
from urllib.parse import quote

import httpx
import tenacity

from adcbridge.adc.tls import TlsFiles
from adcbridge.config import AdcSettings
from adcbridge.errors import (
    BODY_EXCERPT,
    AdcAuthError,
    AdcBusy,
    AdcError,
    AdcProtocolError,
    AdcRejected,
    AdcSessionLimit,
    AdcStandby,
    AdcUnavailable,
    TransientAdcError,
    excerpt,
)
from adcbridge.metrics import Metrics

log = logging.getLogger(__name__)
API = "/adc/v3.0"
TOKEN_HEADER = "x-access-token"
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
BAD_CREDENTIALS = 4013
# Far above a page of 500 objects (a pool page with a 1,000-node cluster's members is about 1 MB),
# far below the container's memory limit once parsed.
MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.username}\0{self.password}".encode()).hexdigest()

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<hidden>)"


CredentialSource = Callable[[], Credentials]


class ReadOnlyViolation(AdcError):
    """A write attempted through a read-only (dry-run) client, or by a replica that is not
    (or no longer) the leader: never sent."""


def item_path(kind_path: str, name: str) -> str:
    return f"{kind_path}/{quote(name, safe='')}"


class AdcClient:
    """Calls to ``/adc/v3.0`` with the session, envelope and retry rules above."""

    def __init__(
        self,
        settings: AdcSettings,
        credentials: CredentialSource,
        *,
        read_only: bool = False,
        metrics: Metrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        write_gate: Callable[[], bool] | None = None,
    ) -> None:
        self._settings = settings
        self._credentials = credentials
        self.read_only = read_only
        self._write_gate = write_gate  # False while this replica is not the leader
        self._metrics = metrics
        self._tls = TlsFiles(settings)
        self._http = httpx.AsyncClient(
            base_url=settings.url + API,
            timeout=settings.timeout,
            verify=self._tls.context,
            transport=transport,
            limits=httpx.Limits(max_connections=settings.concurrency + 2),
        )
        self._token = ""
        self._login_lock = asyncio.Lock()
        self._refused: str | None = None  # fingerprint of credentials the appliance refused

    async def __aenter__(self) -> AdcClient:
        return self

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Log out (best effort: a session left behind expires) and close the connections."""
        if self._token:
            try:
                await self._send("POST", "logout", None, None)
            except AdcError as exc:
                log.debug("logout failed: %s", exc)
            self._token = ""
        await self._http.aclose()

    # ------------------------------------------------------------------ public calls

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params=params or None)

    async def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """One logical call with retries of transient failures; returns the envelope's ``data``."""
        self._refuse_unless_writable(method, path)
        return await self._retrying(lambda: self._authenticated(method, path, body, params))

    async def login(self) -> None:
        """Open a session now (``adcbridge check``); normally it happens on first use."""
        await self._retrying(lambda: self._relogin(self._token))

    async def _retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        retrying = tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception_type(TransientAdcError),
            wait=_wait_with_retry_after,
            stop=tenacity.stop_after_delay(self._settings.operation_deadline),
            reraise=True,
            before_sleep=_log_retry,
        )
        async for attempt in retrying:
            with attempt:
                return await call()

    async def system_info(self) -> Any:
        return await self.get("system/info")

    # ------------------------------------------------------------------ session

    def _refuse_unless_writable(self, method: str, path: str) -> None:
        if method == "GET":
            return
        if self.read_only:
            raise ReadOnlyViolation(f"dry run: refused {method} {path}")
        if self._write_gate is not None and not self._write_gate():
            raise ReadOnlyViolation(f"not the leader: refused {method} {path}")

    async def _authenticated(self, method: str, path: str, body: Any, params: dict[str, Any] | None) -> Any:
        # Checked again before every attempt: retries may outlive the leadership they started under.
        self._refuse_unless_writable(method, path)
        if not self._token:
            await self._relogin("")
        token = self._token
        try:
            return await self._send(method, path, body, params)
        except _SessionEnded:
            await self._relogin(token)
            return await self._send(method, path, body, params)

    async def _relogin(self, stale: str) -> None:
        async with self._login_lock:
            if self._token and self._token != stale:
                return  # someone else already logged in again while we waited
            self._token = ""
            credentials = self._credentials()
            if self._refused == credentials.fingerprint():
                raise AdcAuthError(
                    "the ADC refused these credentials before; not trying again until they change "
                    "(this protects the account from lockout)"
                )
            body = {"username": credentials.username, "password": credentials.password}
            try:
                data = await self._send("POST", "login", body, None)
            except AdcError as exc:
                # An error page may echo the request it refused, password included
                # (tests/test_hostile_adc.py): the message must not carry it on into logs and Events.
                if credentials.password and credentials.password in str(exc):
                    exc.args = (str(exc).replace(credentials.password, "<hidden>"),)
                if not isinstance(exc, AdcAuthError) or exc.code != BAD_CREDENTIALS:
                    raise
                self._refused = credentials.fingerprint()
                raise AdcAuthError(
                    f"login refused: wrong username or password for {credentials.username!r}; "
                    "not retried until the credentials change",
                    code=exc.code,
                ) from None
            token = data.get("token") if isinstance(data, dict) else None
            if not isinstance(token, str) or not token:
                raise AdcProtocolError("login answer carries no token")
            self._refused = None
            self._token = token
            log.info("logged in to the ADC as %s", credentials.username)

    # ------------------------------------------------------------------ one HTTP exchange

    async def _send(self, method: str, path: str, body: Any, params: dict[str, Any] | None) -> Any:
        headers = {} if path == "login" else {TOKEN_HEADER: self._token}
        self._tls.refresh()  # a rotated CA bundle or client certificate, for the connections opened next
        started = time.perf_counter()
        outcome = "error"
        try:
            request = self._http.build_request(method, f"/{path}", json=body, params=params, headers=headers)
            response = await self._http.send(request, stream=True)
            try:
                content = await _read_capped(response, f"{method} {path}")
            finally:
                await response.aclose()
            data = _unwrap(response, content, path)
            outcome = "ok"
            return data
        except AdcRejected:
            outcome = "rejected"
            raise
        except httpx.HTTPError as exc:
            outcome = "unreachable"
            raise AdcUnavailable(f"{method} {path}: {_transport_failure(exc)}") from exc
        except AdcError as exc:
            outcome = type(exc).__name__
            raise
        finally:
            self._count(method, outcome, time.perf_counter() - started)

    def _count(self, method: str, outcome: str, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.adc_requests.labels(method, outcome).inc()
            self._metrics.adc_request_seconds.labels(method).observe(seconds)


class _SessionEnded(AdcAuthError):
    """401 for a missing, expired or unknown token: log in again."""


async def _read_capped(response: httpx.Response, where: str) -> bytes:
    """The (decoded) body, refused beyond ``MAX_BODY``: httpx reads any size into memory, and a
    50 MB answer from a broken appliance or proxy costs about 600 MB once parsed, past the
    container's memory limit (tests/test_hostile_adc.py)."""
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
        raise AdcProtocolError(f"{where}: HTTP {response.status_code}, an answer of {declared} bytes; not read")
    chunks: list[bytes] = []
    size = 0
    stream = cast(AsyncGenerator[bytes, None], response.aiter_bytes())  # an async generator, typed as an iterator
    async with contextlib.aclosing(stream) as body:  # closed now, not by the garbage collector
        async for chunk in body:
            size += len(chunk)
            if size > MAX_BODY:
                raise AdcProtocolError(
                    f"{where}: HTTP {response.status_code}, an answer over {MAX_BODY} bytes; not read"
                )
            chunks.append(chunk)
    return b"".join(chunks)


def _transport_failure(exc: httpx.HTTPError) -> str:
    """What went wrong below HTTP; a certificate that does not verify says so and what to do."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = cause.verify_message or cause.reason or "verification failed"
        return (
            f"the ADC's TLS certificate could not be verified ({excerpt(str(reason))}); "
            "set adc.ca_file to the CA bundle that signs it"
        )
    return f"{type(exc).__name__}: {excerpt(str(exc))}"


def _unwrap(response: httpx.Response, content: bytes, path: str) -> Any:
    """The envelope's ``data``, or the error its status and code mean."""
    where = f"{response.request.method} {path}"
    if response.status_code in TRANSIENT_STATUS:
        raise AdcUnavailable(
            f"{where}: HTTP {response.status_code}",
            code=response.status_code,
            retry_after=_retry_after(response.headers.get("retry-after")),
        )
    try:
        envelope = json.loads(content)
        res = envelope["res"]
        status, code, message = res["status"], res["code"], str(res.get("msg", ""))
    except (ValueError, KeyError, TypeError, RecursionError):
        text = content[: BODY_EXCERPT * 4].decode(response.encoding or "utf-8", errors="replace")
        raise AdcProtocolError(f"{where}: HTTP {response.status_code}, not an ADC answer: {excerpt(text)}") from None
    if status == "success" and type(code) is int and code == 0:  # not 0.0, not false: those are no ADC answers
        if not response.is_success:
            raise AdcProtocolError(f"{where}: HTTP {response.status_code} with a success envelope: not an ADC answer")
        return envelope.get("data")
    data = envelope.get("data")
    field = data.get("field") if isinstance(data, dict) else None
    shown = code if isinstance(code, int) else excerpt(repr(code))[:40]  # a hostile "code" can be anything, any size
    raise _failure(code, f"{where}: {shown} {excerpt(message)}", field if isinstance(field, str) else None)


# Codes with a meaning of their own; other 4xxx are authentication, 5xxx the appliance failing.
SPECIAL_CODES: dict[int, type[AdcError]] = {4011: _SessionEnded, 4012: _SessionEnded, 4014: _SessionEnded}
SPECIAL_CODES |= {3001: AdcStandby, 3002: AdcBusy, 4032: AdcSessionLimit}


def _failure(code: Any, message: str, field: str | None) -> AdcError:
    if not isinstance(code, int) or isinstance(code, bool):
        return AdcProtocolError(message)
    if code in SPECIAL_CODES:
        return SPECIAL_CODES[code](message, code=code)
    if 4000 <= code < 5000:
        return AdcAuthError(message, code=code)
    if code >= 5000:
        return AdcUnavailable(message, code=code)
    return AdcRejected(message, code=code, field=field)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from appliances; exponential backoff applies


_exponential = tenacity.wait_exponential(multiplier=0.2, max=10.0) + tenacity.wait_random(0, 0.5)


def _wait_with_retry_after(state: tenacity.RetryCallState) -> float:
    """Exponential backoff with jitter, but never sooner than the appliance asked."""
    wait = _exponential(state)
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    hint = getattr(error, "retry_after", None)
    return max(wait, hint) if isinstance(hint, float) else wait


def _log_retry(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    log.info("retrying after transient ADC error (attempt %d): %s", state.attempt_number, error)
