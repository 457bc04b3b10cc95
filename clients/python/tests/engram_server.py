"""Starts the real bin/engram (built by `make build`) for the tests, as test/helpers/server.ts does.

The server listens on loopback with a temp data dir; its first stdout line names the address it
bound, and a later line says its storage is ready. Also: waiting on conditions with a deadline.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[3]
ENGRAM_BIN = REPO / "bin" / "engram"
# Make the client importable without installing it.
sys.path.insert(0, str(REPO / "clients" / "python"))

#: The bound of every wait: it ends as soon as its condition holds, so a generous one costs
#: nothing on a fast machine and only turns a hang into a failure on a slow one.
WAIT = 60.0


def wait_until(check: Callable[[], Any], what: str, timeout: float = WAIT, every: float = 0.02) -> Any:
    """Polls ``check`` until it returns something truthy, and returns that; fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


class Server:
    """One `engram serve` child process: ``url`` once started; ``stop()`` and ``start()`` again keep the data dir and port."""

    def __init__(self, *, port: int = 0, data_dir: Optional[str] = None, args: Sequence[str] = ()) -> None:
        self.port = port
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="engram-py-test-")
        self.args = list(args)
        self.url = ""
        self.proc: Optional[subprocess.Popen[str]] = None
        self.lines: List[str] = []
        self._reader: Optional[threading.Thread] = None
        self._changed = threading.Condition()

    def start(self) -> "Server":
        cmd = [str(ENGRAM_BIN), "serve", "--addr", f"127.0.0.1:{self.port}", "--grpc-enabled", "false", "--data-dir", self.data_dir, *self.args]
        # A list of this run's own: the previous run's reader may still be draining its pipe.
        self.lines = []
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(REPO))
        self.proc = proc
        self._reader = threading.Thread(target=self._read, args=(proc, self.lines), daemon=True)
        self._reader.start()
        first = self.wait_for_line(lambda r: True, "the listening line")
        if first.get("msg") != "engram listening":
            raise RuntimeError(f"unexpected first line: {first}")
        self.url = str(first["url"])
        self.port = int(str(first["addr"]).rsplit(":", 1)[1])
        self.wait_for_line(lambda r: r.get("msg") == "storage ready", "storage ready")
        return self

    def _read(self, proc: "subprocess.Popen[str]", lines: List[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, match: Callable[[Dict[str, Any]], bool], what: str, timeout: float = WAIT) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict) and match(record):
                        return record
                seen = len(self.lines)
                if self._reader is not None and not self._reader.is_alive() and seen == len(self.lines):  # its output ended: it exited
                    raise ServerExited(f"server exited before {what}: " + "\n".join(self.lines[-20:]))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for the server's {what}")
                self._changed.wait(min(left, 0.5))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stops the process (SIGTERM: a clean shutdown; SIGKILL: a crash) and returns its exit status."""
        proc = self.proc
        if proc is None:
            return 0
        if proc.poll() is None:
            proc.send_signal(sig)
        code = proc.wait(WAIT)
        if self._reader is not None:
            self._reader.join(WAIT)
        if proc.stdout is not None:
            proc.stdout.close()
        self.proc = None
        return code

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)


class ServerExited(RuntimeError):
    pass


def start_on_fixed_port(**options: Any) -> Server:
    """A server on a random port below Linux's ephemeral range, so a restart can bind it again at once."""
    last: Optional[Exception] = None
    for _ in range(20):
        server = Server(port=20000 + random.randrange(10000), **options)
        try:
            return server.start()
        except ServerExited as e:  # the port was taken: try another
            last = e
            shutil.rmtree(server.data_dir, ignore_errors=True)
    raise RuntimeError(f"no free port found: {last}")
