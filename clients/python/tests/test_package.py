"""`pip install ./clients/python` works offline, and the wheel and sdist hold what they should."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile
from pathlib import Path

import engram_server  # noqa: F401  (puts the client on sys.path)

import engram_client

PROJECT = engram_server.REPO / "clients" / "python"
sys.path.insert(0, str(PROJECT / "_build"))
import engram_build_backend as backend  # noqa: E402


def _pip(*args: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    # --no-index: no package index is asked for anything; the build backend is in the tree.
    return subprocess.run([sys.executable, "-m", "pip", *args, "--no-index"], capture_output=True, text=True, env=env, timeout=engram_server.WAIT)


class Package(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="engram-py-pkg-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_wheel_and_sdist_are_complete_and_reproducible(self) -> None:
        wheel = self.tmp / "w1" / backend.build_wheel(str(self.tmp / "w1"))
        with zipfile.ZipFile(wheel) as zf:
            names = set(zf.namelist())
            metadata = zf.read("engram_client-0.1.0.dist-info/METADATA").decode()
            record = zf.read("engram_client-0.1.0.dist-info/RECORD").decode()
            for line in record.splitlines():
                path, digest, size = line.split(",")
                if path.endswith("RECORD"):
                    continue
                data = zf.read(path)
                self.assertEqual(digest, "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode(), path)
                self.assertEqual(int(size), len(data), path)
        sources = {p.relative_to(PROJECT).as_posix() for p in (PROJECT / "engram_client").glob("*.py")}
        self.assertTrue(sources | {"engram_client/py.typed"} <= names, names)
        self.assertIn(f"Version: {engram_client.__version__}", metadata)
        self.assertIn("Requires-Dist: httpx>=0.23", metadata)
        self.assertIn("Requires-Dist: websockets>=10.4", metadata)

        # The sdist builds the same wheel, byte for byte, from its own files alone.
        sdist = self.tmp / "s" / backend.build_sdist(str(self.tmp / "s"))
        with tarfile.open(sdist) as tf:
            tf.extractall(self.tmp / "x")
        unpacked = self.tmp / "x" / "engram_client-0.1.0"
        rebuilt = subprocess.run(
            [sys.executable, "-c", "import sys, engram_build_backend as b; print(b.build_wheel(sys.argv[1]))", str(self.tmp / "w2")],
            cwd=unpacked / "_build",
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.assertEqual((self.tmp / "w2" / rebuilt).read_bytes(), wheel.read_bytes())

    def test_pip_installs_offline_into_an_environment_that_has_the_dependencies(self) -> None:
        # A venv that sees the system's httpx and websockets (Debian's python3-httpx, python3-websockets).
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(self.tmp / "venv")], check=True)
        python = self.tmp / "venv" / "bin" / "python"
        done = _pip("--python", str(python), "install", str(PROJECT))
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        imported = subprocess.run(
            [str(python), "-c", "import engram_client, os; print(engram_client.__file__); print(os.path.exists(os.path.join(os.path.dirname(engram_client.__file__), 'py.typed')))"],
            cwd=str(self.tmp),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        self.assertTrue(imported[0].startswith(str(self.tmp / "venv")), imported)
        self.assertEqual(imported[1], "True")

    def test_pip_installs_offline_into_a_target_directory(self) -> None:
        # --target ignores what is installed, so the dependencies (already on the system) are left out.
        done = _pip("install", "--no-deps", "--target", str(self.tmp / "target"), str(PROJECT))
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        imported = subprocess.run(
            [sys.executable, "-c", "import engram_client; print(engram_client.__file__, engram_client.Engram.__name__)"],
            cwd=str(self.tmp),
            env={**os.environ, "PYTHONPATH": str(self.tmp / "target")},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        self.assertEqual(imported, [str(self.tmp / "target" / "engram_client" / "__init__.py"), "Engram"])


if __name__ == "__main__":
    unittest.main()
