"""An uploaded file kept between its preview and its import: the preview page carries only a random
token, and the import reads the same bytes the preview read. Kept under the system's temporary folder
(shared by the workspace's processes on one machine), by token, under the file's own name, because an
import is recorded by its file name; removed once imported, or after `KEEP` unused."""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from pipeline.errors import Invalid

KEEP = 3600.0  # seconds an upload waits for its import
TOKEN = re.compile(r"[0-9a-f]{32}")


def _root() -> Path:
    root = Path(tempfile.gettempdir()) / "comms-uploads"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def keep(upload: FileStorage, default_name: str) -> tuple[str, Path]:
    """Store an upload; returns its token and where it is."""
    _tidy()
    token = secrets.token_hex(16)
    folder = _root() / token
    folder.mkdir(mode=0o700)
    path = folder / (secure_filename(upload.filename or "") or default_name)
    upload.save(path)
    return token, path


def find(token: str) -> Path:
    """The upload with this token; Invalid if it is gone (imported, or kept too long)."""
    folder = _root() / token if TOKEN.fullmatch(token or "") else None
    files = sorted(folder.iterdir()) if folder is not None and folder.is_dir() else []
    if not files:
        raise Invalid("the uploaded file is no longer here (it was imported, or waited over an hour): upload it again")
    return files[0]


def drop(token: str) -> None:
    if TOKEN.fullmatch(token or ""):
        shutil.rmtree(_root() / token, ignore_errors=True)


def _tidy() -> None:
    cutoff = time.time() - KEEP
    for folder in _root().iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue
