"""The blocking client against a real server: units, contexts, errors, streams, locks, search, memory."""

from __future__ import annotations

import math
import time
import unittest
import uuid
from datetime import datetime
from typing import List, Optional

from engram_server import Server, wait_until

from engram_client import Engram, EngramError, WorkUnit

server: Optional[Server] = None


def setUpModule() -> None:
    global server
    server = Server().start()


def tearDownModule() -> None:
    if server is not None:
        server.close()


def new_id(prefix: str) -> str:
    return f"{prefix}/{uuid.uuid4().hex[:8]}"


class SyncTestCase(unittest.TestCase):
    def setUp(self) -> None:
        assert server is not None
        self.engram = Engram(server.url, agent_id="py-agent")
        self.addCleanup(self.engram.close)

    def assertRefused(self, code: str, status: Optional[int], fn: object, *args: object, **kwargs: object) -> EngramError:
        with self.assertRaises(EngramError) as caught:
            fn(*args, **kwargs)  # type: ignore[operator]
        self.assertEqual(caught.exception.code, code, str(caught.exception))
        if status is not None:
            self.assertEqual(caught.exception.status, status)
        return caught.exception


class UnitsAndContexts(SyncTestCase):
    def test_write_read_and_page_through_units(self) -> None:
        ctx = new_id("units")
        written = [
            self.engram.write(ctx, {"n": i}, type="TOOL_RESULT", meta={"step": str(i)}).unit for i in range(1, 26)
        ]
        self.assertEqual([u["seq"] for u in written], list(range(1, 26)))
        self.assertEqual(self.engram.get_unit(written[4]["id"]), written[4])

        page = self.engram.list_units(ctx, limit=10)
        self.assertEqual([u["seq"] for u in page["workUnits"]], list(range(1, 11)))
        self.assertEqual(page["nextCursor"], 10)
        page = self.engram.list_units(ctx, limit=10, after=20)
        self.assertEqual([u["seq"] for u in page["workUnits"]], list(range(21, 26)))
        self.assertIsNone(page["nextCursor"])
        newest = self.engram.list_units(ctx, limit=3, reverse=True)
        self.assertEqual([u["seq"] for u in newest["workUnits"]], [25, 24, 23])

        # Paging by nextCursor: every unit after `since`, once, in order.
        self.assertEqual([u["seq"] for u in self.engram.iter_units(ctx, page_size=7)], list(range(1, 26)))
        self.assertEqual([u["payload"]["n"] for u in self.engram.iter_units(ctx, since=18, page_size=3)], list(range(19, 26)))
        self.assertEqual(written[2]["meta"], {"step": "3"})
        self.assertEqual(written[2]["agentId"], "py-agent")

    def test_idempotency_key_stores_one_unit(self) -> None:
        ctx = new_id("idem")
        first = self.engram.write(ctx, "once", idempotency_key="step-1")
        again = self.engram.write(ctx, "once (retried)", idempotency_key="step-1")
        self.assertFalse(first.replayed)
        self.assertTrue(again.replayed)
        self.assertEqual(again.unit, first.unit)
        self.assertEqual(self.engram.get_context(ctx)["headSeq"], 1)
        other = self.engram.write(ctx, "another", idempotency_key="step-2")
        self.assertEqual(other.seq, 2)

    def test_relationships_and_agent_override(self) -> None:
        ctx = new_id("rel")
        question = self.engram.write(ctx, "why?", agent_id="asker")
        answer = self.engram.write(ctx, "because", relationships=[{"targetId": question.id, "type": "RESPONDS_TO"}])
        self.assertEqual(question.unit["agentId"], "asker")
        self.assertEqual(answer.unit["relationships"][0]["targetId"], question.id)
        self.assertEqual(sorted(self.engram.get_context(ctx)["agentIds"]), ["asker", "py-agent"])

    def test_contexts_create_get_patch_list_delete(self) -> None:
        prefix = new_id("ctxs") + "/"
        created = self.engram.create_context(prefix + "a", display_name="Plan A", meta={"stage": "draft"}, agents=["planner"])
        self.assertEqual((created["displayName"], created["meta"], created["agentIds"], created["version"]), ("Plan A", {"stage": "draft"}, ["planner"], 1))
        for name in ("b", "c", "d"):
            self.engram.create_context(prefix + name)

        got = self.engram.get_context(prefix + "a")
        self.assertEqual(got["headSeq"], 0)
        patched = self.engram.update_context(prefix + "a", meta={"stage": "review", "extra": "x"}, if_version=got["version"])
        self.assertEqual(patched["meta"], {"stage": "review", "extra": "x"})
        self.assertEqual(patched["version"], 2)
        # A change decided on an old version is refused and changes nothing.
        self.assertRefused("VERSION_MISMATCH", 412, self.engram.update_context, prefix + "a", display_name="stale", if_version=1)
        removed = self.engram.update_context(prefix + "a", meta={"extra": None})
        self.assertEqual(removed["meta"], {"stage": "review"})
        # If-Match: * requires that the context exists: a precondition, like a stale version.
        self.assertRefused("VERSION_MISMATCH", 412, self.engram.update_context, prefix + "zzz", display_name="x", if_exists=True)
        self.assertRefused("CONTEXT_NOT_FOUND", 404, self.engram.get_context, prefix + "zzz")

        ids = [c["id"] for c in self.engram.iter_contexts(prefix=prefix, page_size=2)]
        self.assertEqual(ids, [prefix + n for n in ("a", "b", "c", "d")])
        page = self.engram.list_contexts(prefix=prefix, limit=3)
        self.assertEqual(page["nextCursor"], prefix + "c")

        self.engram.write(prefix + "b", "a unit")
        deleted = self.engram.delete_context(prefix + "b")
        self.assertEqual((deleted["deleted"], deleted["units"]), (True, 1))
        self.assertRefused("CONTEXT_NOT_FOUND", 404, self.engram.get_context, prefix + "b")
        self.assertEqual([c["id"] for c in self.engram.iter_contexts(prefix=prefix)], [prefix + n for n in ("a", "c", "d")])


class BadInput(SyncTestCase):
    def test_refused_writes_raise_stable_codes_and_store_nothing(self) -> None:
        ctx = new_id("bad")
        self.engram.write(ctx, "the only good unit")
        cases = [
            ("INVALID_FIELD", dict(type="NOT_A_TYPE")),
            ("INVALID_FIELD", dict(meta={"k": 1})),
            ("INVALID_FIELD", dict(relationships=[{"targetId": "x", "type": "LIKES"}])),
            ("INVALID_ID", dict(agent_id="bad\u0001agent")),
        ]
        for code, options in cases:
            with self.subTest(code=code, options=options):
                err = self.assertRefused(code, 400, self.engram.write, ctx, "x", **options)
                self.assertFalse(err.retryable)
                self.assertTrue(err.message)
        self.assertRefused("MALFORMED_JSON", 400, self.engram.write, ctx, {"n": math.nan})
        self.assertRefused("INVALID_ID", 400, self.engram.write, "ctx\u0000nul", "x")
        with Engram(self.engram.url) as anonymous:  # no agent anywhere: the server says so
            self.assertRefused("MISSING_FIELD", 400, anonymous.write, ctx, "x")
        self.assertEqual(self.engram.get_context(ctx)["headSeq"], 1)
        self.assertEqual([u["payload"] for u in self.engram.iter_units(ctx)], ["the only good unit"])

    def test_refused_reads_raise_stable_codes(self) -> None:
        self.assertRefused("CONTEXT_NOT_FOUND", 404, self.engram.list_units, new_id("nowhere"))
        self.assertRefused("WORKUNIT_NOT_FOUND", 404, self.engram.get_unit, "01JD5Z3Q8R6V2KJ0M4W7A1B9CX")
        ctx = new_id("badq")
        self.engram.write(ctx, "x")
        self.assertRefused("INVALID_QUERY", 400, self.engram.list_units, ctx, limit=0)
        self.assertRefused("MISSING_FIELD", 400, self.engram.search)
        self.assertRefused("INVALID_FIELD", 400, self.engram.search, "x", mode="psychic")
        self.assertRefused("LOCK_NOT_HELD", 404, self.engram.get_lock, new_id("free"))

    def test_unreachable_server_is_unavailable_and_retryable(self) -> None:
        with Engram("http://127.0.0.1:9", timeout=5) as nowhere:
            err = self.assertRefused("UNAVAILABLE", None, nowhere.write, "c", "x")
            self.assertTrue(err.retryable)
            self.assertFalse(nowhere.ready())


class Streams(SyncTestCase):
    def test_subscribe_replays_then_follows_live(self) -> None:
        ctx = new_id("live")
        for i in range(3):
            self.engram.write(ctx, i)
        with self.engram.subscribe(ctx, since=0) as sub:
            got: List[WorkUnit] = [sub.next(timeout=30) for _ in range(3)]
            for i in range(3, 6):
                self.engram.write(ctx, i)
            got += [sub.next(timeout=30) for _ in range(3)]
            self.assertEqual([u["payload"] for u in got], list(range(6)))
            self.assertEqual(sub.last_seq, 6)
            self.assertTrue(sub.epoch)
            present = self.engram.presence(ctx)
            self.assertIn("py-agent", [m["agentId"] for m in present["members"]])
        window = self.engram.window(ctx, 1000, model="gpt-4o")
        self.assertEqual([(u["seq"], u["reason"]) for u in window["units"]], [(i, "recent") for i in range(1, 7)])
        self.assertLessEqual(window["tokens"], 1000)
        self.assertRefused("INVALID_FIELD", 400, self.engram.window, ctx, 0)
        # A summary stands in for seqs 1-3 in reads and windows that ask for it.
        self.engram.write(ctx, {"text": "Payloads 0-2 arrived.", "covers": {"from": 1, "to": 3}}, type="SUMMARY")
        self.assertEqual([u["seq"] for u in self.engram.list_units(ctx, summaries=True)["workUnits"]], [7, 4, 5, 6])
        self.assertEqual([u["seq"] for u in self.engram.list_units(ctx)["workUnits"]], [1, 2, 3, 4, 5, 6, 7])
        summarized = self.engram.window(ctx, 1000, summaries=True)
        self.assertEqual([(u["seq"], u["reason"]) for u in summarized["units"]], [(7, "summary"), (4, "recent"), (5, "recent"), (6, "recent")])
        # This server has no language model to write one.
        self.assertRefused("MODEL_UNAVAILABLE", 503, self.engram.summarize, ctx)

    def test_subscribe_without_since_starts_from_now(self) -> None:
        ctx = new_id("now")
        self.engram.write(ctx, "before")
        with self.engram.subscribe(ctx) as sub:
            sub.wait_subscribed(timeout=30)
            self.engram.write(ctx, "after")
            self.assertEqual(sub.next(timeout=30)["payload"], "after")

    def test_deleted_context_ends_the_iterator(self) -> None:
        ctx = new_id("gone")
        self.engram.write(ctx, "x")
        sub = self.engram.subscribe(ctx, since=0)
        self.assertEqual(sub.next(timeout=30)["seq"], 1)
        self.engram.delete_context(ctx)
        with self.assertRaises(EngramError) as caught:
            sub.next(timeout=30)
        self.assertEqual(caught.exception.code, "CONTEXT_DELETED")
        with self.assertRaises(StopIteration):
            sub.next(timeout=1)

    def test_resume_in_another_epoch_is_refused(self) -> None:
        ctx = new_id("epoch")
        self.engram.write(ctx, "x")
        with self.engram.subscribe(ctx, since=0, epoch="not-this-history") as sub:
            with self.assertRaises(EngramError) as caught:
                sub.next(timeout=30)
        self.assertEqual(caught.exception.code, "EPOCH_MISMATCH")
        self.assertTrue(caught.exception.details.get("epoch"))

    def test_since_beyond_the_head_is_refused(self) -> None:
        ctx = new_id("ahead")
        self.engram.write(ctx, "x")
        with self.engram.subscribe(ctx, since=5) as sub:
            with self.assertRaises(EngramError) as caught:
                sub.next(timeout=30)
        self.assertEqual(caught.exception.code, "INVALID_QUERY")


class ForksAndApprovals(SyncTestCase):
    def test_a_fork_shares_the_history_up_to_its_seq_and_diverges(self) -> None:
        ctx = new_id("parent")
        for i in range(1, 5):
            self.engram.write(ctx, f"step {i}")
        fork = self.engram.fork(ctx, 2, fork_id=f"{ctx}-what-if")
        self.assertEqual(fork["id"], f"{ctx}-what-if")
        self.engram.write(fork["id"], "what if 3")
        self.assertEqual([u["payload"] for u in self.engram.iter_units(fork["id"])], ["step 1", "step 2", "what if 3"])
        self.assertEqual([f["id"] for f in self.engram.forks(ctx)], [fork["id"]])
        self.assertRefused("FORK_BEYOND_HEAD", 400, self.engram.fork, ctx, 99)
        self.assertRefused("CONTEXT_HAS_FORKS", 409, self.engram.delete_context, ctx)

    def test_an_approval_is_asked_under_a_lock_decided_once_and_fenced(self) -> None:
        ctx, resource = new_id("approve"), new_id("deploy")
        # A held, renewing lock, and a plain acquired one: both are what an approval is asked under.
        with self.engram.lock(new_id("renewing"), ttl=30) as renewing:
            self.assertEqual(self.engram.request_approval(ctx, "under a renewing lock", lock=renewing, ttl=60)["lock"]["token"], renewing.token)
        held = self.engram.acquire(resource, ttl=30)
        asked = self.engram.request_approval(ctx, {"deploy": "v2"}, lock=held, ttl=60)
        self.assertEqual((asked["status"], asked["lock"]["token"]), ("pending", held["token"]))
        pending = self.engram.approvals(context_id=ctx)["approvals"]
        self.assertIn(asked["requestId"], [a["requestId"] for a in pending])
        # A short wait answers it pending; the decision then comes back to the waiter.
        self.assertEqual(self.engram.wait_for_approval(ctx, asked["requestId"], timeout=1)["status"], "pending")
        decided = self.engram.decide_approval(ctx, asked["requestId"], "approve", reason="looks fine", by="reviewer")
        self.assertEqual(decided["status"], "approved")
        self.assertRefused("APPROVAL_DECIDED", 409, self.engram.decide_approval, ctx, asked["requestId"], "deny")
        got = self.engram.wait_for_approval(ctx, asked["requestId"], timeout=30)
        self.assertEqual((got["status"], got["decision"]["by"], got["decision"]["reason"]), ("approved", "reviewer", "looks fine"))
        # The lock lost, the approval is no use to this worker any more.
        self.engram.release(resource, agent_id="py-agent", lock_id=held["lockId"])
        self.assertRefused("FENCE_REJECTED", 409, self.engram.get_approval, ctx, asked["requestId"])
        self.assertRefused("APPROVAL_NOT_FOUND", 404, self.engram.get_approval, ctx, "no-such-request")


class Locks(SyncTestCase):
    def test_lease_is_renewed_past_its_ttl_and_the_token_kept(self) -> None:
        ctx, resource = new_id("renew"), new_id("doc")
        ttl = 1.5
        with self.engram.lock(resource, ttl=ttl) as lock:
            token, granted = lock.token, lock.expires_at
            started = time.monotonic()
            # Hold it well past one lease, until the server shows a renewed expiry.
            wait_until(lambda: time.monotonic() - started > 2 * ttl, "two leases to pass")
            current = wait_until(
                lambda: (lambda held: held if _ts(held["expiresAt"]) > _ts(granted) else None)(self.engram.get_lock(resource)),
                "a renewal",
            )
            self.assertFalse(lock.lost, lock.error)
            self.assertEqual(current["token"], token)
            self.assertEqual(current["lockId"], lock.lock_id)
            self.assertEqual(lock.token, token)
            self.assertEqual(lock.write(ctx, {"edit": 1}, type="FILE_CHANGE").seq, 1)
        self.assertRefused("LOCK_NOT_HELD", 404, self.engram.get_lock, resource)

    def test_a_stale_token_is_fenced_out(self) -> None:
        ctx, resource = new_id("fence"), new_id("file")
        first = self.engram.acquire(resource, agent_id="agent-a", ttl=10)
        held = self.assertRefused("LOCK_HELD", 409, self.engram.acquire, resource, agent_id="agent-b")
        self.assertEqual(held.details["holder"], "agent-a")
        self.engram.release(resource, agent_id="agent-a", lock_id=first["lockId"])
        with self.engram.lock(resource, ttl=10, agent_id="agent-b") as second:
            self.assertGreater(second.token, first["token"])
            self.assertEqual(second.write(ctx, "b's edit").seq, 1)
            err = self.assertRefused("FENCE_REJECTED", 409, self.engram.write, ctx, "a's late edit", agent_id="agent-a", fence=(resource, first["token"]))
            self.assertEqual(err.details["currentToken"], second.token)
        self.assertEqual([u["payload"] for u in self.engram.iter_units(ctx)], ["b's edit"])

    def test_a_lost_lease_is_reported_and_its_writes_refused(self) -> None:
        ctx, resource = new_id("lost"), new_id("file")
        self.engram.write(ctx, "base")
        with self.engram.lock(resource, ttl=1.5) as lock:
            # Someone (an operator, a crash and restart) frees the lock under the holder.
            self.engram.release(resource, agent_id=lock.agent_id, lock_id=lock.lock_id)
            wait_until(lambda: lock.lost, "the renewal to be refused")
            assert lock.error is not None
            self.assertEqual(lock.error.code, "LOCK_NOT_HELD")
            self.assertRefused("FENCE_REJECTED", 409, lock.write, ctx, "too late")
        self.assertEqual(self.engram.get_context(ctx)["headSeq"], 1)


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class SearchAndMemory(SyncTestCase):
    def test_keyword_and_hybrid_search(self) -> None:
        ctx = new_id("search")
        self.engram.write(ctx, {"text": "the car needs new tires before winter"})
        self.engram.write(ctx, {"text": "lunch is at noon on fridays"})
        self.engram.write(ctx, "retries use exponential backoff with jitter", meta={"title": "retry policy"})
        hits = wait_until(lambda: self.engram.search("backoff", mode="keyword", context_id=ctx)["results"], "the index to take the units")
        self.assertEqual(hits[0]["workUnit"]["payload"], "retries use exponential backoff with jitter")
        # Words the text does not have; the offline embedder finds it by meaning.
        self.assertEqual(self.engram.search("automobile maintenance", mode="keyword", context_id=ctx)["results"], [])
        hybrid = self.engram.search("automobile maintenance", context_ids=[ctx], limit=1)
        self.assertEqual(hybrid["results"][0]["workUnit"]["payload"], {"text": "the car needs new tires before winter"})
        self.assertIsNotNone(hybrid["results"][0]["vectorScore"])

    def test_memory_tool_commands(self) -> None:
        space = uuid.uuid4().hex[:8]
        created = self.engram.memory(space, {"command": "create", "path": "/memories/notes.md", "file_text": "editor: vim\n"})
        self.assertEqual(created, {"result": "File created successfully at: /memories/notes.md", "isError": False})
        edited = self.engram.memory(space, {"command": "str_replace", "path": "/memories/notes.md", "old_str": "vim", "new_str": "helix"}, agent_id="editor")
        self.assertFalse(edited["isError"])
        view = self.engram.memory(space, {"command": "view", "path": "/memories/notes.md"})
        self.assertIn("editor: helix", view["result"])
        missing = self.engram.memory(space, {"command": "view", "path": "/memories/nope.md"})
        self.assertTrue(missing["isError"])  # a tool error is the model's to read, not an exception
        self.assertEqual(self.engram.memory_file(space, "/memories/notes.md"), "editor: helix\n")
        self.assertEqual(self.engram.memory_tree(space), [{"path": "/memories/notes.md", "size": 14}])
        history = self.engram.memory_history(space, "/memories/notes.md")
        self.assertEqual([(c["command"], c["agentId"]) for c in history], [("create", "py-agent"), ("str_replace", "editor")])
        self.assertRefused("INVALID_ID", 400, self.engram.memory, "bad\u0001space", {"command": "view", "path": "/memories"})

    def test_facts(self) -> None:
        space = uuid.uuid4().hex[:8]
        self.assertEqual(self.engram.remember(space, "The user edits with Helix.", key="user.editor")["decision"], "ADD")
        self.assertEqual(self.engram.remember(space, "the user edits with helix", key="user.editor")["decision"], "NOOP")
        updated = self.engram.remember(space, "The user edits with Zed.", key="user.editor")
        self.assertEqual((updated["decision"], updated.get("replaced")), ("UPDATE", "The user edits with Helix."))
        self.engram.remember(space, "The service listens on port 8080.", key="svc.port")
        self.assertEqual([f["key"] for f in self.engram.facts(space)], ["user.editor", "svc.port"])
        history = self.engram.fact(space, "user.editor")["history"]
        self.assertEqual([v["op"] for v in history], ["ADD", "UPDATE"])
        self.assertEqual(self.engram.recall(space, "which port does the service listen on", limit=1)[0]["key"], "svc.port")
        self.assertEqual(self.engram.forget(space, "svc.port")["decision"], "DELETE")
        self.assertEqual([f["key"] for f in self.engram.facts(space)], ["user.editor"])
        self.assertEqual(len(self.engram.facts(space, include_deleted=True)), 2)

    def test_memory_from_conversations(self) -> None:
        space = uuid.uuid4().hex[:8]
        first = self.engram.process_turn(space, [{"role": "user", "content": "I prefer dark mode."}], agent_id="py-agent")
        self.assertEqual([(d["decision"], d["fact"]["value"], d["fact"]["agentId"]) for d in first["decisions"]], [("ADD", "User prefers dark mode", "py-agent")])
        second = self.engram.process_turn(space, [{"role": "user", "content": "Actually, I prefer light mode now."}], extractor="rules")
        decision = second["decisions"][0]
        self.assertEqual((decision["decision"], decision["fact"]["value"], decision["replaces"]["value"]), ("UPDATE", "User prefers light mode", "User prefers dark mode"))
        answer = self.engram.query_memory(space, "which mode does the user prefer", history=True)
        self.assertEqual([(m["value"], len(m["history"])) for m in answer["memories"]], [("User prefers light mode", 2)])
        self.assertRefused("INVALID_FIELD", 400, self.engram.process_turn, space, [])

    def test_knowledge_graph(self) -> None:
        space = uuid.uuid4().hex[:8]
        entities = [{"name": "engram", "entityType": "project", "observations": ["written in TypeScript"]}, {"name": "python", "entityType": "language", "observations": []}]
        self.assertEqual(len(self.engram.graph(space, "create_entities", {"entities": entities})), 2)
        self.engram.graph(space, "create_relations", {"relations": [{"from": "engram", "to": "python", "relationType": "has a client in"}]})
        added = self.engram.graph(space, "add_observations", {"observations": [{"entityName": "engram", "contents": ["streams over WebSocket"]}]})
        self.assertEqual(added, [{"entityName": "engram", "addedObservations": ["streams over WebSocket"]}])
        graph = self.engram.read_graph(space)
        self.assertEqual(sorted(e["name"] for e in graph["entities"]), ["engram", "python"])
        self.assertEqual(graph["relations"][0]["relationType"], "has a client in")
        found = self.engram.graph(space, "search_nodes", {"query": "websocket"})
        self.assertEqual([e["name"] for e in found["entities"]], ["engram"])
        self.assertRefused("NOT_FOUND", 404, self.engram.graph, space, "add_observations", {"observations": [{"entityName": "nobody", "contents": ["x"]}]})


if __name__ == "__main__":
    unittest.main()
