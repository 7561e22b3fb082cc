"""The structure holds: the import layers (import-linter, `make lint`) catch an arrow that runs
back up, and the Pulumi SDK internals the project uses are still there and behave."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest

from components import sdk_internals
from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_the_layering_contract_catches_the_core_importing_the_runner(tmp_path: Path) -> None:
    # import-linter is in requirements-dev.txt (`make install`): missing, the test fails.
    assert LINT_IMPORTS.exists(), "import-linter is not installed: run `make install`"
    for name in ("eks_access", "components", "offline", "cli"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)

    def lint() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LINT_IMPORTS)], cwd=tmp_path, capture_output=True, text=True,
            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )  # fmt: skip

    assert lint().returncode == 0
    rbac = tmp_path / "eks_access" / "rbac.py"
    rbac.write_text(rbac.read_text() + "\nimport offline.plan  # noqa\n")
    broken = lint()
    assert broken.returncode != 0 and "eks_access.rbac -> offline.plan" in broken.stdout


def test_the_wire_sentinels_are_the_sdks() -> None:
    # Values documented in Pulumi's wire format (sdk/python/lib/pulumi/runtime/rpc.py).
    assert sdk_internals.SIG_KEY == "4dabf18193072939515e22adb298388d"
    assert sdk_internals.SECRET_SIG == "1b47061264138c4ac30d75fd1eb44270"
    assert sdk_internals.RESOURCE_SIG == "5cf8f73096256a8f31e491e813e4eb8e"
    assert sdk_internals.UNKNOWN == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    from google.protobuf import json_format

    wire = sdk_internals.serialize({"text": "x", "list": [1, "a"]})
    assert json_format.MessageToDict(wire) == {"text": "x", "list": [1.0, "a"]}


def test_a_program_runs_in_a_stack_and_sees_the_whole_config() -> None:
    from offline.mocks import PlaceholderCloud
    from offline.run import run_program

    seen: dict[str, object] = {}

    def program() -> None:
        seen.update(sdk_internals.stack_config())
        pulumi.export("ok", 1)

    result = run_program(program, PlaceholderCloud("111122223333", "us-east-1"),
                         config={"eks-access:teamz": [1], "aws:region": "us-east-1"})  # fmt: skip
    assert seen == {"eks-access:teamz": "[1]", "aws:region": "us-east-1"}
    assert result.outputs == {"ok": 1}


def test_the_program_can_wait_for_a_value_before_it_registers_anything() -> None:
    """The preflight reads an identity stack's outputs this way, inside the running program."""
    from offline.mocks import PlaceholderCloud
    from offline.run import run_program

    seen: list[object] = []

    async def later() -> str:
        await asyncio.sleep(0)
        return "ready"

    def program() -> None:
        seen.append(sdk_internals.wait(later()))
        ref = pulumi.StackReference("acme/eks-access/identity")
        seen.append(sdk_internals.wait(ref.get_output_details("users")).value)

    outputs = {"acme/eks-access/identity": {"users": {"alice": {"arn": "a"}}}}
    run_program(program, PlaceholderCloud("111122223333", "us-east-1", stack_outputs=outputs))
    assert seen == ["ready", {"alice": {"arn": "a"}}]


def test_the_policy_view_is_read_only_and_refuses_unknowns() -> None:
    view = sdk_internals.policy_view({"a": {"b": [1]}, "u": sdk_internals.UNKNOWN})
    assert view["a"]["b"][0] == 1 and not isinstance(view["a"], dict)
    from pulumi_policy.proxy import UnknownValueError

    with pytest.raises(UnknownValueError):
        _ = view["u"]
