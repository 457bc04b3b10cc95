"""``with engram.lock(resource) as lock:``: take a lock, renew it while the block runs, release it after.

The lease is renewed every third of its length, so a long task keeps it. If a renewal is refused
(the lease ran out, say after a long pause) the lock is *lost*: ``lock.lost`` turns true and
the block should stop writing, because its fencing token is no longer good: the server refuses
a write fenced with it (``FENCE_REJECTED``). Writes made through ``lock.write`` carry the token.
The lock is released when the block ends, whether it returned or raised. This is the
TypeScript SDK's ``withLock`` (src/client/locking.ts), in Python.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, Any, Optional

from .errors import EngramError
from .models import Fence, Lock, WriteResult

if TYPE_CHECKING:
    from .aio import AsyncEngram
    from .client import Engram

# A transient renewal failure is retried this soon, while the lease lasts.
_RETRY_SOON = 0.1


class _Held:
    def __init__(self, info: Lock) -> None:
        self.info: Lock = info
        self.error: Optional[EngramError] = None
        # The lease as the renewer counts it; None until the renewer starts.
        self._lease: Optional["_Lease"] = None

    @property
    def resource(self) -> str:
        return self.info["resource"]

    @property
    def agent_id(self) -> str:
        return self.info["agentId"]

    @property
    def lock_id(self) -> str:
        return self.info["lockId"]

    @property
    def token(self) -> int:
        """The fencing token: strictly greater for every new holder; kept by renewals."""
        return self.info["token"]

    @property
    def expires_at(self) -> str:
        """When the lease runs out unless renewed (server time, RFC 3339), as of the last renewal."""
        return self.info["expiresAt"]

    @property
    def fence(self) -> Fence:
        """The precondition to put on a write: stored only while this token is the holder's."""
        return {"resource": self.resource, "token": self.token}

    @property
    def lost(self) -> bool:
        """True once a renewal was refused, or the lease ran out unrenewed: stop writing, the token is no longer good."""
        return self.error is not None or (self._lease is not None and time.monotonic() > self._lease.expires)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.resource!r} agent={self.agent_id!r} token={self.token} lost={self.lost}>"


class HeldLock(_Held):
    """A lock held inside ``with engram.lock(...)``."""

    def __init__(self, client: "Engram", info: Lock) -> None:
        super().__init__(info)
        self._client = client

    def write(self, context_id: str, payload: Any, **options: Any) -> WriteResult:
        """``engram.write`` fenced with this lock's token (and, unless given, as its agent)."""
        options.setdefault("agent_id", self.agent_id)
        return self._client.write(context_id, payload, fence=self.fence, **options)


class AsyncHeldLock(_Held):
    """A lock held inside ``async with engram.lock(...)``."""

    def __init__(self, client: "AsyncEngram", info: Lock) -> None:
        super().__init__(info)
        self._client = client

    async def write(self, context_id: str, payload: Any, **options: Any) -> WriteResult:
        """``engram.write`` fenced with this lock's token (and, unless given, as its agent)."""
        options.setdefault("agent_id", self.agent_id)
        return await self._client.write(context_id, payload, fence=self.fence, **options)


class _Lease:
    """When to renew, from the lease the server granted (monotonic clock, never the wall clock)."""

    def __init__(self, info: Lock, granted: float) -> None:
        self.interval = max(0.05, info["ttlMs"] / 3000)
        # Counted from when the request was sent, not answered: never later than the server's.
        self.expires = granted + info["ttlMs"] / 1000

    def renewed(self, info: Lock, sent: float) -> None:
        self.expires = sent + info["ttlMs"] / 1000

    def retry_delay(self, err: EngramError) -> Optional[float]:
        """How soon to try again after a failed renewal, or None when the lock is gone."""
        if err.retryable and time.monotonic() + _RETRY_SOON < self.expires:
            return min(self.interval, _RETRY_SOON)
        return None


class LockContext:
    """``with engram.lock(resource, ttl=...) as lock:`` (returned by :meth:`Engram.lock`)."""

    def __init__(self, client: "Engram", resource: str, agent_id: Optional[str], ttl: Optional[float], wait: Optional[float], context_id: Optional[str]) -> None:
        self._client = client
        self._resource = resource
        self._agent_id = agent_id
        self._ttl = ttl
        self._wait = wait
        self._context_id = context_id
        self._held: Optional[HeldLock] = None
        self._stop = threading.Event()
        self._renewer: Optional[threading.Thread] = None
        self._granted = 0.0

    def __enter__(self) -> HeldLock:
        self._granted = time.monotonic()
        info = self._client.acquire(self._resource, agent_id=self._agent_id, ttl=self._ttl, wait=self._wait, context_id=self._context_id)
        self._held = HeldLock(self._client, info)
        self._renewer = threading.Thread(target=self._renew, args=(self._held,), name=f"engram-lock-{self._resource}", daemon=True)
        self._renewer.start()
        return self._held

    def _renew(self, held: HeldLock) -> None:
        lease = held._lease = _Lease(held.info, self._granted)
        delay = lease.interval
        while not self._stop.wait(delay):
            sent = time.monotonic()
            try:
                info = self._client.renew(self._resource, agent_id=held.agent_id, lock_id=held.lock_id, ttl=self._ttl)
            except EngramError as err:
                if self._stop.is_set():
                    return
                retry = lease.retry_delay(err)
                if retry is None:
                    held.error = err
                    return
                delay = retry
                continue
            except Exception as err:  # the client closed under it, say: the lock counts as lost, not silently held
                held.error = EngramError("INTERNAL", f"lock renewal stopped: {err}", None)
                return
            held.info = info
            lease.renewed(info, sent)
            delay = lease.interval

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        held = self._held
        if held is None:
            return
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if held.lost:
            return
        try:
            self._client.release(self._resource, agent_id=held.agent_id, lock_id=held.lock_id)
        except EngramError as err:
            # Already gone (expired): nothing to release. Otherwise say so, unless the block failed first.
            if err.code != "LOCK_NOT_HELD" and exc is None:
                raise


class AsyncLockContext:
    """``async with engram.lock(resource, ttl=...) as lock:`` (returned by :meth:`AsyncEngram.lock`)."""

    def __init__(self, client: "AsyncEngram", resource: str, agent_id: Optional[str], ttl: Optional[float], wait: Optional[float], context_id: Optional[str]) -> None:
        self._client = client
        self._resource = resource
        self._agent_id = agent_id
        self._ttl = ttl
        self._wait = wait
        self._context_id = context_id
        self._held: Optional[AsyncHeldLock] = None
        self._renewer: Optional["asyncio.Task[None]"] = None
        self._granted = 0.0

    async def __aenter__(self) -> AsyncHeldLock:
        self._granted = time.monotonic()
        info = await self._client.acquire(self._resource, agent_id=self._agent_id, ttl=self._ttl, wait=self._wait, context_id=self._context_id)
        self._held = AsyncHeldLock(self._client, info)
        self._renewer = asyncio.ensure_future(self._renew(self._held))
        return self._held

    async def _renew(self, held: AsyncHeldLock) -> None:
        lease = held._lease = _Lease(held.info, self._granted)
        delay = lease.interval
        while True:
            await asyncio.sleep(delay)
            sent = time.monotonic()
            try:
                info = await self._client.renew(self._resource, agent_id=held.agent_id, lock_id=held.lock_id, ttl=self._ttl)
            except EngramError as err:
                retry = lease.retry_delay(err)
                if retry is None:
                    held.error = err
                    return
                delay = retry
                continue
            except Exception as err:  # the client closed under it, say: the lock counts as lost, not silently held
                held.error = EngramError("INTERNAL", f"lock renewal stopped: {err}", None)
                return
            held.info = info
            lease.renewed(info, sent)
            delay = lease.interval

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        held = self._held
        if held is None:
            return
        if self._renewer is not None:
            self._renewer.cancel()
            try:
                await self._renewer
            except asyncio.CancelledError:
                pass
        if held.lost:
            return
        try:
            await self._client.release(self._resource, agent_id=held.agent_id, lock_id=held.lock_id)
        except EngramError as err:
            if err.code != "LOCK_NOT_HELD" and exc is None:
                raise
