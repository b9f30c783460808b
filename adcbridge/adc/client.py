"""One HTTP session with the appliance: login, error translation, retries — for every dialect.

The rules below hold whatever the appliance; what differs between appliances (where the API
lives, how to log in and out, which header carries the session, what an answer means) is the
dialect's ``Wire``. This, ``transport`` and the wires are the only modules that import httpx; only this one
imports tenacity. What it guarantees:

- **One session, reused.** The client logs in once and keeps the token; a 401 (expired,
  unknown) triggers one re-login under a lock, so a burst of concurrent requests that all
  see the expiry opens one new session, not one each (appliances cap sessions). A session
  whose set-up (the wire's ``opened``) fails is logged out at once, not left open.
- **The account is never locked by us.** A login refused for bad credentials is remembered
  by a fingerprint of the credentials and never tried again until they change (a rotated
  Secret): a loop cannot burn through the appliance's lockout threshold. Since the refusal is
  then not seen again, a gauge holds it: 1 from the refusal to the next successful login.
- **Errors are ours.** Transport failures and HTTP 408/429/5xx become ``AdcUnavailable`` here;
  the wire turns every other answer into data or into the tree in ``adcbridge.errors``; messages
  quote bodies truncated and never carry the password or the token.
- **Retries only where they can help.** tenacity retries transient errors with exponential
  backoff and jitter, never sooner than the appliance's Retry-After, within a total
  deadline per call.
- **A first contact can be bounded.** ``connect`` logs in and reads once within a given time,
  however long each attempt or the per-call deadline would take, and names the last error
  when the time runs out: a one-shot command on a dead ADC fails in seconds, not minutes.
- **Dry run is enforced here, once.** A read-only client refuses every write before it
  reaches the network, whoever asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import ssl
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, cast
from urllib.parse import quote

import httpx
import tenacity

from adcbridge import __version__
from adcbridge.adc.tls import TlsFiles
from adcbridge.adc.transport import AiohttpTransport
from adcbridge.config import AdcSettings
from adcbridge.errors import (
    AdcAuthError,
    AdcError,
    AdcProtocolError,
    AdcRejected,
    AdcUnavailable,
    TransientAdcError,
    excerpt,
)
from adcbridge.metrics import Metrics

log = logging.getLogger(__name__)
TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
# Far above a page of 500 objects (a pool page with a 1,000-node cluster's members is about 1 MB),
# far below the container's memory limit once parsed.
MAX_BODY = 16 * 1024 * 1024
# Appliances log the User-Agent with each request. Accept-Encoding is what httpx decodes without
# optional packages (aiohttp would offer zstd when a zstd module is importable).
HEADERS = {"User-Agent": f"adcbridge/{__version__}", "Accept-Encoding": "gzip, deflate"}


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.username}\0{self.password}".encode()).hexdigest()

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<hidden>)"


CredentialSource = Callable[[], Credentials]


class SessionEnded(AdcAuthError):
    """The appliance no longer knows the session (expired, unknown, logged out): log in again."""


@dataclass(frozen=True)
class Call:
    """One HTTP request, as a wire describes it: ``path`` is relative to the wire's base path."""

    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Wire(Protocol):
    """An appliance API at the HTTP level: the part of a dialect the session needs."""

    base_path: str  # e.g. "/adc/v3.0"

    def login(self, credentials: Credentials) -> Call:
        """The request that opens a session."""

    def token_of(self, data: Any) -> str:
        """The session token in the login answer's data ("" when there is none)."""

    def authenticated(self, token: str) -> dict[str, str]:
        """The headers that carry the session."""

    def logout(self, token: str) -> Call | None:
        """The request that closes the session, if the appliance has one."""

    def opened(self) -> tuple[Call, ...]:
        """Requests that set a new session up, sent with it right after every login (an ACOS
        session starts in the ``shared`` partition: it activates the bridge's); none for most."""

    def unwrap(self, response: httpx.Response, content: bytes, where: str, *, login: bool) -> Any:
        """The data of a non-transient answer, or the error it means (``SessionEnded`` to log in again)."""

    def bad_credentials(self, error: AdcError) -> bool:
        """Does this login error say the username or password is wrong (never retry them)?"""


class ReadOnlyViolation(AdcError):
    """A write attempted through a read-only (dry-run) client, or by a replica that is not
    (or no longer) the leader: never sent."""


def item_path(kind_path: str, name: str) -> str:
    return f"{kind_path}/{quote(name, safe='')}"


class AdcClient:
    """Calls to one appliance, spoken through ``wire``, with the session and retry rules above."""

    def __init__(
        self,
        settings: AdcSettings,
        credentials: CredentialSource,
        *,
        wire: Wire,
        read_only: bool = False,
        metrics: Metrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        write_gate: Callable[[], bool] | None = None,
        url: str | None = None,
    ) -> None:
        """``url``: the unit to call, one of ``settings.urls`` (the first by default)."""
        self._settings = settings
        self._credentials = credentials
        self._wire = wire
        self.read_only = read_only
        self._write_gate = write_gate  # False while this replica is not the leader
        self._metrics = metrics
        self._tls = TlsFiles(settings)
        self._base = (url or settings.urls[0]) + wire.base_path + "/"
        # The requests go straight to the transport: httpx's client layer (redirects, cookies, auth
        # flows: none of which an appliance session uses) cost a fifth of the CPU of a request.
        self._transport = transport or AiohttpTransport(
            verify=self._tls.context, timeout=settings.timeout, connections=settings.concurrency + 2
        )
        self._token = ""
        self._login_lock = asyncio.Lock()
        self._refused: str | None = None  # fingerprint of credentials the appliance refused
        self._shown_refused = False  # counted in the adcbridge_adc_credentials_refused gauge

    async def __aenter__(self) -> AdcClient:
        return self

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Log out (best effort: a session left behind expires) and close the connections."""
        logout = self._wire.logout(self._token) if self._token else None
        if logout is not None:
            try:
                await self._send(logout, None)
            except AdcError as exc:
                log.debug("logout failed: %s", exc)
        self._token = ""
        self._show_refused(False)  # a closed session refuses nothing
        await self._transport.aclose()

    # ------------------------------------------------------------------ public calls

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params=params or None)

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        deadline: float | None = None,
    ) -> Any:
        """One logical call with retries of transient failures for ``deadline`` seconds in all
        (``adc.operation_deadline`` by default; 0: one attempt); returns what the wire unwraps.
        ``headers`` go with it (a dialect's own, e.g. the transaction a write is queued in)."""
        self._refuse_unless_writable(method, path)
        call = Call(method, path, body, dict(headers or {}))
        return await self._retrying(lambda: self._authenticated(call, params), deadline=deadline)

    async def login(self) -> None:
        """Open a session now (``adcbridge check``); normally it happens on first use."""
        await self._retrying(lambda: self._relogin(self._token))

    async def connect(self, path: str, *, within: float, params: dict[str, Any] | None = None) -> None:
        """Log in and GET ``path``, retrying transient failures for at most ``within`` seconds in all.

        When the time runs out (an attempt still hanging included): ``AdcUnavailable`` naming the
        last error. A permanent error (wrong password, not an ADC) is raised at once, as ever."""
        failures: list[BaseException] = []

        def remember(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            if error is not None:
                failures.append(error)
            _log_retry(state)

        attempt = functools.partial(self._authenticated, Call("GET", path), params)
        try:
            async with asyncio.timeout(within):
                await self._retrying(attempt, deadline=within, before_sleep=remember)
        except (TimeoutError, TransientAdcError) as exc:
            last = exc if isinstance(exc, TransientAdcError) else (failures[-1] if failures else "no answer yet")
            raise AdcUnavailable(f"no login and list within {within:g} s; last error: {last}") from None

    async def _retrying(
        self,
        call: Callable[[], Awaitable[Any]],
        *,
        deadline: float | None = None,
        before_sleep: Callable[[tenacity.RetryCallState], None] | None = None,
    ) -> Any:
        retrying = tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception_type(TransientAdcError),
            wait=_wait_with_retry_after,
            stop=tenacity.stop_after_delay(self._settings.operation_deadline if deadline is None else deadline),
            reraise=True,
            before_sleep=before_sleep or _log_retry,
        )
        async for attempt in retrying:
            with attempt:
                return await call()

    # ------------------------------------------------------------------ session

    def _refuse_unless_writable(self, method: str, path: str) -> None:
        if method == "GET":
            return
        if self.read_only:
            raise ReadOnlyViolation(f"dry run: refused {method} {path}")
        if self._write_gate is not None and not self._write_gate():
            raise ReadOnlyViolation(f"not the leader: refused {method} {path}")

    async def _authenticated(self, call: Call, params: dict[str, Any] | None) -> Any:
        # Checked again before every attempt: retries may outlive the leadership they started under.
        self._refuse_unless_writable(call.method, call.path)
        if not self._token:
            await self._relogin("")
        token = self._token
        try:
            try:
                return await self._send(self._with_session(call), params)
            except SessionEnded:
                await self._relogin(token)
                return await self._send(self._with_session(call), params)
        except AdcError as exc:
            # A page that echoes the request (a proxy's 401, tests/test_hostile_adc.py) carries the
            # session token: a token is a password for its lifetime, so it leaves the message.
            _hide(exc, token)
            _hide(exc, self._token)
            raise

    def _with_session(self, call: Call) -> Call:
        return Call(call.method, call.path, call.body, {**call.headers, **self._wire.authenticated(self._token)})

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
            try:
                data = await self._send(self._wire.login(credentials), None, login=True)
            except AdcError as exc:
                # An error page may echo the request it refused, password included
                # (tests/test_hostile_adc.py): the message must not carry it on into logs and Events.
                _hide(exc, credentials.password)
                if not isinstance(exc, AdcAuthError) or not self._wire.bad_credentials(exc):
                    raise
                self._refused = credentials.fingerprint()
                self._show_refused(True)
                raise AdcAuthError(
                    f"login refused: wrong username or password for {credentials.username!r}; "
                    "not retried until the credentials change",
                    code=exc.code,
                ) from None
            token = self._wire.token_of(data)
            if not token:
                raise AdcProtocolError("login answer carries no token")
            await self._set_up(token)
            self._refused = None
            self._show_refused(False)
            self._token = token
            log.info("logged in to the ADC as %s", credentials.username)

    async def _set_up(self, token: str) -> None:
        """The wire's set-up calls in the new session; a session they fail in is closed, not kept."""
        try:
            for call in self._wire.opened():
                await self._send(Call(call.method, call.path, call.body, self._wire.authenticated(token)), None)
        except AdcError:
            logout = self._wire.logout(token)
            if logout is not None:
                with contextlib.suppress(AdcError):
                    await self._send(logout, None)
            raise

    # ------------------------------------------------------------------ one HTTP exchange

    async def _send(self, call: Call, params: dict[str, Any] | None, *, login: bool = False) -> Any:
        method, path = call.method, call.path
        self._tls.refresh()  # a rotated CA bundle or client certificate, for the connections opened next
        started = time.perf_counter()
        outcome = "error"
        try:
            request = httpx.Request(
                method,
                _parsed_url(self._base, path),
                params=params,
                json=call.body,
                headers={**HEADERS, **call.headers},
            )
            response = await self._transport.handle_async_request(request)
            try:
                content = await _read_capped(response, f"{method} {path}")
            finally:
                await response.aclose()
            where = f"{method} {path}"
            if response.status_code in TRANSIENT_STATUS:
                raise AdcUnavailable(
                    f"{where}: HTTP {response.status_code}",
                    code=response.status_code,
                    retry_after=_retry_after(response.headers.get("retry-after")),
                )
            data = self._wire.unwrap(response, content, where, login=login)
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

    def _show_refused(self, refused: bool) -> None:
        """This unit in or out of the gauge, which counts the units (clients) refusing now."""
        if self._metrics is None or refused == self._shown_refused:
            return
        self._shown_refused = refused
        self._metrics.adc_credentials_refused.inc(1 if refused else -1)

    def _count(self, method: str, outcome: str, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.adc_requests.labels(method, outcome).inc()
            self._metrics.adc_request_seconds.labels(method).observe(seconds)


@functools.lru_cache(maxsize=256)
def _parsed_url(base: str, path: str) -> httpx.URL:
    """``base`` + ``path``, parsed once: parsing is a tenth of httpx's CPU per request, and a cold
    sync POSTs to a few collection paths (an object's own path is called once or twice)."""
    return httpx.URL(base + path)


def _hide(error: AdcError, secret: str) -> None:
    """``secret`` out of the error's message."""
    if secret and secret in str(error):
        error.args = (str(error).replace(secret, "<hidden>"),)


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
