"""The plan a change starts from: the state the previous `pulumi up` left, as an offline plan.

Two ways to get it: a previous plan's output folder (``--base-out``), or a git ref (``--base``).
At a ref, the whole tree is taken (stack files, team files, ESC environment files, and the
program as it was then), and planned by the program of that tree when the tree holds one, so a
change to the program itself shows in the operations; a tree without the program (a folder of
stack files) is planned by the current program.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from eks_access import clock
from eks_access.operations import Registration
from eks_access.stackfile import StackFile
from eks_access.stackfile import read as read_stack
from offline.run import RunResult, program_of, run


class BaseError(ValueError):
    """The base plan cannot be made (an unknown ref, a base the program refuses)."""


def load_plan(folder: Path) -> RunResult:
    """A plan written by ``plan --out`` (``plan.json`` and ``outputs.json``)."""
    try:
        doc = json.loads((folder / "plan.json").read_text())
        outputs = json.loads((folder / "outputs.json").read_text())
    except (OSError, ValueError) as e:
        raise BaseError(
            f"{folder}: not a plan's output folder ({e.__class__.__name__}: {e})"
        ) from None
    resources = [Registration.from_json(r) for r in doc.get("resources", [])]
    return RunResult(resources=resources, outputs=outputs)


def _git(where: Path, *argv: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *argv], cwd=where, capture_output=True, check=False)


@contextmanager
def tree_at(ref: str, inside: Path) -> Iterator[tuple[Path, Path]]:
    """The repository's tree at ``ref``, extracted to a temporary folder: (repo top, folder)."""
    if _git(inside, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise BaseError(f"{ref!r} is not a commit in the repository of {inside}")
    top = Path(_git(inside, "rev-parse", "--show-toplevel").stdout.decode().strip())
    archive = _git(top, "archive", "--format=tar", ref)
    with tempfile.TemporaryDirectory(prefix="eks-access-base-") as tmp:
        try:
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                tar.extractall(tmp, filter="data")
        except tarfile.ReadError:
            pass  # an empty tree at the base: every stack is new
        yield top, Path(tmp)


def plan_at(
    stack: StackFile, ref: str, tree: tuple[Path, Path], at: datetime | None = None
) -> RunResult:
    """The offline plan of ``stack`` as it was at ``ref`` (empty if the stack is new since),
    as it granted at ``at`` (default: the head's time, ``clock.now()``)."""
    top, folder = tree
    at_base = folder / stack.path.resolve().relative_to(top)
    if not at_base.is_file():
        return RunResult()
    project = folder / stack.project_dir.resolve().relative_to(top)
    with clock.fixed(at or clock.now()):
        if (project / "__main__.py").is_file() and (project / "eks_access").is_dir():
            return _plan_with_its_program(at_base, project, ref)
        return run(read_stack(at_base), main=program_of(stack))


def _plan_with_its_program(stack_file: Path, project: Path, ref: str) -> RunResult:
    """Run the base tree's own `plan` in a child process (its modules, not ours)."""
    out = project / ".eks-access-base-plan"
    argv = [sys.executable, "-m", "eks_access", "plan", "--config-file", str(stack_file)]
    argv += ["--out", str(out)]
    cli_source = "".join(p.read_text() for p in (project / "eks_access").glob("*.py"))
    if "--acknowledge-lockout" in cli_source:
        argv.append("--acknowledge-lockout")  # the base is the state as it is, lockout or not
    cli = [p.read_text() for p in (project / "cli").rglob("*.py")]
    if any('"--at"' in text for text in cli):  # the time asked for (clock.fixed by plan_at)
        argv += ["--at", clock.written(clock.now())]
    env = {**os.environ, "PYTHONPATH": str(project)}
    proc = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, check=False)
    if not (out / "plan.json").is_file():
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise BaseError(
            f"the program at {ref} could not plan {stack_file.name} (exit {proc.returncode}): "
            + " / ".join(detail)
            + "; plan that commit yourself and pass its output folder with --base-out"
        )
    return load_plan(out)
