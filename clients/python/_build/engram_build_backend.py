"""A PEP 517 (and PEP 660) build backend in the standard library alone.

``pip install ./clients/python`` builds in an isolated environment and would first fetch the
backend named in ``[build-system] requires`` (setuptools, say) from a package index. This one
lives in the tree (``backend-path = ["_build"]``) and needs nothing, so the install works
offline. It builds a pure-Python wheel of the ``engram_client`` package, an sdist, and an
editable wheel, from the ``[project]`` table of pyproject.toml (the subset this project uses).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "engram_client"
# Files of the sdist besides the package: what a build from it needs.
SDIST_FILES = ["pyproject.toml", "README.md", "_build/engram_build_backend.py"]
# Fixed timestamps make two builds of the same tree byte-identical.
EPOCH_ZIP = (1980, 1, 1, 0, 0, 0)
EPOCH_TAR = 315532800


# ---- pyproject.toml ----


def _project() -> Dict[str, Any]:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        raw = f.read()
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        return _parse_project_table(raw.decode("utf-8"))
    return dict(tomllib.loads(raw.decode("utf-8"))["project"])


def _parse_project_table(text: str) -> Dict[str, Any]:
    """The ``[project]`` table's strings and lists of strings (for Pythons without tomllib)."""
    project: Dict[str, Any] = {}
    in_project = False
    pending: Optional[Tuple[str, str]] = None
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].strip() if '"' not in line else line.strip()
        if pending is not None:
            key, acc = pending
            acc += " " + stripped
            if "]" in stripped:
                project[key] = re.findall(r'"((?:[^"\\]|\\.)*)"', acc)
                pending = None
            else:
                pending = (key, acc)
            continue
        if stripped.startswith("["):
            in_project = stripped == "[project]"
            continue
        if not in_project or "=" not in stripped:
            continue
        key, value = (part.strip() for part in stripped.split("=", 1))
        if value.startswith("["):
            if "]" in value:
                project[key] = re.findall(r'"((?:[^"\\]|\\.)*)"', value)
            else:
                pending = (key, value)
        elif value.startswith('"'):
            project[key] = value[1 : value.rindex('"')]
    return project


def _dist_name(project: Dict[str, Any]) -> str:
    return re.sub(r"[-_.]+", "_", str(project["name"])).lower()


def _metadata(project: Dict[str, Any]) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
    ]
    if "description" in project:
        lines.append(f"Summary: {project['description']}")
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    for dep in project.get("dependencies", []):
        lines.append(f"Requires-Dist: {dep}")
    readme = project.get("readme")
    body = ""
    if isinstance(readme, str) and os.path.exists(os.path.join(ROOT, readme)):
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(ROOT, readme), encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


# ---- wheels ----


def _package_files() -> List[str]:
    """The package's files, relative to ROOT, sorted; no caches."""
    out: List[str] = []
    for directory, dirs, files in os.walk(os.path.join(ROOT, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".typed")):
                out.append(os.path.relpath(os.path.join(directory, name), ROOT).replace(os.sep, "/"))
    return out


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{path},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory: str, entries: List[Tuple[str, bytes]], project: Dict[str, Any]) -> str:
    name, version = _dist_name(project), str(project["version"])
    dist_info = f"{name}-{version}.dist-info"
    wheel_meta = "Wheel-Version: 1.0\nGenerator: engram_build_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entries = entries + [
        (f"{dist_info}/METADATA", _metadata(project).encode("utf-8")),
        (f"{dist_info}/WHEEL", wheel_meta.encode("ascii")),
        (f"{dist_info}/top_level.txt", f"{PACKAGE}\n".encode("ascii")),
    ]
    record = "\n".join([_record_line(p, d) for p, d in entries] + [f"{dist_info}/RECORD,,"]) + "\n"
    entries.append((f"{dist_info}/RECORD", record.encode("utf-8")))
    filename = f"{name}-{version}-py3-none-any.whl"
    os.makedirs(wheel_directory, exist_ok=True)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in entries:
            info = zipfile.ZipInfo(path, EPOCH_ZIP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return filename


def _read(path: str) -> bytes:
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    project = _project()
    dist_info = f"{_dist_name(project)}-{project['version']}.dist-info"
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata(project))
    return dist_info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None, metadata_directory: Optional[str] = None) -> str:
    return _write_wheel(wheel_directory, [(p, _read(p)) for p in _package_files()], _project())


def build_editable(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None, metadata_directory: Optional[str] = None) -> str:
    """A wheel holding only a .pth file that puts this tree on sys.path (``pip install -e``)."""
    project = _project()
    pth = (f"_{_dist_name(project)}_editable.pth", (ROOT + "\n").encode("utf-8"))
    return _write_wheel(wheel_directory, [pth], project)


# ---- sdist ----


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    project = _project()
    base = f"{_dist_name(project)}-{project['version']}"
    files = [(p, _read(p)) for p in _package_files() + SDIST_FILES if os.path.exists(os.path.join(ROOT, p))]
    files.append(("PKG-INFO", _metadata(project).encode("utf-8")))
    os.makedirs(sdist_directory, exist_ok=True)
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for path, data in sorted(files):
            info = tarfile.TarInfo(f"{base}/{path}")
            info.size = len(data)
            info.mtime = EPOCH_TAR
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return filename
