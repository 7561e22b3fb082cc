"""Shared fixtures: the dev stack, and running programs under the mock runtime."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings

from eks_access import config as core
from eks_access import stackfile

# No test asserts a duration (benchmarks measure): hypothesis' deadline and too-slow check are
# off. `.ci/run` and the workflows set HYPOTHESIS_PROFILE=ci: the same examples on every run (for
# the pinned hypothesis), so a landing never turns on the draw. Elsewhere each run draws new ones
# and replays past failures from .hypothesis/. Both profiles are built on hypothesis' own
# default, not on whatever it loaded itself (it loads a derandomized profile when CI is set).
_UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
_BASE = settings.get_profile("default")
settings.register_profile("local", parent=_BASE, **_UNTIMED)
settings.register_profile(
    "ci", parent=_BASE, derandomize=True, database=None, print_blob=True, **_UNTIMED
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "local"))

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "Pulumi.dev.yaml"
NODE_ROLE = "arn:aws:iam::111122223333:role/eks-node-group"


def minimal_raw(**teams_and_more: Any) -> dict[str, Any]:
    """A small valid raw config; keyword arguments replace or add keys."""
    raw: dict[str, Any] = {
        "aws:region": "us-east-1",
        "eks-access:cluster": {"name": "demo", "nodeRoleArns": [NODE_ROLE]},
        "eks-access:teams": [],
    }
    raw.update(teams_and_more)
    return raw


@pytest.fixture
def dev_raw() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(DEV.read_text())["config"])


@pytest.fixture
def dev_config() -> core.StackConfig:
    return stackfile.read(DEV).load()


def write_stack(tmp_path: Path, raw: dict[str, Any], stack: str = "test") -> Path:
    """A project folder holding the real program and a stack file with ``raw`` as config."""
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": raw}, sort_keys=False))
    return path


def _fuzz_counts_dir() -> Path:
    from tests.program import test_fuzz

    return test_fuzz.COUNTS_DIR


def pytest_sessionstart(session: Any) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller (or the only process)
        import shutil

        from tests.cli import test_bad_input

        shutil.rmtree(_fuzz_counts_dir(), ignore_errors=True)
        shutil.rmtree(test_bad_input.COUNTS_DIR, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the fuzz suite's counts (tests/program/test_fuzz.py), added up over its halves."""
    import json
    from collections import Counter

    from tests.program import test_fuzz

    counts: Counter[str] = Counter()
    mutations: Counter[str] = Counter()
    for part in sorted(_fuzz_counts_dir().glob("*.json")):
        data = json.loads(part.read_text())
        counts.update(data["counts"])
        mutations.update(data["mutations"])
    from tests.cli import test_bad_input

    corpus = test_bad_input.summary()
    if counts["tried"] or corpus:
        terminalreporter.write_sep("-", "bad input, measured")
    if counts["tried"]:
        terminalreporter.write_line(test_fuzz.summary(counts, mutations))
    if corpus:
        terminalreporter.write_line(corpus)


@dataclass(frozen=True)
class Invoked:
    """What a command returned and printed, under subprocess.CompletedProcess's names."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def invoke(capsys: Any, monkeypatch: Any) -> Callable[..., Invoked]:
    """The command line in this process (``cli.main.main``, as `eks-access ARGS` runs it from
    ``cwd``): fast, for every test that needs no process of its own. ``cli`` below runs one
    (signals, the process's exit, a program that must fail: a failed run can leave the SDK's
    pending work behind in the process)."""
    from cli.main import main

    def run(*args: str, cwd: Path = ROOT) -> Invoked:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Invoked(code, out, err)

    return run


def cli(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m eks_access ARGS` in its own process (as users run it: exit code, stdout and
    stderr), from ``cwd``, with ``env`` added to the environment; the one helper the tests
    that need a process share (``invoke`` runs a command in the test's process)."""
    return subprocess.run(
        [sys.executable, "-m", "eks_access", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        check=False,
        timeout=300,
    )
