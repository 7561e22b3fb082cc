"""Fleets: an identity stack owns the IAM users, cluster stacks reference it, teams are defined
once (ESC environment or a plain file) with per-cluster overrides, and checks run across stacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eks_access import config as core
from eks_access import fleet, stackfile
from offline.run import run
from tests.conftest import ROOT

ACCOUNT = "444455556666"
FLEET = ("Pulumi.identity.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml")


@pytest.fixture(scope="module")
def plans():
    return {name: run(stackfile.read(ROOT / name)) for name in FLEET}


def types(result):
    return [r.type for r in result.resources]


def test_the_identity_stack_owns_users_and_keys_and_nothing_else(plans):
    identity = plans["Pulumi.identity.yaml"]
    assert sorted(set(types(identity))) == [
        "aws:iam/accessKey:AccessKey",
        "aws:iam/user:User",
        "eks-access:index:ClusterUser",
    ]
    users = identity.outputs["users"]
    assert set(users) == {"alice", "bob", "dana", "sam"}
    assert users["alice"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert identity.outputs["accessKeySecrets"] == "[secret]"


def test_cluster_stacks_reference_the_users_and_own_only_their_cluster(plans):
    for name in ("Pulumi.staging.yaml", "Pulumi.prod.yaml"):
        result = plans[name]
        assert "aws:iam/user:User" not in types(result)
        assert "aws:iam/accessKey:AccessKey" not in types(result)
        assert "accessKeySecrets" not in result.outputs
        (ref,) = result.of_type("pulumi:pulumi:StackReference")
        assert ref.inputs["name"] == "acme/eks-access/identity"
        memberships = result.of_type("aws:iam/userGroupMembership:UserGroupMembership")
        assert {m.parent.rsplit("::", 1)[-1] for m in memberships} == set(result.outputs["users"])
        # The ARN each cluster stack maps is the one the identity stack reports.
        (patch,) = result.of_type("kubernetes:core/v1:ConfigMapPatch")
        for user, out in result.outputs["users"].items():
            assert f"userarn: {out['arn']}" in patch.inputs["data"]["mapUsers"], user


def test_prod_overrides_the_shared_teams(plans):
    staging, prod = plans["Pulumi.staging.yaml"], plans["Pulumi.prod.yaml"]

    def presets(result):
        return {
            (r.inputs["metadata"]["namespace"], r.inputs["roleRef"]["name"])
            for r in result.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
        }

    assert ("payments", "edit") in presets(staging) and ("payments", "view") in presets(prod)
    assert ("data", "view") in presets(prod)
    assert "bob" in staging.outputs["users"] and "bob" not in prod.outputs["users"]


@pytest.mark.parametrize("broken", ["arn", "missing"])
def test_a_cluster_stack_refuses_an_identity_stack_that_disagrees(broken):
    """Before anything is registered (the preflight reads the identity stack: a read), so
    `pulumi up` never maps a user the identity stack does not hold."""
    # In a subprocess: a program that fails leaves work on the SDK's event loop that could
    # fail the next program run in the same process.
    script = f"""
import sys
from eks_access import stackfile
from offline.mocks import PlaceholderCloud
from offline.run import identity_outputs, run
stack = stackfile.read("Pulumi.staging.yaml")
outputs = identity_outputs(stack, "acme/eks-access/identity")
if {broken!r} == "arn":
    outputs["users"]["alice"]["arn"] = "arn:aws:iam::999999999999:user/alice"
else:
    del outputs["users"]["alice"]
cloud = PlaceholderCloud("444455556666", "eu-west-1", stack_outputs={{"acme/eks-access/identity": outputs}})
registered = []
try:
    run(stack, cloud, on_register=lambda: registered.append(1))
except Exception as e:
    print(e)
    print("registered", len(registered))
    sys.exit(1)
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    if broken == "arn":
        assert "reports arn:aws:iam::999999999999:user/alice for IAM user 'alice'" in proc.stdout
        assert "this stack maps arn:aws:iam::444455556666:user/alice" in proc.stdout
    else:
        assert "IAM user 'alice' is not in the outputs of identity stack" in proc.stdout
    assert "registered 0" in proc.stdout


# --- shared teams and overrides ------------------------------------------------------------------


def test_overrides_replace_fields_remove_with_null_and_name_unknown_teams():
    raw = {
        "eks-access:teams": [{"name": "a", "namespaceAccess": "edit", "createNamespaces": True}],
        "eks-access:teamOverrides": {"a": {"namespaceAccess": "view", "createNamespaces": None}},
    }
    merged, problems = core.merge_teams(raw)
    assert problems == [] and merged["eks-access:teams"] == [
        {"name": "a", "namespaceAccess": "view"}
    ]
    raw["eks-access:teamOverrides"] = {"b": {}, "a": {"name": "x"}}
    _, problems = core.merge_teams(raw)
    assert [p.path for p in problems] == [
        "eks-access:teamOverrides.b",
        "eks-access:teamOverrides.a",
    ]


def test_a_plain_teams_file_gives_the_same_plan_as_the_esc_environment(tmp_path, plans):
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.identity.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "esc", tmp_path / "esc")
    env = yaml.safe_load((ROOT / "esc" / "eks-access-teams.yaml").read_text())
    teams = env["values"]["pulumiConfig"]["eks-access:teams"]
    (tmp_path / "teams.yaml").write_text(yaml.safe_dump({"teams": teams}))
    prod = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    del prod["environment"]
    prod["config"]["eks-access:teamsFile"] = "teams.yaml"
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(prod))
    from_file = run(stackfile.read(tmp_path / "Pulumi.prod.yaml"))
    from_esc = plans["Pulumi.prod.yaml"]
    assert sorted((r.urn, str(r.inputs)) for r in from_file.resources) == sorted(
        (r.urn, str(r.inputs)) for r in from_esc.resources
    )
    # Both routes at once is a mistake, named.
    prod["config"]["eks-access:teams"] = teams
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(prod))
    with pytest.raises(core.ConfigError, match="eks-access:teams: teams come from"):
        stackfile.read(tmp_path / "Pulumi.prod.yaml").load()


def test_a_missing_teams_file_is_a_config_error(tmp_path):
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  eks-access:teamsFile: nope.yaml\n"
        "  eks-access:cluster: {name: c, nodeRoleArns: [arn:aws:iam::444455556666:role/n]}\n"
    )
    with pytest.raises(
        core.ConfigError,
        match=r"eks-access:teamsFile: nope\.yaml: not a file inside the project folder",
    ):
        stackfile.read(tmp_path / "Pulumi.x.yaml").load()


# --- across stacks --------------------------------------------------------------------------------


def member(name: str, raw: dict) -> fleet.FleetStack:
    config = (
        core.load_identity(raw)
        if raw.get("eks-access:identity", {}).get("mode") == "owner"
        else core.load(raw)
    )
    return fleet.FleetStack(f"Pulumi.{name}.yaml", name, config)


def single(cluster: str, user: dict | str) -> dict:
    return {
        "aws:region": "eu-west-1",
        "eks-access:cluster": {"name": cluster, "nodeRoleArns": [f"arn:aws:iam::{ACCOUNT}:role/n"]},
        "eks-access:teams": [{"name": "t", "clusterAccess": "view", "users": [user]}],
    }


def test_one_user_defined_differently_in_two_stacks_of_an_account_is_an_error_naming_both():
    problems = fleet.problems([
        member("a", single("a", {"name": "eks_user", "keys": ["v1"]})),
        member("b", single("b", {"name": "eks_user", "path": "/other/"})),
    ])  # fmt: skip
    assert problems == [
        f"IAM user 'eks_user' of account {ACCOUNT} is defined with different settings in "
        "Pulumi.a.yaml (teams[0].users[0]) and Pulumi.b.yaml (teams[0].users[0]); an IAM user "
        "exists once per account: give it one definition"
    ]
    same = fleet.problems(
        [member("a", single("a", "eks_user")), member("b", single("b", "eks_user"))]
    )
    assert len(same) == 1 and "created by both Pulumi.a.yaml" in same[0]
    other_account = single("b", "eks_user")
    other_account["eks-access:cluster"]["nodeRoleArns"] = ["arn:aws:iam::111122223333:role/n"]
    assert fleet.problems([member("a", single("a", "eks_user")), member("b", other_account)]) == []


def test_the_example_fleet_passes_and_a_reference_to_an_unowned_user_fails():
    members = [
        fleet.FleetStack(n, stackfile.read(ROOT / n).stack, stackfile.read(ROOT / n).load_any())
        for n in FLEET
    ]
    assert fleet.problems(members) == []
    staging = stackfile.read(ROOT / "Pulumi.staging.yaml")
    raw = dict(staging.raw)
    raw["eks-access:teams"] = [*raw["eks-access:teams"], {"name": "x", "users": ["zoe"]}]
    members[1] = fleet.FleetStack("Pulumi.staging.yaml", "staging", core.load(raw))
    (problem,) = fleet.problems(members)
    assert "Pulumi.staging.yaml (teams[3].users[0]): IAM user 'zoe' is not owned" in problem


def test_plan_of_a_fleet_writes_one_folder_per_stack_or_nothing(tmp_path):
    argv = [
        sys.executable,
        "-m",
        "eks_access",
        "plan",
        "--config-file",
        *FLEET,
        "--out",
        str(tmp_path / "out"),
    ]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"identity", "staging", "prod"}
    # Two stacks creating the same user in one account: nothing written, both named.
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    dev["config"]["eks-access:cluster"]["name"] = "dev2"
    (tmp_path / "Pulumi.dev2.yaml").write_text(yaml.safe_dump(dev))
    argv = [sys.executable, "-m", "eks_access", "plan", "--config-file", "Pulumi.dev.yaml",
            "Pulumi.dev2.yaml", "--out", str(tmp_path / "out2")]  # fmt: skip
    env = {"PYTHONPATH": str(ROOT), "PATH": ""}
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 2 and not (tmp_path / "out2").exists()
    assert "'eks_user' of account 111122223333 is created by both Pulumi.dev.yaml" in proc.stderr


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_review_of_a_fleet_reports_per_cluster(tmp_path):
    for name in ("Pulumi.yaml", "__main__.py", *FLEET):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "esc", tmp_path / "esc")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "base")
    env_file = tmp_path / "esc" / "eks-access-teams.yaml"
    env = yaml.safe_load(env_file.read_text())
    env["values"]["pulumiConfig"]["eks-access:teams"][1]["users"].append("erin")  # data team
    env_file.write_text(yaml.safe_dump(env))
    argv = [sys.executable, "-m", "eks_access", "review", "--base", "HEAD", "--format", "json",
            "--artifacts", str(tmp_path / "review"),
            "--config-file", *(str(tmp_path / n) for n in FLEET)]  # fmt: skip
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    docs = {d["stack"]: d for d in json.loads(proc.stdout)}
    assert (tmp_path / "review" / "review.json").read_text() == proc.stdout
    # The comment: the fleet's headline, summed, then one section per cluster.
    md = (tmp_path / "review" / "review.md").read_text().splitlines()
    assert md[:2] == ["## Access review of the fleet",
                      "**2 principals gain access, 0 lose access; 0 resources replaced, 0 deleted.**"]  # fmt: skip
    sections = [line for line in md if line.startswith("### ")]
    assert sections == ["### staging (stack staging)", "### prod (stack prod)"]
    assert sum(1 for line in md if line.startswith("- erin (team data, new): gains ")) == 2
    page = (tmp_path / "review" / "review.html").read_text()
    assert "<title>Access review: 2 clusters</title>" in page
    assert set(docs) == {"staging", "prod"}  # the identity stack grants no cluster access
    for stack in ("staging", "prod"):
        gained = {c["principal"] for c in docs[stack]["changes"] if c["change"] == "gains"}
        assert any("erin" in p for p in gained), docs[stack]["changes"][:3]
    assert not any(c["change"] == "loses" for d in docs.values() for c in d["changes"])
    # Only the identity stack: nothing to review, and still JSON
    argv = [*argv[: argv.index("--artifacts")], "--config-file", str(tmp_path / FLEET[0])]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout) == [] and "nothing to review" in proc.stderr


def test_affected_stacks_follow_their_files_and_the_program():
    sources = {
        stackfile.read(ROOT / n).stack: stackfile.read(ROOT / n).sources
        for n in ("Pulumi.dev.yaml", *FLEET)
    }
    assert sources["prod"] == ("Pulumi.prod.yaml", "esc/eks-access-teams.yaml")
    assert fleet.affected({"Pulumi.prod.yaml"}, sources) == ["prod"]
    assert fleet.affected({"esc/eks-access-teams.yaml"}, sources) == ["identity", "prod", "staging"]
    assert fleet.affected({"components/team.py"}, sources) == ["dev", "identity", "prod", "staging"]
    assert fleet.affected({"README.md"}, sources) == []


def test_the_pull_request_workflow_previews_each_affected_stack():
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "pull-request.yml").read_text())
    jobs = doc["jobs"]
    assert "eks_access stacks --base" in " ".join(s.get("run", "") for s in jobs["stacks"]["steps"])
    assert jobs["preview"]["strategy"]["matrix"]["stack"] == (
        "${{ fromJson(needs.stacks.outputs.stacks) }}"
    )
    preview = next(s for s in jobs["preview"]["steps"] if "pulumi/actions" in s.get("uses", ""))
    assert preview["with"]["stack-name"] == "${{ matrix.stack }}"


@pytest.mark.parametrize("name", ["/dev/zero", "../../etc/passwd", "esc", ".", "-" * 300, "a\0b"])
def test_a_teams_file_must_be_a_file_inside_the_project(name):
    raw = {"aws:region": "eu-west-1", "eks-access:teamsFile": name}
    with pytest.raises(core.ConfigError, match="not a file inside the project folder"):
        stackfile.with_teams_file(raw, ROOT)


def test_access_commands_answer_per_cluster():
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    argv = [sys.executable, "-m", "eks_access", "can-i", "list", "pods", "-n", "payments",
            "--as", bob, "--config-file", *FLEET]  # fmt: skip
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 1  # not everywhere
    assert proc.stdout.splitlines() == [
        "== staging: cluster staging (Pulumi.staging.yaml)",
        "yes",
        "== prod: cluster prod (Pulumi.prod.yaml)",
        "no",
    ]
    argv = [sys.executable, "-m", "eks_access", "who-can", "update", "deployments.apps", "-n",
            "data", "--config-file", "Pulumi.staging.yaml", "Pulumi.prod.yaml"]  # fmt: skip
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    staging, prod = out.split("== prod")
    assert f"arn:aws:iam::{ACCOUNT}:user/dana" in staging and "dana" not in prod


def test_plan_of_a_cluster_stack_without_its_identity_stack_file_is_a_clean_error(tmp_path):
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.staging.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "esc", tmp_path / "esc")
    argv = [sys.executable, "-m", "eks_access", "plan", "--config-file",
            str(tmp_path / "Pulumi.staging.yaml"), "--out", str(tmp_path / "out")]  # fmt: skip
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "is planned offline from Pulumi.identity.yaml, which is not in" in proc.stderr
