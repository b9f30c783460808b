"""The ADC's HTTP connections, made by aiohttp under httpx's request and response types.

A cold sync of 10,000 hosts is 11,500 requests, and the bridge's CPU per request was what bound
it: httpx's own connection stack (httpcore over anyio) cost about 0.8 ms of CPU per small request
on the standard machine, aiohttp's about 0.1 ms for the same exchange (``benchmarks/README.md``).
So the connections are aiohttp's, while the session rules (``client.AdcClient``), the wires and
the tests keep speaking httpx's ``Request`` and ``Response``: this module is the seam between
the two, and a test can still hand ``AdcClient`` any httpx transport instead.

What it keeps of httpx's behaviour:

- a failure below HTTP is an ``httpx.TransportError`` (a timeout an ``httpx.TimeoutException``)
  whose cause is aiohttp's error, so ``client._transport_failure`` still finds a certificate
  that does not verify in the chain;
- bodies arrive as they were sent (aiohttp does not decompress): ``httpx.Response`` decodes
  them, and the client caps their size while reading;
- the timeout applies to connecting and to each read;
- header lines of up to 64 KiB, as h11 accepts (aiohttp's default is 8 KiB);
- the User-Agent is the bridge's (``client.HEADERS``), which appliances log with each request.

What it does not keep: proxies named in the environment (``HTTPS_PROXY``) are not used. The
appliance's management address is reached directly, and aiohttp would look the environment (and
``.netrc``) up in a thread for every request, which doubled its CPU per request.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx

MAX_HEADER_LINE = 64 * 1024


class AiohttpTransport(httpx.AsyncBaseTransport):
    """``connections`` at most, verified with ``verify`` (an ``SSLContext``, or False for none)."""

    def __init__(self, *, verify: ssl.SSLContext | bool, timeout: float, connections: int) -> None:
        self._verify = verify
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _opened(self) -> aiohttp.ClientSession:
        """The session, made on first use: aiohttp wants a running event loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, ssl=self._verify),
                timeout=self._timeout,
                auto_decompress=False,
                trust_env=False,
                skip_auto_headers=("User-Agent",),
                max_line_size=MAX_HEADER_LINE,
                max_field_size=MAX_HEADER_LINE,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._opened()
        with _as_httpx_errors():
            answer = await session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=request.content or None,
                allow_redirects=False,
            )
        return httpx.Response(answer.status, headers=answer.raw_headers, stream=_Body(answer), request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Body(httpx.AsyncByteStream):
    """An answer's body as aiohttp receives it; closing it before the end drops the connection."""

    def __init__(self, answer: aiohttp.ClientResponse) -> None:
        self._answer = answer

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for chunk in self._answer.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._answer.release()


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """aiohttp's failures as the httpx errors the client handles, aiohttp's error as the cause."""
    try:
        yield
    except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
        raise httpx.TimeoutException(f"timed out: {exc or type(exc).__name__}") from exc
    except aiohttp.ClientConnectorCertificateError as exc:  # the ssl error itself as the cause: it says why
        raise httpx.ConnectError(f"TLS handshake with {exc.host}:{exc.port} failed") from exc.certificate_error
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc)) from exc
    except aiohttp.ClientResponseError as exc:  # an answer that is not HTTP
        raise httpx.RemoteProtocolError(f"{exc.status}, {exc.message}") from exc
    except (aiohttp.ClientError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise httpx.ReadError(reason or type(exc).__name__) from exc
