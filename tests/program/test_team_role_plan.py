"""A team as one mapping (``access: role``, issue 29) as the real ``__main__.py`` plans it under
the mock runtime: the role, its trust and its own policy, the group's permission to assume it,
the one mapping, the members' kubeconfigs; the planned documents judged by moto's IAM policy
evaluation; and the stop of a cluster stack whose users are in another account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count
from moto.iam.access_control import IAMPolicy, PermissionResult

from eks_access import awsauth, stackfile
from offline.run import RunResult, run
from tests.conftest import cli, write_stack

ACCOUNT = "111122223333"
ROLE = "eks-access-dev-payments"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
CLUSTER_ARN = f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/dev"


def raw(mode: str = "CONFIG_MAP", **extra: Any) -> dict[str, Any]:
    cluster: dict[str, Any] = {
        "name": "dev",
        "authenticationMode": mode,
        "nodeRoleArns": [f"arn:aws:iam::{ACCOUNT}:role/nodes"],
    }
    if mode != "CONFIG_MAP":
        cluster["nodeAccessEntries"] = "create"
    return {
        "aws:region": "us-east-1",
        "eks-access:cluster": cluster,
        "eks-access:teams": [
            {
                "name": "payments",
                "access": "role",
                "requireMfa": True,
                "namespaces": ["payments"],
                "createNamespaces": True,
                "namespaceAccess": "edit",
                "users": [{"name": "alice", "keys": ["v1"]}, "bob"],
            },
            {"name": "ops", "clusterAccess": "view", "users": ["bob", "carol"]},
        ],
        **extra,
    }


def planned(tmp_path: Path, config: dict[str, Any]) -> RunResult:
    return run(stackfile.read(write_stack(tmp_path, config)))


def inputs(result: RunResult, type_: str) -> list[dict[str, Any]]:
    return [r.inputs for r in result.of_type(type_)]


def test_the_planned_role_its_trust_its_policy_and_the_groups_permission(tmp_path: Path) -> None:
    result = planned(tmp_path, raw())
    (role,) = inputs(result, "aws:iam/role:Role")
    assert role["name"] == ROLE
    (trust,) = json.loads(role["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {
        "StringEquals": {"sts:RoleSessionName": "${aws:username}"},
        "Bool": {"aws:MultiFactorAuthPresent": "true"},
    }
    (own,) = inputs(result, "aws:iam/rolePolicy:RolePolicy")
    assert own["role"] == ROLE
    assert json.loads(own["policy"])["Statement"] == [
        {
            "Sid": "DescribeThisCluster",
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": CLUSTER_ARN,
        }
    ]
    by_group = {
        p["group"]: json.loads(p["policy"])
        for p in inputs(result, "aws:iam/groupPolicy:GroupPolicy")
    }
    # moto's policy evaluation (code no one here wrote) judges the group policies as planned
    payments = IAMPolicy(json.dumps(by_group["eks-access-dev-payments"]))
    ops = IAMPolicy(json.dumps(by_group["eks-access-dev-ops"]))
    assert payments.is_action_permitted("sts:AssumeRole", ROLE_ARN) == PermissionResult.PERMITTED
    other = f"arn:aws:iam::{ACCOUNT}:role/eks-access-dev-ops"
    assert payments.is_action_permitted("sts:AssumeRole", other) == PermissionResult.NEUTRAL
    assert ops.is_action_permitted("sts:AssumeRole", ROLE_ARN) == PermissionResult.NEUTRAL
    # Membership is the access: alice and bob in the payments group, carol not
    groups = {
        m["user"]: set(m["groups"])
        for m in inputs(result, "aws:iam/userGroupMembership:UserGroupMembership")
    }
    assert "eks-access-dev-payments" in groups["alice"] & groups["bob"]
    assert "eks-access-dev-payments" not in groups["carol"]


@mock_aws
def test_moto_lets_members_assume_the_role_which_may_describe_this_cluster_only(
    tmp_path: Path,
) -> None:
    """The planned role, its policy and the team's group policy in moto, then moto's access
    control on (its evaluation of identity policies, code no one here wrote): a member may
    assume the role and a non-member may not; the role may describe dev, not prod, not the
    cluster list. The planned trust is not judged here (see below): the session name and MFA
    conditions are AWS's to enforce, not tested here."""
    result = planned(tmp_path, raw())
    moto = "123456789012"

    def here(doc: str) -> str:  # the planned document, in moto's account
        return doc.replace(ACCOUNT, moto)

    (role,) = inputs(result, "aws:iam/role:Role")
    (own,) = inputs(result, "aws:iam/rolePolicy:RolePolicy")
    (group,) = [
        p
        for p in inputs(result, "aws:iam/groupPolicy:GroupPolicy")
        if p["group"] == "eks-access-dev-payments"
    ]
    iam = boto3.client("iam", region_name="us-east-1")
    # moto matches a trust's principal literally (an account's root is not "any principal of
    # the account" there) and fills in no policy variable (${aws:username}): the planned trust
    # cannot be judged by it, so the role here trusts both callers by ARN, and the group's
    # policy is what tells them apart
    trust = json.loads(role["assumeRolePolicy"])
    trust["Statement"][0]["Principal"] = {
        "AWS": [f"arn:aws:iam::{moto}:user/{u}" for u in ("alice", "eve")]
    }
    del trust["Statement"][0]["Condition"]
    made = iam.create_role(RoleName=role["name"], AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=own["role"], PolicyName=own["name"], PolicyDocument=here(own["policy"])
    )
    iam.create_group(GroupName=group["group"])
    iam.put_group_policy(
        GroupName=group["group"], PolicyName=group["name"], PolicyDocument=here(group["policy"])
    )
    keys = {}
    for user in ("alice", "eve"):
        iam.create_user(UserName=user)
        keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
    iam.add_user_to_group(GroupName=group["group"], UserName="alice")  # eve: not a member

    def assume(user: str) -> str:
        key = keys[user]
        sts = boto3.client(
            "sts",
            region_name="us-east-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        try:
            answer = sts.assume_role(RoleArn=made["Role"]["Arn"], RoleSessionName=user)
        except ClientError as e:
            return str(e.response["Error"]["Code"])
        return str(answer["AssumedRoleUser"]["Arn"])

    # from here on moto checks each caller's identity policies (its group's included)
    answers = set_initial_no_auth_action_count(0)(lambda: {u: assume(u) for u in keys})()
    assert answers == {
        "alice": f"arn:aws:sts::{moto}:assumed-role/{ROLE}/alice",
        "eve": "AccessDenied",
    }
    # What a session may do: the role's own policy, by moto's evaluator (its signature check
    # refuses the sessions' requests to EKS here, so the policy is judged on its own)
    policy = IAMPolicy(here(own["policy"]))
    cluster = f"arn:aws:eks:us-east-1:{moto}:cluster"
    assert (
        policy.is_action_permitted("eks:DescribeCluster", f"{cluster}/dev")
        == PermissionResult.PERMITTED
    )
    assert (
        policy.is_action_permitted("eks:DescribeCluster", f"{cluster}/prod")
        == PermissionResult.NEUTRAL
    )
    assert policy.is_action_permitted("eks:ListClusters", "*") == PermissionResult.NEUTRAL
    assert policy.is_action_permitted("sts:AssumeRole", "*") == PermissionResult.NEUTRAL


@pytest.mark.parametrize("mode", ["CONFIG_MAP", "API"])
def test_the_team_is_one_mapping_and_its_members_use_the_roles_profile(
    tmp_path: Path, mode: str
) -> None:
    result = planned(tmp_path, raw(mode))
    username = "payments:{{SessionName}}"
    if mode == "CONFIG_MAP":
        (patch,) = inputs(result, "kubernetes:core/v1:ConfigMapPatch")
        mappings = awsauth.parse(patch["data"]).mappings
        role = mappings[ROLE_ARN.lower()]  # aws-auth keys mappings by lower-cased ARN
        assert role.username == username and role.groups == ("eks-access:payments",)
        users = {m.arn for m in mappings.values() if ":user/" in m.arn}
        assert users == {f"arn:aws:iam::{ACCOUNT}:user/bob", f"arn:aws:iam::{ACCOUNT}:user/carol"}
    else:
        entries = {e["principalArn"]: e for e in inputs(result, "aws:eks/accessEntry:AccessEntry")}
        assert entries[ROLE_ARN]["userName"] == username
        assert f"arn:aws:iam::{ACCOUNT}:user/alice" not in entries  # alice: the role only
        assert f"arn:aws:iam::{ACCOUNT}:user/bob" in entries  # bob: ops maps him himself
    users = result.outputs["users"]

    def profile(name: str) -> list[Any]:
        return json.loads(users[name]["kubeconfig"])["users"][0]["user"]["exec"].get("env")

    assert profile("alice") == [{"name": "AWS_PROFILE", "value": ROLE}]
    assert profile("bob") == [{"name": "AWS_PROFILE", "value": "bob"}]  # an ops user himself


def test_a_cluster_stack_in_another_account_than_its_users_stops_before_anything(
    tmp_path: Path,
) -> None:
    """IAM groups hold users of their own account only: the group memberships (and an
    ``access: role`` team's permission to assume its role) cannot be made across accounts."""
    identity = {"mode": "reference", "account": "444455556666", "stack": "acme/eks-access/identity"}
    config = raw(**{"eks-access:identity": identity})
    owner = {
        "aws:region": "us-east-1",
        "eks-access:teams": config["eks-access:teams"],
        "eks-access:identity": {"mode": "owner", "account": "444455556666"},
    }
    write_stack(tmp_path, owner, "identity")
    path = write_stack(tmp_path, config, "cross")
    # a process of its own: a program that stops can leave the SDK's work behind
    proc = cli("plan", "--config-file", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode != 0 and not (tmp_path / "out").exists()
    assert "eks-access:identity.account: the IAM users of teams payments, ops" in proc.stderr
    assert "444455556666" in proc.stderr and f"runs in account {ACCOUNT}" in proc.stderr


@pytest.mark.parametrize("mode", ["CONFIG_MAP", "API"])
def test_the_roles_mapping_waits_for_the_role_and_follows_its_unique_id(
    tmp_path: Path, mode: str
) -> None:
    """The mapping of a role team (the aws-auth write that, on a switch, also drops its
    members' own lines; or its access entry) waits for the role and for the group policy that
    lets the members assume it; the entry is re-made with the role's unique ID. The stack's
    outputs give each member what its AWS CLI profile names."""
    result = planned(tmp_path, raw(mode))
    (role,) = result.of_type("aws:iam/role:Role")
    (policy,) = [p for p in result.of_type("aws:iam/groupPolicy:GroupPolicy")
                 if p.inputs["group"] == "eks-access-dev-payments"]  # fmt: skip
    if mode == "CONFIG_MAP":
        (writer,) = result.of_type("eks-access:index:AwsAuth")
        assert {role.urn, policy.urn} <= set(writer.options["dependsOn"])
    else:
        (entries,) = result.of_type("eks-access:index:AccessEntries")
        assert {role.urn, policy.urn} <= set(entries.options["dependsOn"])
        (entry,) = [e for e in result.of_type("aws:eks/accessEntry:AccessEntry")
                    if e.inputs["principalArn"] == ROLE_ARN]  # fmt: skip
        from offline.mocks import _digest

        # the role's own unique ID, as the mocks give it (offline/mocks.py), not a user's
        assert entry.options["replacementTrigger"] == f"placeholder-unique-id-{_digest(ROLE)}"
    team = result.outputs["teams"]["payments"]
    assert team["roleArn"] == ROLE_ARN and team["awsProfile"] == ROLE
    assert "roleArn" not in result.outputs["teams"]["ops"]


def test_renaming_a_role_team_in_api_mode_deletes_its_old_entry_first(tmp_path: Path) -> None:
    """The role is re-made under the new name, delete first (the program sets the name); the
    old role's entry takes its principal ARN from it, so the engine deletes it before the role,
    not at the end of the update (make e2e-engine holds this model to the engine's preview)."""
    from eks_access import operations

    base = raw("API")
    base["eks-access:teams"][0]["accessPolicies"] = [{"policy": "view"}]
    head = json.loads(json.dumps(base))
    head["eks-access:teams"][0] |= {"name": "payments2", "renamedFrom": ["payments"]}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    before = planned(tmp_path / "a", base)
    after = planned(tmp_path / "b", head)
    ops = {o.name: o for o in operations.compute(before.resources, after.resources)}
    role = ops["payments2-role"]  # found under its old name by the alias
    assert role.op == "replace" and role.delete_before_replace and role.replace_keys == ("name",)
    old_entry = ops["access-entries-teamrole-111122223333-eks-access-dev-payments"]
    # its policy association takes the entry's principal ARN: deleted earlier still
    (old_view,) = [
        o for o in ops.values() if o.name.endswith("-payments-view") and o.op == "delete"
    ]
    for early in (old_entry, old_view):
        assert (early.op, early.why) == ("delete", operations.DELETED_EARLY), early
    assert old_view.step < old_entry.step < role.step  # dependents first, before the role goes
    assert ops["access-entries-teamrole-111122223333-eks-access-dev-payments2"].op == "create"
    # a delete that takes nothing from a replaced resource stays at the end: removing a user
    # (whose key, membership and entry take inputs from a user that is deleted, not replaced)
    from tests import everyday

    row = {r.title: r for r in everyday.ROWS}["remove a user"]
    (tmp_path / "c").mkdir()
    (tmp_path / "d").mkdir()
    plans = [planned(tmp_path / d, c) for d, c in zip("cd", row.configs(), strict=True)]
    removed = operations.compute(plans[0].resources, plans[1].resources)
    deletes = [o for o in removed if o.op == "delete"]
    assert deletes and all(o.why is None for o in deletes)
    assert min(o.step for o in deletes) > max(o.step for o in removed if o.op != "delete")
