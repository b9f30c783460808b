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
- the timeout applies to connecting and to each read, and the whole exchange up to the answer's
  headers (sending the body included: aiohttp has no write timeout) is bounded by three of it, as
  httpx bounded connecting, writing and reading one each;
- an answer the client cannot even send (a token with a line break in a header) is an
  ``httpx.LocalProtocolError``, as h11 raised it, not aiohttp's ``ValueError``;
- header names go out as the wire wrote them (some appliances' servers match them by case);
- header lines of up to 64 KiB, as h11 accepts (aiohttp's default is 8 KiB);
- the User-Agent is the bridge's (``client.HEADERS``), which appliances log with each request.

What it does not keep: proxies named in the environment (``HTTPS_PROXY``) are not used. The
appliance's management address is reached directly, and aiohttp would look the environment (and
``.netrc``) up in a thread for every request, which doubled its CPU per request.
"""

from __future__ import annotations

import asyncio
import io
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx

MAX_HEADER_LINE = 64 * 1024
LARGE_BODY = 512 * 1024  # below aiohttp's own threshold for that warning (1 MiB)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """``connections`` at most, verified with ``verify`` (an ``SSLContext``, or False for none)."""

    def __init__(self, *, verify: ssl.SSLContext | bool, timeout: float, connections: int) -> None:
        self._verify = verify
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
        self._exchange_limit = 3 * timeout  # connecting, sending and waiting for the answer's headers
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _opened(self) -> aiohttp.ClientSession:
        """The session, made on first use: aiohttp wants a running event loop."""
        if self._closed:
            raise RuntimeError("the ADC's connections are closed")
        if self._session is None:
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
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]
        with _as_httpx_errors():
            async with asyncio.timeout(self._exchange_limit):
                answer = await session.request(
                    request.method,
                    str(request.url),
                    headers=headers,
                    data=_payload(request.content),
                    allow_redirects=False,
                )
        return httpx.Response(answer.status, headers=answer.raw_headers, stream=_Body(answer), request=request)

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None


def _payload(content: bytes) -> bytes | io.BytesIO | None:
    """The body as aiohttp sends it best: none, the bytes, or past ``LARGE_BODY`` a stream (aiohttp
    warns that a large body of bytes may hold the event loop)."""
    if not content:
        return None
    return io.BytesIO(content) if len(content) > LARGE_BODY else content


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
        raise httpx.TimeoutException(f"timed out: {str(exc) or type(exc).__name__}") from exc
    except aiohttp.ClientConnectorCertificateError as exc:  # the ssl error itself as the cause: it says why
        raise httpx.ConnectError(f"TLS handshake with {exc.host}:{exc.port} failed") from exc.certificate_error
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc)) from exc
    except ValueError as exc:  # a header aiohttp will not send (a control character in a token)
        raise httpx.LocalProtocolError(f"not sent: {exc}") from exc
    except aiohttp.ClientResponseError as exc:  # an answer that is not HTTP
        raise httpx.RemoteProtocolError(f"{exc.status}, {exc.message}") from exc
    except (aiohttp.ClientError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise httpx.ReadError(reason or type(exc).__name__) from exc
