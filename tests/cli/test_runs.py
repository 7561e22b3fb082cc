"""Files, signals and exit of the commands that run the program: a plan replaces only its own
files, Ctrl-C ends a run in two seconds with one line (never half a plan), and no run ends in
a traceback after its result (the runtime's event loop is closed by the command itself).

The many-runs check is in ``make test-full`` (``-m full``), which CI runs; ``make test`` skips
it."""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from offline import plan
from tests.conftest import DEV, ROOT, cli

FIXTURES = Path(__file__).parent.parent / "fixtures" / "adopt"


def test_a_plan_never_replaces_or_removes_files_another_tool_keeps(tmp_path: Path) -> None:
    """`--out .` in a repository that keeps its own rbac.yaml: refused before anything runs,
    the file intact; a folder the plan owns is replaced whole, other files left alone."""
    theirs = tmp_path / "rbac.yaml"
    theirs.write_text("# kept by another tool\n")
    proc = cli("plan", "--config-file", str(DEV), "--out", str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "holds rbac.yaml, which no eks-access plan wrote" in proc.stderr
    assert theirs.read_text() == "# kept by another tool\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rbac.yaml"]

    out = tmp_path / "plan"
    out.mkdir()
    (out / "notes.md").write_text("mine\n")
    assert cli("plan", "--config-file", str(DEV), "--out", str(out)).returncode == 0
    marker = json.loads((out / plan.MARKER).read_text())["files"]
    assert set(marker) >= {"plan.json", "rbac.yaml", "policy.json"}
    assert all((out / n).is_file() for n in marker)
    # a plan that fails removes its own files only
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  aws:region: us-east-1\n")  # no cluster: a config error
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    assert cli("plan", "--config-file", str(bad), "--out", str(out)).returncode == 2
    assert sorted(p.name for p in out.iterdir()) == ["notes.md"]


def test_a_folder_written_before_markers_is_still_the_plans_own(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("plan", "--config-file", str(DEV), "--out", str(out)).returncode == 0
    (out / plan.MARKER).unlink()  # as a plan of the previous release left it
    assert plan.owned(out) == set(plan.FILES)
    assert cli("plan", "--config-file", str(DEV), "--out", str(out)).returncode == 0


def big_stack(folder: Path, principals: int) -> Path:
    from bench import org

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")
    path = folder / "Pulumi.big.yaml"
    path.write_text(yaml.safe_dump({"config": org.org(principals)}))
    return path


HANG = 20.0
"""Seconds after which an interrupted plan is taken for hung (it ends in about one)."""


@pytest.mark.parametrize("after", [0.5, 3.0])
def test_ctrl_c_ends_a_plan_with_one_line(tmp_path: Path, after: float) -> None:
    """Early (imports, config) and late (the SDK waiting for thousands of registrations): exit
    130, one line, no traceback; the folder holds no plan or a whole one. How fast is measured
    by `make bench` (docs/cli.md), never asserted here; the bound below only catches a hang."""
    stack = big_stack(tmp_path, 3000)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "eks_access", "plan", "--config-file", str(stack), "--out",
         str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(after)
    assert proc.poll() is None, "the plan ended before it was interrupted"
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert took < HANG, took
    assert err.strip().splitlines() == ["interrupted: stopped (no plan is left half written)"]
    if out.exists():
        listed = json.loads((out / plan.MARKER).read_text())["files"] if any(out.iterdir()) else []
        assert all((out / n).is_file() for n in listed)
        assert not [p for p in out.iterdir() if p.name.startswith(f"{plan.MARKER}-")]


def program_runs(tmp_path: Path) -> list[list[str]]:
    """Every command that runs the program, once each, in the same folder layout."""
    project = tmp_path / "proj"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    dev = str(DEV)
    return [
        ["plan", "--config-file", dev, "--out", str(tmp_path / "out-{n}")],
        ["review", "--base", "HEAD", "--config-file", dev, "--format", "json"],
        ["migrate", "--config-file", dev, "--to", "API_AND_CONFIG_MAP"],
        ["import", "--aws-auth", str(FIXTURES / "aws-auth.yaml"), "--rbac",
         str(FIXTURES / "rbac.yaml"), "--cluster", "prod", "--region", "us-east-1",
         "--out", str(project / "Pulumi.i{n}.yaml")],
    ]  # fmt: skip


@pytest.mark.full
def test_no_run_ends_in_a_traceback_after_its_result(tmp_path: Path) -> None:
    """Each program-running command 24 times, two at a time (more under load): stderr never
    holds a traceback or "Exception ignored" (the event loop collected at exit)."""
    commands = program_runs(tmp_path)
    runs = [[a.replace("{n}", str(n)) for a in argv] for n in range(24) for argv in commands]
    with concurrent.futures.ThreadPoolExecutor(max_workers=(os.cpu_count() or 2)) as pool:
        done = list(pool.map(lambda argv: (argv, cli(*argv)), runs))
    bad = [f"{argv[0]} (exit {p.returncode}): {p.stderr[-600:]}" for argv, p in done
           if "Traceback" in p.stderr or "Exception ignored" in p.stderr]  # fmt: skip
    assert not bad, "\n\n".join(bad[:5])
    assert {p.returncode for _, p in done} <= {0, 1}, [p.stderr for _, p in done][:3]


def test_a_signal_during_a_swap_waits_for_the_swap() -> None:
    """Ctrl-C (delivered to any thread, as the SDK's workers may take it) is held back while
    the folder changes and raised right after: the swap is never cut in half."""
    import threading

    from offline import interrupt

    steps = []
    with interrupt.handled(), pytest.raises(KeyboardInterrupt):
        with interrupt.held():
            worker = threading.Thread(target=lambda: os.kill(os.getpid(), signal.SIGINT))
            worker.start()
            worker.join()
            time.sleep(0.05)  # the handler would run here, at the next bytecode
            steps.append("swapped")
        steps.append("not reached")
    assert steps == ["swapped"]


def test_an_interrupt_while_the_command_line_loads_says_the_same_line() -> None:
    """Ctrl-C before the handler is installed (the command line still importing) ends the same
    way: the texts written there are the handler's own."""
    import cli.main
    from offline import interrupt

    assert cli.main.INTERRUPTED_LINE == interrupt.LINE
    assert f'"{interrupt.LINE.strip()}' in (ROOT / "eks_access" / "__main__.py").read_text()
    assert interrupt.EXIT_INTERRUPTED == 130
    # The import itself interrupted: one line, exit 130, no traceback.
    code = (
        "import builtins, runpy, sys\n"
        "real = builtins.__import__\n"
        "def imp(name, *a, **k):\n"
        "    if name == 'offline' or name.startswith('offline.'):\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = imp\n"
        "sys.argv = ['eks-access', '--version']\n"
        "runpy.run_module('eks_access', run_name='__main__')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (130, interrupt.LINE), proc.stderr
