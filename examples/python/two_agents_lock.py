"""Two agents take turns editing one shared file under a lock, with fencing (docs/python.md).

The file is a context of FILE_CHANGE units, each holding the file's whole new text: its newest
unit is the file. Each agent is a thread with its own client. It follows the context to see when
it is its turn, takes the file's lock (renewed in the background while it works), reads the file
and writes its edit fenced with the lock's token. Then one agent stalls past its lease while
holding the lock: the other gets the lock, and the stalled agent's late write is refused
(FENCE_REJECTED) instead of silently overwriting the other's edit.

    make run                                                    # in one terminal
    ENGRAM_URL=http://127.0.0.1:8080 python3 examples/python/two_agents_lock.py
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import List

try:
    import engram_client  # noqa: F401  (installed: pip install ./clients/python)
except ImportError:  # run from a checkout: use the client next to it
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))

from engram_client import Engram, EngramError, Subscription

URL = os.environ.get("ENGRAM_URL", "http://127.0.0.1:8080")
CONTEXT = f"example/shared-file/{int(time.time() * 1000)}"
PATH = "notes/plan.md"
ROUNDS = 3
AGENTS = ["agent-a", "agent-b"]
print_lock = threading.Lock()


def say(line: str) -> None:
    with print_lock:
        print(line, flush=True)


def read_file(engram: Engram) -> str:
    """The file as the log has it now: the text of the context's newest FILE_CHANGE."""
    try:
        newest = engram.list_units(CONTEXT, limit=1, reverse=True)["workUnits"]
    except EngramError as e:
        if e.code == "CONTEXT_NOT_FOUND":  # nobody wrote it yet
            return ""
        raise
    return str(newest[0]["payload"]["text"]) if newest else ""


def wait_for_lines(changes: Subscription, text: str, lines: int) -> str:
    """Follows the file's changes until it has `lines` lines: then it is this agent's turn."""
    while text.count("\n") < lines:
        text = str(changes.next(timeout=60)["payload"]["text"])
    return text


def agent(name: str, turn: int, failures: List[BaseException]) -> None:
    try:
        with Engram(URL, agent_id=name) as engram, engram.subscribe(CONTEXT, since=0) as changes:
            text = ""
            for round in range(ROUNDS):
                # agent-a edits when the file has 0, 2, 4 lines; agent-b when it has 1, 3, 5.
                text = wait_for_lines(changes, text, 2 * round + turn)
                with engram.lock(PATH, ttl=5, wait=30, context_id=CONTEXT) as lock:
                    current = read_file(engram)  # under the lock: nobody changes it meanwhile
                    edit = f"- {name}: edit {round + 1}\n"
                    written = lock.write(CONTEXT, {"path": PATH, "text": current + edit}, type="FILE_CHANGE")
                    say(f"{name} held {PATH} with token {lock.token} and wrote version {written.seq}: {edit.strip()}")
    except BaseException as e:
        failures.append(e)
        raise


def main() -> int:
    print(f"Engram at {URL}; the file {PATH} lives in the context {CONTEXT}")
    failures: List[BaseException] = []
    threads = [threading.Thread(target=agent, args=(name, turn, failures), name=name) for turn, name in enumerate(AGENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        print(f"an agent failed: {failures[0]!r}", file=sys.stderr)
        return 1

    # A lease is what keeps a lock; fencing is what makes that safe. agent-a takes the lock without
    # renewing it and "stalls" (a long GC pause, a slow tool call) past its lease.
    with Engram(URL, agent_id="agent-a") as a, Engram(URL, agent_id="agent-b") as b:
        stalled = a.acquire(PATH, ttl=1, context_id=CONTEXT)
        print(f"agent-a took {PATH} with token {stalled['token']} and stalled past its 1 s lease")
        # agent-b waits in line and gets the lock when agent-a's lease runs out.
        with b.lock(PATH, ttl=5, wait=30, context_id=CONTEXT) as lock:
            print(f"agent-b took {PATH} with token {lock.token} once agent-a's lease ran out")
            # agent-a wakes up and writes what it had prepared, with the token it still believes in.
            try:
                a.write(CONTEXT, {"path": PATH, "text": "agent-a's stale copy\n"}, type="FILE_CHANGE", fence=(PATH, stalled["token"]))
                print("agent-a's stale write was accepted (it should not be)")
                return 1
            except EngramError as e:
                print(f"agent-a's stale write refused: {e.code} (its token {stalled['token']}, the holder's {e.details.get('currentToken')})")
            edit = "- agent-b: edit after agent-a stalled\n"
            written = lock.write(CONTEXT, {"path": PATH, "text": read_file(b) + edit}, type="FILE_CHANGE")
            print(f"agent-b held {PATH} with token {lock.token} and wrote version {written.seq}: {edit.strip()}")
        print(f"final {PATH}:\n{read_file(a)}", end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
