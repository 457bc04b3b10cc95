"""Auth with API keys (docs/clients.md): refused without a key, works with one, on HTTP and streams."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import unittest
import uuid
from typing import Optional

from engram_server import WAIT, Server

from engram_client import AsyncEngram, Engram, EngramError

WRITER_KEY = "egk_" + secrets.token_hex(32)
READER_KEY = "egk_" + secrets.token_hex(32)
server: Optional[Server] = None
keys_dir = ""


def _entry(key: str, client: str, scopes: list) -> dict:  # type: ignore[type-arg]
    # Only the hash is in the server's config, as `engram keygen` prints it.
    return {"client": client, "hash": "sha256:" + hashlib.sha256(key.encode()).hexdigest(), "scopes": scopes}


def setUpModule() -> None:
    global server, keys_dir
    keys_dir = tempfile.mkdtemp(prefix="engram-py-keys-")
    keys_file = os.path.join(keys_dir, "keys.json")
    with open(keys_file, "w") as f:
        json.dump([_entry(WRITER_KEY, "team-a", ["read", "write"]), _entry(READER_KEY, "team-a", ["read"])], f)
    server = Server(args=["--auth-mode", "apikey", "--auth-keys-file", keys_file]).start()


def tearDownModule() -> None:
    if server is not None:
        server.close()
    if keys_dir:
        import shutil

        shutil.rmtree(keys_dir, ignore_errors=True)


class ApiKeys(unittest.TestCase):
    def setUp(self) -> None:
        assert server is not None
        self.url = server.url
        self.ctx = f"auth/{uuid.uuid4().hex[:8]}"

    def refused(self, code: str, status: int, fn: object, *args: object, **kwargs: object) -> None:
        with self.assertRaises(EngramError) as caught:
            fn(*args, **kwargs)  # type: ignore[operator]
        self.assertEqual((caught.exception.code, caught.exception.status), (code, status), str(caught.exception))

    def test_without_a_key_nothing_is_allowed_and_nothing_stored(self) -> None:
        with Engram(self.url, agent_id="a") as anonymous, Engram(self.url, token=WRITER_KEY, agent_id="a") as writer:
            self.refused("UNAUTHENTICATED", 401, anonymous.write, self.ctx, "x")
            self.refused("UNAUTHENTICATED", 401, anonymous.list_contexts)
            with Engram(self.url, token="egk_not-a-key", agent_id="a") as wrong:
                self.refused("UNAUTHENTICATED", 401, wrong.write, self.ctx, "x")
            self.refused("CONTEXT_NOT_FOUND", 404, writer.get_context, self.ctx)

    def test_with_a_key_it_works_as_bearer_or_x_api_key(self) -> None:
        with Engram(self.url, token=WRITER_KEY, agent_id="a") as bearer, Engram(self.url, api_key=WRITER_KEY, agent_id="b") as header:
            self.assertEqual(bearer.write(self.ctx, "by bearer").seq, 1)
            self.assertEqual(header.write(self.ctx, "by x-api-key").seq, 2)
            self.assertEqual([u["payload"] for u in header.iter_units(self.ctx)], ["by bearer", "by x-api-key"])
            with bearer.lock(f"{self.ctx}/file", ttl=5) as lock:
                self.assertEqual(lock.write(self.ctx, "fenced").seq, 3)

    def test_scopes_are_enforced(self) -> None:
        with Engram(self.url, token=WRITER_KEY, agent_id="a") as writer, Engram(self.url, token=READER_KEY, agent_id="r") as reader:
            writer.write(self.ctx, "x")
            self.assertEqual(reader.get_context(self.ctx)["headSeq"], 1)
            self.refused("FORBIDDEN", 403, reader.write, self.ctx, "no write scope")
            # Acting as another client takes the admin scope.
            with Engram(self.url, token=WRITER_KEY, client_id="team-b", agent_id="a") as impostor:
                self.refused("FORBIDDEN", 403, impostor.write, self.ctx, "x")
            self.assertEqual(writer.get_context(self.ctx)["headSeq"], 1)

    def test_streams_need_the_key_too(self) -> None:
        with Engram(self.url, token=WRITER_KEY, agent_id="a") as writer, Engram(self.url, agent_id="a") as anonymous:
            writer.write(self.ctx, "x")
            with anonymous.subscribe(self.ctx, since=0) as refused:
                with self.assertRaises(EngramError) as caught:
                    refused.next(timeout=WAIT)
            # The upgrade is refused with 401 and the stable code; retrying unchanged cannot help.
            self.assertEqual((caught.exception.code, caught.exception.status), ("UNAUTHENTICATED", 401))
            with writer.subscribe(self.ctx, since=0) as sub:
                self.assertEqual(sub.next(timeout=WAIT)["payload"], "x")


class AsyncApiKeys(unittest.IsolatedAsyncioTestCase):
    async def test_async_client_with_and_without_a_key(self) -> None:
        assert server is not None
        ctx = f"auth/{uuid.uuid4().hex[:8]}"
        async with AsyncEngram(server.url, agent_id="a") as anonymous, AsyncEngram(server.url, token=WRITER_KEY, agent_id="a") as writer:
            with self.assertRaises(EngramError) as caught:
                await anonymous.write(ctx, "x")
            self.assertEqual(caught.exception.code, "UNAUTHENTICATED")
            self.assertEqual((await writer.write(ctx, "y")).seq, 1)
            async with writer.subscribe(ctx, since=0) as sub:
                self.assertEqual((await sub.next(timeout=WAIT))["payload"], "y")


if __name__ == "__main__":
    unittest.main()
