"""The units of an HA pair, and the one unit the bridge may write to: for dialects that follow failover.

A standby may accept writes (a BIG-IP does, without an error, and they break config sync), or
answer them with something undocumented (an ACOS vBlade). So the bridge writes only to the unit
whose role the dialect's ``RoleReader`` reads as active, and never to any other. ``adc.url`` names
one unit or each unit of a pair; every unit has a session of its own (one ``AdcClient`` per URL: a
token is good only on the unit that issued it), and ``Units`` sends every call, reads included, to
the unit last read as active.

When the role (the failover status) is read: at start and at every full observe (the reconciler's
resync), before the writes of every cycle that writes (``check``: one GET per unit, concurrently; the
reconciler may have planned on the state it kept since its last read, and a standby may accept
writes silently, so a failover between two resyncs must not be learnt from its side effects), and
after any error (a failover often shows as one: a unit that stops answering, a refused write),
never before each write. Each unit is asked once; only when none of
them answered active are the ones that failed transiently (a 503 burst, a reset) asked again, with
the retries of any call but only for the status read's timeout (``adc.timeout``): a fault on that
read does not cost a cycle, and a unit of a pair that is down costs one at most two timeouts.
Exactly one unit must be active. None (each one standby, unreachable or unreadable) or more than
one (a split pair) fails the call with ``AdcStandby``, which is transient: the reconciler fails
the cycle with that message and retries it, and nothing is written meanwhile. One URL follows the
same rule: a standby unit is never written to. A failover is followed without a restart: the next
read of the status finds the other unit active.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

from adcbridge.adc.client import AdcClient, Wire
from adcbridge.adc.credentials import credential_source
from adcbridge.config import Settings
from adcbridge.errors import AdcError, AdcStandby, AdcUnavailable, TransientAdcError, excerpt
from adcbridge.metrics import Metrics

log = logging.getLogger(__name__)
ACTIVE = "active"
RoleReader = Callable[[AdcClient, float], Awaitable[str]]
"""Reads one unit's role through its session, retrying transient failures for at most the given
seconds (0: one attempt): ``active`` is the only role written to; "?" for an answer it cannot read."""


class Requests(Protocol):
    """What the dialect's steps need of a session: one call. A unit's ``AdcClient`` has it, and so
    has ``Units``, which sends it to the active unit of a pair."""

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any: ...


@contextlib.asynccontextmanager
async def unit_clients(
    settings: Settings, wire: Wire, metrics: Metrics | None, write_gate: Callable[[], bool] | None
) -> AsyncIterator[dict[str, AdcClient]]:
    """One session per unit URL of ``adc.urls`` (URL -> client), all closed when the block ends."""
    adc = settings.adc
    credentials = credential_source(adc.username, adc.password, settings.secrets_dir)
    async with contextlib.AsyncExitStack() as sessions:
        yield {
            url: await sessions.enter_async_context(
                AdcClient(
                    adc,
                    credentials,
                    wire=wire,
                    read_only=settings.dry_run,
                    metrics=metrics,
                    write_gate=write_gate,
                    url=url,
                )
            )
            for url in adc.urls
        }


class Units:
    """Routes calls to the active unit of ``clients`` (URL -> session), reading which one it is
    when it is not known."""

    def __init__(
        self,
        clients: Mapping[str, AdcClient],
        *,
        timeout: float,
        read_role: RoleReader,
        appliance: str,
        metrics: Metrics | None = None,
    ) -> None:
        """``appliance``: what the logs call a unit (``BIG-IP``, ``ACOS``)."""
        self._clients = dict(clients)
        self._read_role = read_role
        self._appliance = appliance
        self._timeout = timeout  # for one unit's status read, its retries included: a dead unit must not stall
        self._metrics = metrics
        self.active = ""  # URL of the unit last read as active; "" while there is none
        self.roles: dict[str, str] = {}  # URL -> what its last status read said
        self._known = False  # False: read the failover status before the next call
        self._lock = asyncio.Lock()

    async def check(self) -> str:
        """Read the role of every unit now; the active unit's URL (``AdcStandby`` when there is none)."""
        self.forget()
        await self._active_client()
        return self.active

    async def confirm(self) -> None:
        """Before a cycle's writes: read the roles, and write nothing to another unit than the one
        the plan was made from (the one last read): ``AdcStandby``, and the next cycle reads it whole."""
        planned_on = self.active  # "" before any read: nothing to compare with
        active = await self.check()
        if planned_on and active != planned_on:
            raise AdcStandby(
                f"the active {self._appliance} unit is now {active}; nothing written before it is read whole"
            )

    def forget(self) -> None:
        """Read the failover status again before the next call (a resync, an error)."""
        self._known = False

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params=params or None)

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        client = await self._active_client()
        try:
            return await client.request(method, path, body, params, headers)
        except AdcError:
            self.forget()
            raise

    async def connect(self, path: str, *, within: float) -> None:
        """Log in to the units and GET ``path`` within ``within`` seconds: done as soon as one unit
        answers (the other of a pair may be down); the first observe then finds the active one."""
        self.forget()
        tasks = [asyncio.create_task(client.connect(path, within=within)) for client in self._clients.values()]
        errors: list[AdcError] = []
        try:
            for attempt in asyncio.as_completed(tasks):
                try:
                    await attempt
                    return
                except AdcError as exc:
                    errors.append(exc)
            raise errors[0]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def described(self) -> tuple[str, str]:
        """(URL, role) of the unit to describe: the active one, else the first unit; reads the status."""
        self.forget()
        async with self._lock:
            await self._refresh()
        url = self.active or next(iter(self._clients))
        return url, self.roles.get(url, "?")

    @property
    def urls(self) -> list[str]:
        return list(self._clients)

    def client_of(self, url: str) -> AdcClient:
        return self._clients[url]

    # ------------------------------------------------------------------ the failover status

    async def _active_client(self) -> AdcClient:
        if not self._known:
            async with self._lock:
                if not self._known:
                    await self._refresh()
        if not self.active:
            raise AdcStandby(f"no active {self._appliance} unit to write to ({self._summary()}); nothing written")
        return self._clients[self.active]

    async def _refresh(self) -> None:
        urls = list(self._clients)
        answers = await asyncio.gather(*(self._status(self._clients[url]) for url in urls))
        if ACTIVE not in answers:
            answers = await asyncio.gather(  # none active: read again, with retries, those that failed transiently
                *(self._status_again(self._clients[url], answer) for url, answer in zip(urls, answers, strict=True))
            )
        errors = [answer for answer in answers if isinstance(answer, AdcError)]
        if len(errors) == len(answers):
            self._settle("", dict.fromkeys(urls, "unreachable"))
            raise errors[0]  # no unit answered: its own error (a refused password stays one)
        roles = {
            url: answer if isinstance(answer, str) else f"unreachable: {excerpt(str(answer))}"
            for url, answer in zip(urls, answers, strict=True)
        }
        active = [url for url, role in roles.items() if role == ACTIVE]
        self._settle(active[0] if len(active) == 1 else "", roles)

    async def _status(self, client: AdcClient) -> str | AdcError:
        """One attempt, no retries: while the other unit of a pair answers active, one that is down
        must not hold up every cycle."""
        try:
            async with asyncio.timeout(self._timeout):
                return await self._read_role(client, 0)
        except TimeoutError:
            return AdcUnavailable(f"the role of a unit: no answer within {self._timeout:g} s")
        except AdcError as exc:
            return exc

    async def _status_again(self, client: AdcClient, answer: str | AdcError) -> str | AdcError:
        """A transient failure of the first read (a 503 burst, a reset) retried as any call is, but
        within the status read's own timeout, not the operation deadline: a unit that is down costs
        a cycle at most two timeouts, and a peer taking over is seen at the next one."""
        if not isinstance(answer, TransientAdcError):
            return answer
        try:
            async with asyncio.timeout(self._timeout):
                return await self._read_role(client, self._timeout)
        except TimeoutError:
            return AdcUnavailable(f"the role of a unit: no answer within {self._timeout:g} s")
        except AdcError as exc:
            return exc

    def _settle(self, active: str, roles: Mapping[str, str]) -> None:
        if active != self.active or (not active and dict(roles) != self.roles):  # logged when it changes
            if active:
                log.info("the active %s unit is %s (%s)", self._appliance, active, self._summary(roles))
            else:
                log.warning("no active %s unit (%s): not writing", self._appliance, self._summary(roles))
        self.roles = dict(roles)
        self.active = active
        self._known = bool(active)  # with none active, read again at the next call
        if self._metrics is not None:
            for url in self._clients:
                self._metrics.adc_active_unit.labels(url).set(1 if url == active else 0)

    def _summary(self, roles: Mapping[str, str] | None = None) -> str:
        return ", ".join(f"{url} {role}" for url, role in (self.roles if roles is None else roles).items())
