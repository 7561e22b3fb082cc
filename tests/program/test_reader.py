"""One config reader: what the offline plan reads is what `pulumi up` hands the program.

The plan hands the program the stack's config as the Pulumi CLI does (unmerged: the teams file
is the program's to read), so these run the real program and compare what it registered.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given

from eks_access import stackfile
from offline import run
from tests import strategies
from tests.cli import test_bad_input
from tests.conftest import DEV, ROOT


def registered(stack_file: Path) -> list[tuple[str, str]]:
    result = run.run(stackfile.read(stack_file))
    return sorted((r.type, r.name) for r in result.resources)


@pytest.fixture
def dev_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(DEV.read_text())["config"]
    return config


def write(folder: Path, name: str, text: str) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", folder)
    path = folder / f"Pulumi.{name}.yaml"
    path.write_text(text)
    return path


def test_a_json_string_value_plans_as_the_program_reads_it(tmp_path, dev_config) -> None:
    """`pulumi config set eks-access:teams '[...]'` (no --path) stores a JSON string; the
    program's reader decodes it, so the plan does too."""
    plain = write(tmp_path, "plain", yaml.safe_dump({"config": dev_config}))
    as_text = dict(dev_config)
    as_text["eks-access:teams"] = json.dumps(dev_config["eks-access:teams"])
    as_text["eks-access:cluster"] = json.dumps(dev_config["eks-access:cluster"])
    text = write(tmp_path, "text", yaml.safe_dump({"config": as_text}))
    assert isinstance(yaml.safe_load(text.read_text())["config"]["eks-access:teams"], str)
    assert registered(text) == registered(plain)


MERGED = """config:
  aws:region: us-east-1
  eks-access:cluster: {name: dev, nodeRoleArns: [arn:aws:iam::111122223333:role/eks-node-group]}
  eks-access:teams:
    - &viewers
      name: auditors
      clusterAccess: view
      users: [carol]
    - <<: *viewers
      name: readers
      users: [dan]
"""


def test_yaml_anchors_and_merge_keys_plan_as_the_cli_reads_them(tmp_path) -> None:
    """yaml.v3 (the CLI) applies `<<: *viewers`; the plan refused it with a parser internal."""
    expanded = MERGED.replace("- &viewers", "-").replace(
        "- <<: *viewers\n      name: readers", "- name: readers\n      clusterAccess: view"
    )
    assert "<<" not in expanded and "&" not in expanded
    merged = stackfile.read(write(tmp_path, "merged", MERGED))
    readers = merged.raw["eks-access:teams"][1]
    assert readers == {"name": "readers", "clusterAccess": "view", "users": ["dan"]}
    assert registered(merged.path) == registered(write(tmp_path, "expanded", expanded))


def test_a_key_written_twice_beside_a_merge_key_is_still_an_error(tmp_path) -> None:
    text = "config:\n  b: &b {a: 1}\n  x:\n    <<: *b\n    c: 1\n    c: 2\n"
    with pytest.raises(stackfile.StackFileError, match="key 'c' first defined"):
        stackfile.read(write(tmp_path, "dup", text))
    # a key the merge brings in may be overridden: that is what merge keys are for
    ok = "config:\n  b: &b {a: 1}\n  x:\n    <<: *b\n    a: 2\n"
    assert stackfile.read(write(tmp_path, "ok", ok)).raw["eks-access:x"] == {
        "a": 2
    }  # the project's key


def test_the_program_reads_the_teams_file_itself(tmp_path, dev_config) -> None:
    """The plan hands the program `eks-access:teamsFile` unmerged, as the CLI does: a program
    that ignored the key would plan no users for these teams (this failed before: the plan
    merged the file in for the program, so the program's own reading was never exercised)."""
    teams = dev_config.pop("eks-access:teams")
    (tmp_path / "teams.yaml").write_text(yaml.safe_dump({"teams": teams}))
    dev_config["eks-access:teamsFile"] = "teams.yaml"
    stack = write(tmp_path, "file", yaml.safe_dump({"config": dev_config}))
    read = stackfile.read(stack)
    assert "eks-access:teams" not in read.raw  # handed over unmerged
    assert "teams.yaml" in read.sources
    users = {r.name for r in run.run(read).of_type("aws:iam/user:User")}
    assert any("alice" in n for n in users) and any("carol" in n for n in users), users


@given(strategies.config_encodings())
def test_every_encoding_the_cli_reads_gives_the_same_config(
    drawn: tuple[dict[str, Any], str],
) -> None:
    """JSON-string values and teams written through anchors and merge keys read as the plain
    config (the anchors' own key aside), through the one reader."""
    import tempfile

    config, text = drawn
    test_bad_input.record_drawn("encodings")
    with tempfile.TemporaryDirectory() as folder:
        read = stackfile.read(write(Path(folder), "enc", text))
    assert {k: v for k, v in read.raw.items() if "x-team" not in k} == config


def test_a_value_is_decoded_once_as_the_program_decodes_it(tmp_path, dev_config) -> None:
    """`eks-access:x: '"1"'`: the CLI hands the program the text `"1"`, which it decodes to the
    string "1"; the plan hands it the same text, not "1" decoded a second time to the number."""
    from eks_access import stackfile as sf

    for value in ["1", '"1"', "[1]", "null", "abc", "true"]:
        assert sf.program_value(sf.cli_text(sf.program_value(value))) == sf.program_value(value)
    dev_config["eks-access:teams"][0]["users"][0] = {"name": "eks_user", "keys": ["v1"]}
    dev_config["eks-access:pgpKey"] = '"keybase:alice"'  # a JSON string in the stack file
    read = stackfile.read(write(tmp_path, "q", yaml.safe_dump({"config": dev_config})))
    assert read.raw["eks-access:pgpKey"] == "keybase:alice"
    assert registered(read.path)  # the program reads it as the plan does: it plans
