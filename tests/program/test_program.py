"""The real `__main__.py` on the dev stack and on edited copies, under the mock runtime."""

from __future__ import annotations

import json
import subprocess
import sys

import pulumi
import pytest
import yaml

from eks_access import config as core
from eks_access import stackfile
from offline import plan
from offline.run import run
from tests.conftest import DEV, ROOT, minimal_raw, write_stack


@pytest.fixture(scope="module")
def dev_plan(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan")
    proc = subprocess.run(
        [sys.executable, "-m", "eks_access", "plan", "--config-file", str(DEV), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out, proc.stdout


def test_plan_shows_the_seeds_user_policy_key_mapping_and_role(dev_plan):
    out, stdout = dev_plan
    iam = json.loads((out / "iam.json").read_text())
    eks_user = next(u for u in iam["users"] if u["name"] == "eks_user")
    assert eks_user["accessKeys"] == [{"resource": "eks_user-key-v1", "pgpEncrypted": False}]
    assert eks_user["consoleLogin"] is False
    group = next(g for g in iam["groups"] if g["name"] in eks_user["groups"])
    assert group["policies"][0]["Statement"][0]["Action"] == "eks:DescribeCluster"
    assert (
        group["policies"][0]["Statement"][0]["Resource"]
        == "arn:aws:eks:us-east-1:111122223333:cluster/dev"
    )

    (aws_auth,) = yaml.safe_load_all((out / "aws-auth.yaml").read_text())
    users = yaml.safe_load(aws_auth["data"]["mapUsers"])
    assert {
        "userarn": "arn:aws:iam::111122223333:user/eks_user",
        "username": "eks_user",
        "groups": ["eks-access:seed"],
    } in users
    roles = yaml.safe_load(aws_auth["data"]["mapRoles"])
    assert "arn:aws:iam::111122223333:role/AWSReservedSSO_PaymentsDev_0123456789abcdef" in {
        r["rolearn"] for r in roles
    }

    objs = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
        for o in yaml.safe_load_all((out / "rbac.yaml").read_text())
    }
    assert objs[("Role", "default", "test")]["rules"][0]["verbs"] == [
        "create",
        "delete",
        "get",
        "list",
        "patch",
        "update",
    ]
    assert objs[("RoleBinding", "default", "test")]["subjects"][0]["name"] == "eks_user"
    assert "placeholders" in stdout


def test_plan_never_contains_a_secret_value(dev_plan):
    out, stdout = dev_plan
    text = stdout + "".join(p.read_text() for p in out.iterdir())
    assert "placeholder-secret-" not in text
    assert json.loads((out / "outputs.json").read_text())["accessKeySecrets"] == "[secret]"


def test_invalid_config_exits_2_with_paths_and_writes_nothing(tmp_path, dev_raw):
    dev_raw["eks-access:teams"][0]["users"].append({"name": "eve", "username": "system:eve"})
    dev_raw["eks-access:teams"][1]["namespaces"].append("Bad_NS")
    stack = write_stack(tmp_path, dev_raw)
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "eks_access",
            "plan",
            "--config-file",
            str(stack),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert (
        "teams[0].users[1].username: username 'system:eve' starts with the reserved prefix"
        in proc.stderr
    )
    assert "teams[1].namespaces[2]: 'Bad_NS' is not a DNS-1123 label" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_program_itself_stops_on_bad_config_before_registering_anything(tmp_path, dev_raw):
    dev_raw["eks-access:teams"][0]["users"][0]["keys"] = ["a", "b", "c"]
    with pytest.raises(
        pulumi.RunError, match=r"teams\[0\]\.users\[0\]\.keys: an IAM user can hold at most 2"
    ):
        run(stackfile.read(write_stack(tmp_path, dev_raw)))


def resources(result):
    return {r.urn: r for r in result.resources}


def test_adding_one_user_adds_its_resources_and_changes_only_map_users(tmp_path, dev_raw):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    before = resources(run(stackfile.read(write_stack(tmp_path / "a", dev_raw))))
    dev_raw["eks-access:teams"][1]["users"].append("dave")
    after = resources(run(stackfile.read(write_stack(tmp_path / "b", dev_raw))))
    added = {after[u].name for u in after.keys() - before.keys()}
    assert added == {"dave", "dave-user", "dave-groups"}
    assert before.keys() <= after.keys()
    changed = {u for u in before if before[u].inputs != after[u].inputs}
    (patch_urn,) = changed
    assert after[patch_urn].type == "kubernetes:core/v1:ConfigMapPatch"
    assert (
        before[patch_urn].inputs["data"]["mapRoles"] == after[patch_urn].inputs["data"]["mapRoles"]
    )


def test_moving_a_user_between_teams_keeps_the_user_and_its_keys(tmp_path, dev_raw):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    before = resources(run(stackfile.read(write_stack(tmp_path / "a", dev_raw))))
    alice = dev_raw["eks-access:teams"][1]["users"].pop(0)
    dev_raw["eks-access:teams"][2]["users"].append(alice)
    after = resources(run(stackfile.read(write_stack(tmp_path / "b", dev_raw))))
    assert before.keys() == after.keys()
    changed = {after[u].name for u in before if before[u].inputs != after[u].inputs}
    assert changed == {"alice-groups", "aws-auth-patch"}


def test_summary_counts_match_the_files(dev_plan):
    out, stdout = dev_plan
    plan_doc = json.loads((out / "plan.json").read_text())
    custom = [r for r in plan_doc["resources"] if r["custom"]]
    assert f"{len(custom)} resources would be created" in stdout
    assert plan.PLACEHOLDER_NOTE.split(":")[0] in plan_doc["note"]


def test_access_evaluation_reads_exactly_what_the_program_registers(dev_plan, dev_config):
    # can-i evaluates the core's RBAC objects; they must be the ones `pulumi up` would apply.
    from eks_access import rbac

    out, _ = dev_plan
    planned = sorted(
        json.dumps(d, sort_keys=True) for d in yaml.safe_load_all((out / "rbac.yaml").read_text())
    )
    core_objs = sorted(
        json.dumps(o.manifest, sort_keys=True) for o in rbac.all_objects(dev_config.teams)
    )
    assert planned == core_objs


def test_aws_auth_near_the_object_limit_warns_and_past_it_stops_before_anything(monkeypatch):
    from eks_access import awsauth
    from tests.unit.test_modes import CountingCloud

    stack = stackfile.read(DEV)
    size = awsauth.data_size(awsauth.render(_dev_principals()))
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda msg, *a, **k: warnings.append(msg))
    monkeypatch.setattr(awsauth, "MAX_BYTES", int(size / 0.9))  # the dev stack is at 90%
    run(stack)
    assert len(warnings) == 1 and "90% of the 1 MiB object limit" in warnings[0]
    assert "access entries" in warnings[0]

    monkeypatch.setattr(awsauth, "MAX_BYTES", size - 1)
    CountingCloud.created = 0
    with pytest.raises(
        pulumi.RunError, match=r"eks-access:teams: aws-auth would be .* access entries"
    ):
        run(stack, CountingCloud("111122223333", "us-east-1"))
    assert CountingCloud.created == 0


def _dev_principals():
    from eks_access.principals import principals

    return principals(stackfile.read(DEV).load(), "111122223333")


@pytest.mark.parametrize(
    ("key", "value"),
    [("eks-access:teamsFile", "0"), ("eks-access:identity", "0"), ("eks-access:teamsFile", 0)],
)
def test_the_plan_reads_a_scalar_as_the_program_gets_it(tmp_path, key, value):
    """The Pulumi CLI hands a scalar to the program as its text, and the program decodes JSON
    text, so `"0"` and `0` are one value to it: the plan's own reading must say the same
    (found by the fuzz in CI: the plan said "text '0'", the program "the number 0")."""
    raw = {**minimal_raw(**{"eks-access:teams": [{"name": "a", "users": ["ann"]}]}), key: value}
    stack = stackfile.read(write_stack(tmp_path, raw))
    with pytest.raises(core.ConfigError) as planned:
        stack.load()
    with pytest.raises(pulumi.RunError) as program:
        run(stack)
    assert str(planned.value.problems[0]) in str(program.value)
