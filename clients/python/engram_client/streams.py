"""Subscriptions that survive disconnects and server restarts (docs/streaming.md).

A subscription follows one context over a WebSocket. When the connection drops (the server
restarts, closes with a "reconnect" code, the network fails), it reconnects with exponential
backoff and jitter and resumes with ``since`` = the last seq it received, dropping any unit it
already has, so the consumer sees every unit once and in seq order. It resumes in the epoch the
server first named: if the server's history was restored or repaired meanwhile, the server
refuses (``EPOCH_MISMATCH``) and the iterator raises that rather than going on with seqs that
mean something else. It ends with ``CONTEXT_DELETED`` when the context is deleted, and with
``TRIMMED`` when retention removed units it asked for (unless ``on_trimmed="continue"``).
This is the TypeScript SDK's ``subscribe`` (src/client/resume.ts), in Python.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, cast
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatusCode, InvalidURI
from websockets.legacy.client import WebSocketClientProtocol, connect
from websockets.typing import Subprotocol

from .errors import EngramError, error_from_body
from .models import PresenceEvent, WorkUnit

PresenceHandler = Callable[[PresenceEvent], None]


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: ``initial`` doubling up to ``max`` seconds, each scaled by 0.5–1 (jitter)."""

    initial: float = 0.1
    max: float = 5.0

    def delay(self, attempt: int) -> float:
        return min(self.max, self.initial * 2.0 ** min(attempt, 30)) * (0.5 + random.random() / 2)


class _Refused(InvalidStatusCode):
    """A refused upgrade, with its body: websockets' own exception drops it, and the body holds the code."""

    def __init__(self, status_code: int, headers: Any, body: bytes) -> None:
        super().__init__(status_code, headers)
        self.body = body


class _Protocol(WebSocketClientProtocol):
    async def read_http_response(self) -> Tuple[int, Any]:
        status, headers = await super().read_http_response()
        if status != 101:
            body = b""
            try:
                length = int(headers.get("Content-Length", "0"))
                if 0 < length <= 65536:
                    body = await asyncio.wait_for(self.reader.readexactly(length), 5)
            except Exception:  # the body is a courtesy: the status alone still says what to do
                pass
            raise _Refused(status, headers, body)
        return status, headers


@dataclass
class StreamTarget:
    """Where and as whom a subscription connects."""

    ws_base: str
    headers: Dict[str, str]
    open_timeout: float


class AsyncSubscription:
    """The units of one context as an async iterator; see the module's docstring.

    ``async for unit in sub`` yields work units (dicts as the server stores them). Leave the
    loop and call :meth:`aclose` (or use ``async with``) to end it.
    """

    def __init__(
        self,
        target: StreamTarget,
        context_id: str,
        *,
        since: Optional[int] = None,
        epoch: Optional[str] = None,
        agent_id: Optional[str] = None,
        on_presence: Optional[PresenceHandler] = None,
        on_trimmed: str = "end",
        backoff: Backoff = Backoff(),
        buffer: int = 256,
    ) -> None:
        if on_trimmed not in ("end", "continue"):
            raise ValueError("on_trimmed: 'end' or 'continue'")
        self._target = target
        self.context_id = context_id
        self._cursor = since
        self._epoch = epoch
        self._agent_id = agent_id
        self._on_presence = on_presence
        self._on_trimmed = on_trimmed
        self._backoff = backoff
        self._buffer = buffer
        self._queue: Optional["asyncio.Queue[Tuple[str, Any]]"] = None
        self._subscribed: Optional[asyncio.Event] = None
        self._task: Optional["asyncio.Task[None]"] = None
        self._finished = False
        self._last_seq: Optional[int] = None
        self.reconnects = 0
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: starts on first use
        self._start()

    # ---- what the consumer sees ----

    @property
    def epoch(self) -> Optional[str]:
        """The epoch of the stream's seqs, once the server named it (pass it with ``since`` to resume later)."""
        return self._epoch

    @property
    def last_seq(self) -> Optional[int]:
        """The seq of the last unit this iterator yielded."""
        return self._last_seq

    def __aiter__(self) -> "AsyncSubscription":
        return self

    async def __anext__(self) -> WorkUnit:
        return await self.next()

    async def next(self, timeout: Optional[float] = None) -> WorkUnit:
        """The next unit; ``TimeoutError`` if none came within ``timeout`` seconds (the subscription goes on)."""
        queue = self._start()
        if self._finished:
            raise StopAsyncIteration
        getter = asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait({getter}, timeout=timeout)
        if not done:
            getter.cancel()
            try:
                item = await getter  # it may have completed before the cancellation took
            except asyncio.CancelledError:
                raise TimeoutError(f"no unit of {self.context_id!r} within {timeout} s") from None
        else:
            item = getter.result()
        kind, value = item
        if kind == "unit":
            self._last_seq = value["seq"]
            return value  # type: ignore[no-any-return]
        self._finished = True
        if kind == "error":
            raise value
        raise StopAsyncIteration

    async def wait_subscribed(self, timeout: Optional[float] = None) -> None:
        """Returns once the server confirmed the subscription (units written after this are delivered)."""
        self._start()
        assert self._subscribed is not None
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"subscription to {self.context_id!r} not confirmed within {timeout} s") from None

    async def aclose(self) -> None:
        self._finished = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self._queue is not None and not self._queue.full():
            self._queue.put_nowait(("end", None))  # wakes a `next` waiting in another task

    async def __aenter__(self) -> "AsyncSubscription":
        self._start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    # ---- the connection loop ----

    def _start(self) -> "asyncio.Queue[Tuple[str, Any]]":
        if self._queue is None:
            self._queue = asyncio.Queue(self._buffer)
            self._subscribed = asyncio.Event()
            self._task = asyncio.ensure_future(self._pump())
        return self._queue

    async def _pump(self) -> None:
        assert self._queue is not None
        attempt = 0
        try:
            while True:
                err, retry, confirmed = await self._session()
                if not retry:
                    await self._queue.put(("error", err))
                    return
                if confirmed:
                    attempt = 0
                self.reconnects += 1
                await asyncio.sleep(self._backoff.delay(attempt))
                attempt += 1
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug here must end the iterator, not hang it
            await self._queue.put(("error", EngramError("INTERNAL", f"subscription failed: {e!r}")))

    def _url(self) -> str:
        query: list[Tuple[str, str]] = [("context", self.context_id)]
        if self._cursor is not None:
            query.append(("since", str(self._cursor)))
        if self._epoch is not None:
            query.append(("epoch", self._epoch))
        if self._agent_id is not None:
            query.append(("agentId", self._agent_id))
        if self._on_presence is not None:
            query.append(("presence", "1"))
        if self._on_trimmed == "continue":
            query.append(("onTrimmed", "continue"))
        return f"{self._target.ws_base}/stream?{urlencode(query)}"

    async def _session(self) -> Tuple[EngramError, bool, bool]:
        """One connection, until it ends: (why, whether to reconnect, whether it was confirmed)."""
        try:
            ws = await connect(
                self._url(),
                create_protocol=cast(Any, _Protocol),
                subprotocols=[Subprotocol("engram.json")],
                extra_headers=self._target.headers,
                open_timeout=self._target.open_timeout,
                close_timeout=1,
                max_size=None,
                compression=None,
            )
        except _Refused as r:
            err = error_from_body(r.status_code, r.body.decode("utf-8", "replace"), "stream")
            # A bad id or bad credentials stay bad; a busy or starting server may take us later.
            return err, r.status_code >= 500 or r.status_code == 429, False
        except (OSError, asyncio.TimeoutError, InvalidHandshake) as e:
            if isinstance(e, InvalidURI):
                return EngramError("INVALID_QUERY", f"stream URL: {e}"), False, False
            return EngramError("UNAVAILABLE", f"stream: {e!r}"), True, False
        confirmed = False
        try:
            async for message in ws:
                try:
                    frame = json.loads(message)
                except ValueError:
                    continue
                if not isinstance(frame, dict):
                    continue
                outcome = await self._frame(frame)
                if outcome == "subscribed":
                    confirmed = True
                elif isinstance(outcome, tuple):
                    return outcome[0], outcome[1], confirmed
        except ConnectionClosed:
            pass
        finally:
            await ws.close()
        return _closed(ws.close_code, ws.close_reason), not _do_not_retry(ws.close_code), confirmed

    async def _frame(self, frame: Mapping[str, Any]) -> Any:
        assert self._queue is not None and self._subscribed is not None
        event = frame.get("event")
        mine = frame.get("contextId") == self.context_id
        if event == "workunit":
            unit = frame.get("workUnit")
            if not isinstance(unit, dict) or unit.get("contextId") != self.context_id:
                return None
            seq = unit["seq"]
            if self._cursor is not None and seq <= self._cursor:
                return None  # already delivered before a reconnect
            if self._cursor is not None and seq != self._cursor + 1:
                # Never expected (the server is gap-free); resubscribing from the cursor repairs it.
                return EngramError("INTERNAL", f"gap: seq {seq} after {self._cursor}"), True
            self._cursor = seq
            await self._queue.put(("unit", unit))
        elif event == "subscribed" and mine:
            named = frame.get("epoch") or ""
            # A server without epochs names none: then there is nothing to resume in.
            if self._epoch is None and named:
                self._epoch = named
            # Without `since`, "from now on" is fixed at the first head: a reconnect resumes there.
            if self._cursor is None:
                self._cursor = int(frame.get("headSeq") or 0)
            self._subscribed.set()
            return "subscribed"
        elif event == "trimmed" and mine:
            first = int(frame.get("firstSeq") or 1)
            if frame.get("continues") is True:
                # The units before firstSeq are gone: what follows continues from there.
                self._cursor = max(self._cursor or 0, first - 1)
                return None
            message = f"retention trimmed the units asked for; the first seq still stored is {first} (subscribe with on_trimmed='continue' to go on from there)"
            return EngramError("TRIMMED", message, None, {"firstSeq": first}), False
        elif event == "deleted" and mine:
            # Resuming would be in a history that no longer exists (a re-created context is a new epoch).
            return EngramError("CONTEXT_DELETED", "the context was deleted; the subscription is over"), False
        elif event == "presence" and self._on_presence is not None:
            members = frame.get("members")
            if members is None:
                members = [] if frame.get("member") is None else [frame["member"]]
            self._on_presence({"action": frame.get("action"), "contextId": frame.get("contextId", self.context_id), "members": members})  # type: ignore[typeddict-item]
        elif event == "error":
            body = frame.get("error") or {}
            details = body.get("details")
            err = EngramError(str(body.get("code", "INTERNAL")), str(body.get("message", "")), None, details if isinstance(details, dict) else None)
            # The subscription was refused (EPOCH_MISMATCH, `since` beyond the head): only a busy server is worth retrying.
            return err, err.retryable
        return None


def _do_not_retry(code: Optional[int]) -> bool:
    # 4400–4499: "do not retry unchanged" (docs/streaming.md, close codes); everything else resumes.
    return code is not None and 4400 <= code < 4500


def _closed(code: Optional[int], reason: Optional[str]) -> EngramError:
    name = "UNAVAILABLE"
    try:
        parsed = json.loads(reason or "")
        if isinstance(parsed, dict) and isinstance(parsed.get("code"), str):
            name = parsed["code"]
    except ValueError:
        pass
    return EngramError(name, f"stream closed ({code}) {reason or ''}".rstrip(), code)


class Subscription:
    """The blocking twin of :class:`AsyncSubscription`: ``for unit in sub`` (or ``sub.next(timeout)``).

    The connection runs on an event loop in a background thread of its own; each ``next`` waits
    for the next unit, so a slow consumer slows the stream down rather than piling units up.
    ``on_presence`` callbacks run on that thread.
    """

    def __init__(self, make: Callable[[], AsyncSubscription]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="engram-subscription", daemon=True)
        self._thread.start()
        self._closed = False

        async def create() -> AsyncSubscription:
            return make()  # inside the loop, so it connects at once and "from now on" is now

        self._sub: AsyncSubscription = self._call(create())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @property
    def context_id(self) -> str:
        return self._sub.context_id

    @property
    def epoch(self) -> Optional[str]:
        return self._sub.epoch

    @property
    def last_seq(self) -> Optional[int]:
        return self._sub.last_seq

    @property
    def reconnects(self) -> int:
        """How many times the connection was opened again (diagnostics)."""
        return self._sub.reconnects

    def __iter__(self) -> "Subscription":
        return self

    def __next__(self) -> WorkUnit:
        return self.next()

    def next(self, timeout: Optional[float] = None) -> WorkUnit:
        """The next unit; ``TimeoutError`` if none came within ``timeout`` seconds (the subscription goes on).

        Raises ``StopIteration`` once closed, and the ``EngramError`` that ended the subscription.
        """
        if self._closed:
            raise StopIteration
        try:
            return self._call(self._sub.next(timeout))  # type: ignore[no-any-return]
        except StopAsyncIteration:
            self.close()
            raise StopIteration from None
        except EngramError:
            self.close()
            raise

    def wait_subscribed(self, timeout: Optional[float] = None) -> None:
        """Returns once the server confirmed the subscription."""
        self._call(self._sub.wait_subscribed(timeout))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._call(self._sub.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
