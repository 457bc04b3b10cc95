"""The asyncio client against a real server: the same API, awaited."""

from __future__ import annotations

import asyncio
import time
import unittest
import uuid
from typing import Optional

from engram_server import WAIT, Server

from engram_client import AsyncEngram, EngramError

server: Optional[Server] = None


def setUpModule() -> None:
    global server
    server = Server().start()


def tearDownModule() -> None:
    if server is not None:
        server.close()


def new_id(prefix: str) -> str:
    return f"{prefix}/{uuid.uuid4().hex[:8]}"


async def eventually(check, what: str, timeout: float = WAIT):  # type: ignore[no-untyped-def]
    """Awaits ``check()`` until it returns something truthy; fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


class AsyncClient(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        assert server is not None
        self.engram = AsyncEngram(server.url, agent_id="py-async")

    async def asyncTearDown(self) -> None:
        await self.engram.aclose()

    async def test_write_idempotency_and_paging(self) -> None:
        ctx = new_id("a-units")
        results = [await self.engram.write(ctx, {"n": i}, idempotency_key=f"k{i}") for i in range(12)]
        self.assertEqual([r.seq for r in results], list(range(1, 13)))
        replay = await self.engram.write(ctx, "ignored", idempotency_key="k3")
        self.assertTrue(replay.replayed)
        self.assertEqual(replay.unit, results[3].unit)
        seqs = [u["seq"] async for u in self.engram.iter_units(ctx, page_size=5)]
        self.assertEqual(seqs, list(range(1, 13)))
        page = await self.engram.list_units(ctx, limit=4, after=8)
        self.assertEqual([u["payload"]["n"] for u in page["workUnits"]], [8, 9, 10, 11])
        created = await self.engram.create_context(new_id("a-ctx"), display_name="Async")
        self.assertEqual(created["displayName"], "Async")
        self.assertEqual((await self.engram.delete_context(ctx))["units"], 12)

    async def test_errors_are_raised_with_stable_codes(self) -> None:
        ctx = new_id("a-bad")
        with self.assertRaises(EngramError) as caught:
            await self.engram.write(ctx, "x", type="NOPE")  # type: ignore[arg-type]
        self.assertEqual((caught.exception.code, caught.exception.status), ("INVALID_FIELD", 400))
        with self.assertRaises(EngramError) as caught:
            await self.engram.get_context(ctx)
        self.assertEqual(caught.exception.code, "CONTEXT_NOT_FOUND")  # nothing was stored

    async def test_subscribe_as_async_iterator(self) -> None:
        ctx = new_id("a-live")
        await self.engram.write(ctx, 0)
        seen = []
        async with self.engram.subscribe(ctx, since=0) as sub:
            async for unit in sub:
                seen.append(unit["payload"])
                if len(seen) == 4:
                    break
                await self.engram.write(ctx, len(seen))
            self.assertEqual(sub.last_seq, 4)
        self.assertEqual(seen, [0, 1, 2, 3])

    async def test_subscribe_ends_when_the_context_is_deleted(self) -> None:
        ctx = new_id("a-gone")
        await self.engram.write(ctx, "x")
        sub = self.engram.subscribe(ctx, since=0)
        self.assertEqual((await sub.next(timeout=30))["seq"], 1)
        await self.engram.delete_context(ctx)
        with self.assertRaises(EngramError) as caught:
            await sub.next(timeout=30)
        self.assertEqual(caught.exception.code, "CONTEXT_DELETED")
        await sub.aclose()

    async def test_lock_renews_and_fences(self) -> None:
        ctx, resource = new_id("a-lock"), new_id("a-doc")
        ttl = 1.5
        async with self.engram.lock(resource, ttl=ttl) as lock:
            token = lock.token
            started = time.monotonic()

            async def held_past_two_leases():  # type: ignore[no-untyped-def]
                return time.monotonic() - started > 2 * ttl

            await eventually(held_past_two_leases, "two leases to pass")
            self.assertFalse(lock.lost, lock.error)
            current = await self.engram.get_lock(resource)
            self.assertEqual((current["token"], current["lockId"]), (token, lock.lock_id))
            self.assertEqual((await lock.write(ctx, "fenced edit", type="FILE_CHANGE")).seq, 1)
        with self.assertRaises(EngramError) as caught:
            await self.engram.get_lock(resource)
        self.assertEqual(caught.exception.code, "LOCK_NOT_HELD")
        # The token of a holder that is gone no longer writes.
        with self.assertRaises(EngramError) as caught:
            await self.engram.write(ctx, "stale", fence=lock)
        self.assertEqual(caught.exception.code, "FENCE_REJECTED")
        self.assertEqual((await self.engram.get_context(ctx))["headSeq"], 1)

    async def test_forks_and_an_approval_decided_while_waiting(self) -> None:
        ctx, resource = new_id("a-approve"), new_id("a-deploy")
        for i in range(1, 4):
            await self.engram.write(ctx, f"step {i}")
        fork = await self.engram.fork(ctx, 1)
        self.assertEqual([u["payload"] for u in (await self.engram.list_units(fork["id"]))["workUnits"]], ["step 1"])
        self.assertEqual([f["id"] for f in await self.engram.forks(ctx)], [fork["id"]])
        held = await self.engram.acquire(resource, ttl=30)
        asked = await self.engram.request_approval(ctx, {"deploy": "v3"}, lock=held, ttl=60)
        # The decision arrives while the waiter long-polls.
        waiting = asyncio.ensure_future(self.engram.wait_for_approval(ctx, asked["requestId"], timeout=WAIT))
        await self.engram.decide_approval(ctx, asked["requestId"], "deny", reason="not today")
        got = await waiting
        self.assertEqual((got["status"], got["decision"]["reason"]), ("denied", "not today"))
        self.assertEqual((await self.engram.approvals(context_id=ctx, status="all"))["approvals"][0]["status"], "denied")

    async def test_waiting_for_a_lock_in_line(self) -> None:
        resource = new_id("a-line")
        order = []

        async def agent(name: str) -> None:
            async with self.engram.lock(resource, ttl=10, wait=30, agent_id=name) as lock:
                order.append((name, lock.token))

        first = await self.engram.acquire(resource, agent_id="holder", ttl=10)
        waiter = asyncio.ensure_future(agent("waiter"))
        await eventually(lambda: _waiting(self.engram, resource), "the waiter to be in line")
        await self.engram.release(resource, agent_id="holder", lock_id=first["lockId"])
        await asyncio.wait_for(waiter, WAIT)
        self.assertEqual(order[0][0], "waiter")
        self.assertGreater(order[0][1], first["token"])

    async def test_search_memory_facts_and_graph(self) -> None:
        ctx, space = new_id("a-search"), uuid.uuid4().hex[:8]
        await self.engram.write(ctx, "the deploy uses blue green switching")

        async def found():  # type: ignore[no-untyped-def]
            return (await self.engram.search("deploy", mode="keyword", context_id=ctx))["results"]

        hits = await eventually(found, "the index to take the unit")
        self.assertEqual(hits[0]["workUnit"]["payload"], "the deploy uses blue green switching")
        result = await self.engram.memory(space, {"command": "create", "path": "/memories/a.md", "file_text": "hello\n"})
        self.assertFalse(result["isError"])
        self.assertEqual(await self.engram.memory_file(space, "/memories/a.md"), "hello\n")
        self.assertEqual((await self.engram.remember(space, "Deploys happen on Tuesdays.", key="deploy.day"))["decision"], "ADD")
        self.assertEqual([f["key"] for f in await self.engram.facts(space)], ["deploy.day"])
        await self.engram.graph(space, "create_entities", {"entities": [{"name": "deploy", "entityType": "process", "observations": []}]})
        self.assertEqual([e["name"] for e in (await self.engram.read_graph(space))["entities"]], ["deploy"])
        turn = await self.engram.process_turn(space, [{"role": "user", "content": "I live in Oslo."}])
        self.assertEqual([(d["decision"], d["fact"]["value"]) for d in turn["decisions"]], [("ADD", "User lives in Oslo")])
        self.assertEqual((await self.engram.query_memory(space, "where does the user live"))["memories"][0]["value"], "User lives in Oslo")


async def _waiting(engram: AsyncEngram, resource: str) -> bool:
    return (await engram.get_lock(resource)).get("waiting", 0) > 0


if __name__ == "__main__":
    unittest.main()
