"""ESC environments resolved offline as ESC resolves them, read through the one stack-file
reader the plan and the program share.

The expectations in ``fixtures/esc_cases.yaml`` are not ours alone: ``make e2e`` runs Pulumi
ESC's own evaluator on every case (and on environments drawn by ``strategies.esc_environments``)
and fails on any difference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given

from eks_access import esc, stackfile
from tests import strategies
from tests.cli import test_bad_input
from tests.conftest import ROOT

CASES = yaml.safe_load((Path(__file__).parent.parent / "fixtures" / "esc_cases.yaml").read_text())


def project(
    tmp_path: Path,
    environment: Any,
    files: dict[str, Any],
    config: Any = None,
    texts: dict[str, str] | None = None,
) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "esc").mkdir(exist_ok=True)
    for name, definition in files.items():
        (tmp_path / "esc" / f"{name}.yaml").write_text(yaml.safe_dump(definition))
    for name, text in (texts or {}).items():
        (tmp_path / "esc" / f"{name}.yaml").write_text(text)
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(yaml.safe_dump({"environment": environment, "config": config or {}}))
    return stack


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_each_case_resolves_or_stops_as_written(tmp_path: Path, case: dict[str, Any]) -> None:
    test_bad_input._record("esc-cases", len(CASES))
    stack = project(
        tmp_path, case["environment"], case.get("files", {}), texts=case.get("texts", {})
    )
    if "error" in case:
        with pytest.raises(stackfile.StackFileError) as e:
            stackfile.read(stack)
        assert case["error"] in str(e.value)
        assert "Pulumi.test.yaml" in str(e.value)  # the path is named
        return
    read = stackfile.read(stack)
    assert read.raw == case["expect"]["config"]
    assert read.secret_keys == frozenset(case["expect"].get("secrets", []))
    assert set(read.sources) >= {f"esc/{n}.yaml" for n in case.get("files", {})}
    assert set(read.sources) >= {f"esc/{n}.yaml" for n in case.get("texts", {})}


def test_the_stack_files_own_keys_win_and_are_not_secret(tmp_path: Path) -> None:
    files = {"base": {"values": {"pulumiConfig": {"o:t": {"fn::secret": "x"}, "eks-access:a": 1}}}}
    stack = project(tmp_path, ["base"], files, {"o:t": "mine", "eks-access:a": 2})
    read = stackfile.read(stack)
    assert read.raw == {"o:t": "mine", "eks-access:a": 2}
    assert read.secret_keys == frozenset()


def test_an_interpolated_group_grants_what_esc_grants(tmp_path: Path) -> None:
    """The issue's case: `resources: ["${res}"]` with `res: secrets` grants Secrets."""
    from eks_access import config as core

    team = {"name": "t", "users": ["u"], "namespaces": ["a"],
            "rules": [{"apiGroups": [""], "resources": ["${res}"], "verbs": ["get"]}]}  # fmt: skip
    files = {"base": {"values": {"res": "secrets", "pulumiConfig": {"eks-access:teams": [team]}}}}
    config = {
        "aws:region": "us-east-1",
        "eks-access:cluster": {"name": "c", "nodeRoleArns": ["arn:aws:iam::111122223333:role/n"]},
    }
    read = stackfile.read(project(tmp_path, ["base"], files, config))
    loaded = read.load()
    assert isinstance(loaded, core.StackConfig)
    assert list(loaded.teams[0].rules[0].resources) == ["secrets"]


@given(strategies.esc_environments())
def test_drawn_environments_resolve_or_stop_with_a_message(drawn: dict[str, Any]) -> None:
    """Nothing drawn ends in anything but a value or an EscError naming a place."""
    test_bad_input.record_drawn("esc-drawn")

    def load(name: str) -> tuple[str, Any] | None:
        found = drawn["files"].get(name.rsplit("/", 1)[-1])
        return None if found is None else (f"esc/{name}.yaml", found)

    try:
        resolved = esc.resolve(drawn["environment"], load, "Pulumi.t.yaml")
    except esc.EscError as e:
        assert "Pulumi.t.yaml" in str(e) or "esc/" in str(e)
        return
    assert all(isinstance(k, str) for k in resolved.config)
    assert resolved.secret_keys <= set(resolved.config)


def test_the_cli_merges_environment_and_stack_values_as_pulumi_does(tmp_path: Path) -> None:
    """pkg/workspace/config.go mergeConfig: a key without a namespace is the project's, and a
    value in both is merged (JSON merge patch, the stack file's preferred; null removes)."""
    files = {"base": {"values": {"pulumiConfig": {
        "teams": [{"name": "a"}],
        "eks-access:cluster": {"name": "c", "nodeRoleArns": ["n"], "tags": {"x": "1"}}}}}}  # fmt: skip
    config = {"eks-access:cluster": {"authenticationMode": "API", "tags": None}}
    read = stackfile.read(project(tmp_path, ["base"], files, config))
    assert read.raw["eks-access:teams"] == [{"name": "a"}]
    assert read.raw["eks-access:cluster"] == {"name": "c", "nodeRoleArns": ["n"],
                                              "authenticationMode": "API"}  # fmt: skip
