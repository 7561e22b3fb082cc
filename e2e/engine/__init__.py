"""Helpers around the AWS stand-in provider (``e2e/engine/standin.py``), for tests and smoke runs.

The stand-in keeps its EKS state (clusters, access entries, policy associations) in a JSON file,
because the engine starts a fresh provider process for each operation: every reader and writer
goes through :func:`locked_state`. IAM lives in a moto server instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
"""The repository root (``e2e.engine`` is importable from it)."""

PLUGIN_NAME = "pulumi-resource-aws"

# flock() excludes other processes and other open file descriptions; this lock also serialises
# the threads of one provider process, which the engine calls concurrently.
_THREAD_LOCK = threading.RLock()


def empty_state() -> dict[str, Any]:
    return {"clusters": {}, "accessEntries": {}, "associations": {}}


@contextlib.contextmanager
def locked_state(path: str | os.PathLike[str], write: bool = True) -> Iterator[dict[str, Any]]:
    """The EKS state, held under an exclusive lock; written back on a clean exit when ``write``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with _THREAD_LOCK, open(p, "a+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            f.seek(0)
            text = f.read()
            state = empty_state()
            if text.strip():
                state.update(json.loads(text))
            yield state
            if write:
                f.seek(0)
                f.truncate()
                f.write(json.dumps(state, indent=1, sort_keys=True))
                f.flush()
                os.fsync(f.fileno())
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A snapshot of the EKS state (for assertions)."""
    with locked_state(path, write=False) as state:
        snapshot: dict[str, Any] = json.loads(json.dumps(state))
        return snapshot


def add_cluster(
    path: str | os.PathLike[str],
    name: str,
    *,
    authentication_mode: str = "API_AND_CONFIG_MAP",
    endpoint: str = "https://127.0.0.1:6443",
    ca_data: str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
    version: str = "1.33",
) -> None:
    """Put a cluster into the EKS state, as ``aws.eks.get_cluster`` will find it."""
    with locked_state(path) as state:
        state["clusters"][name] = {
            "name": name,
            "endpoint": endpoint,
            "caData": ca_data,
            "authenticationMode": authentication_mode,
            "version": version,
        }


def write_launcher(bin_dir: str | os.PathLike[str], python: str | None = None) -> Path:
    """Write ``pulumi-resource-aws`` into ``bin_dir``: the engine runs it from PATH.

    Generated at run time (it names this machine's interpreter), never committed.
    """
    folder = Path(bin_dir)
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / PLUGIN_NAME
    interpreter = shlex.quote(python or sys.executable)
    root = shlex.quote(str(ROOT))
    # -P: the engine starts plugins in the program's folder; keep that folder off sys.path.
    exe.write_text(
        "#!/bin/sh\n"
        f'PYTHONPATH={root}"${{PYTHONPATH:+:$PYTHONPATH}}"\n'
        "export PYTHONPATH\n"
        f'exec {interpreter} -P -m e2e.engine.standin "$@"\n'
    )
    exe.chmod(0o755)
    return exe
