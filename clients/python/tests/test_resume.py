"""Subscriptions resume across server restarts: every seq exactly once, in order (docs/streaming.md).

One server on a fixed port is stopped twice, cleanly (it closes streams with 4000, "reconnect")
and with SIGKILL (the connections just drop), and started again on the same data dir and port.
Units are written before each stop and after each start; a blocking and an asyncio subscription
follow the context throughout and must each yield seqs 1..N once, in order.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import unittest
import uuid
from typing import List, Optional

from engram_server import WAIT, Server, start_on_fixed_port, wait_until

from engram_client import AsyncEngram, Backoff, Engram

PER_PHASE = 5
PHASES = 3  # before the first stop, between the stops, after the second start
TOTAL = PER_PHASE * PHASES


class AsyncFollower(threading.Thread):
    """An AsyncEngram subscription consumed on its own event loop, collecting seqs."""

    def __init__(self, url: str, context_id: str) -> None:
        super().__init__(daemon=True)
        self.url, self.context_id = url, context_id
        self.seqs: List[int] = []
        self.error: Optional[BaseException] = None
        self.epoch: Optional[str] = None

    def run(self) -> None:
        try:
            asyncio.run(self._follow())
        except BaseException as e:  # reported by the test
            self.error = e

    async def _follow(self) -> None:
        async with AsyncEngram(self.url, backoff=Backoff(0.05, 0.5)) as engram:
            async with engram.subscribe(self.context_id, since=0) as sub:
                async for unit in sub:
                    self.seqs.append(unit["seq"])
                    self.epoch = sub.epoch
                    if len(self.seqs) == TOTAL:
                        return


class ResumeAcrossRestarts(unittest.TestCase):
    server: Server

    def setUp(self) -> None:
        self.server = start_on_fixed_port()
        self.addCleanup(self.server.close)

    def test_every_seq_once_in_order_across_a_clean_stop_and_a_crash(self) -> None:
        ctx = f"resume/{uuid.uuid4().hex[:8]}"
        url = self.server.url
        writer = Engram(url, agent_id="writer")
        self.addCleanup(writer.close)
        reader = Engram(url, agent_id="reader", backoff=Backoff(0.05, 0.5))
        self.addCleanup(reader.close)

        sub = reader.subscribe(ctx, since=0)
        self.addCleanup(sub.close)
        follower = AsyncFollower(url, ctx)
        follower.start()
        seen: List[int] = []

        def write_phase(phase: int) -> None:
            for i in range(PER_PHASE):
                n = phase * PER_PHASE + i + 1
                # The key makes a retry after an unclear failure safe; no retry is expected here.
                self.assertEqual(writer.write(ctx, {"n": n}, idempotency_key=f"w{n}").seq, n)

        def read_until(n: int) -> None:
            while len(seen) < n:
                seen.append(sub.next(timeout=WAIT)["seq"])

        write_phase(0)
        read_until(PER_PHASE)
        epoch = sub.epoch
        self.assertTrue(epoch)

        for phase, how in ((1, signal.SIGTERM), (2, signal.SIGKILL)):
            code = self.server.stop(how)
            if how == signal.SIGTERM:
                self.assertEqual(code, 0)
            self.server.start()  # same data dir, same port
            self.assertEqual(self.server.url, url)
            wait_until(writer.ready, "the restarted server to be ready")
            write_phase(phase)
            read_until((phase + 1) * PER_PHASE)

        self.assertEqual(seen, list(range(1, TOTAL + 1)))
        self.assertEqual(sub.epoch, epoch)  # the data dir kept its history, so its epoch
        self.assertGreaterEqual(sub.reconnects, 2)
        follower.join(WAIT)
        self.assertFalse(follower.is_alive(), "the async subscription did not see every unit")
        self.assertIsNone(follower.error)
        self.assertEqual(follower.seqs, list(range(1, TOTAL + 1)))
        self.assertEqual(follower.epoch, epoch)
        # Nothing more arrives: no duplicate was held back.
        with self.assertRaises(TimeoutError):
            sub.next(timeout=0.3)

    def test_a_subscription_opened_while_the_server_is_down_connects_when_it_is_back(self) -> None:
        ctx = f"resume/{uuid.uuid4().hex[:8]}"
        with Engram(self.server.url, agent_id="w", backoff=Backoff(0.05, 0.5)) as engram:
            engram.write(ctx, "before")
            self.server.stop()
            with engram.subscribe(ctx, since=0) as sub:
                with self.assertRaises(TimeoutError):
                    sub.next(timeout=0.2)  # nothing to connect to yet; it keeps trying
                self.server.start()
                self.assertEqual(sub.next(timeout=WAIT)["payload"], "before")
                wait_until(engram.ready, "the restarted server to be ready")
                engram.write(ctx, "after")
                self.assertEqual(sub.next(timeout=WAIT)["payload"], "after")


if __name__ == "__main__":
    unittest.main()


class LeaseRunsOutWhileTheServerHangs(unittest.TestCase):
    """A renewal that hangs (the server paused) does not keep a lock "held": ``lost`` turns true
    once the lease has run out by the client's clock, long before the request would time out."""

    def test_lost_by_the_clock(self) -> None:
        server = Server().start()
        self.addCleanup(server.close)
        assert server.proc is not None
        with Engram(server.url, timeout=120, agent_id="sleeper") as engram:
            resource = f"hang-{uuid.uuid4().hex[:8]}"
            with engram.lock(resource, ttl=1.0) as lock:
                self.assertFalse(lock.lost)
                server.proc.send_signal(signal.SIGSTOP)
                try:
                    wait_until(lambda: lock.lost, "the lease to run out by the client's clock", timeout=60)
                finally:
                    server.proc.send_signal(signal.SIGCONT)
            # The server, running again, agrees: the lease ran out and nobody holds the lock.
            wait_until(lambda: not engram.list_locks(prefix=resource)["locks"], "the lock to be gone on the server")
