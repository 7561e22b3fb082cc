"""A team as one mapping (``access: role``, issue 29): the role's name, trust and group policy
as IAM gets them (linted by parliament, held by moto), the one mapping, who the cluster sees
(payments:alice) and what can-i and who-can answer for the people behind the role."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import parliament
import pytest
from moto import mock_aws

from eks_access import authz, awsauth, principals, team_roles
from eks_access import config as core
from tests.conftest import NODE_ROLE

ACCOUNT = "111122223333"


def raw(**team: Any) -> dict[str, Any]:
    payments = {"name": "payments", "access": "role", "namespaces": ["payments"],
                "namespaceAccess": "edit", "users": [{"name": "alice", "keys": ["v1"]}, "bob"]}  # fmt: skip
    return {
        "aws:region": "us-east-1",
        "eks-access:cluster": {"name": "dev", "nodeRoleArns": [NODE_ROLE]},
        "eks-access:teams": [{**payments, **team}],
    }


def test_the_role_name_fits_iam_and_long_names_stay_apart():
    assert team_roles.role_name("dev", "payments") == "eks-access-dev-payments"
    a = team_roles.role_name("c" * 40, "team-one-" + "x" * 20)
    b = team_roles.role_name("c" * 40, "team-two-" + "x" * 20)
    assert len(a) == len(b) == 64 and a != b


def test_the_trust_and_the_group_policy_exactly_and_parliament_finds_nothing():
    trust = team_roles.trust_policy("aws", ACCOUNT, require_mfa=True)
    assert trust["Statement"] == [{
        "Sid": "TeamMembersUnderTheirOwnName",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:RoleSessionName": "${aws:username}"},
                      "Bool": {"aws:MultiFactorAuthPresent": "true"}},
    }]  # fmt: skip
    assert "Bool" not in team_roles.trust_policy("aws", ACCOUNT, False)["Statement"][0]["Condition"]
    role = f"arn:aws:iam::{ACCOUNT}:role/eks-access-dev-payments"
    group = {"Version": "2012-10-17", "Statement": [team_roles.assume_statement(role)]}
    assert group["Statement"][0] == {"Sid": "AssumeTheTeamRole", "Effect": "Allow",
                                     "Action": "sts:AssumeRole", "Resource": role}  # fmt: skip

    # parliament lints identity policies (its version here has no trust-policy mode): the
    # trust's statement is linted with the role as its resource and without its principal,
    # which checks its action and its condition keys and their types
    def as_identity(doc: dict[str, Any]) -> dict[str, Any]:
        stmt = {k: v for k, v in doc["Statement"][0].items() if k != "Principal"}
        return {"Version": "2012-10-17", "Statement": [{**stmt, "Resource": role}]}

    for doc in (group, as_identity(trust)):
        found = parliament.analyze_policy_string(json.dumps(doc)).findings
        assert [(f.issue, f.detail) for f in found] == []
    wrong = copy.deepcopy(trust)
    wrong["Statement"][0]["Condition"]["StringEquals"] = {"sts:RoleSesionName": "x"}
    found = parliament.analyze_policy_string(json.dumps(as_identity(wrong))).findings
    assert found  # a misspelt condition key is found: the lint can fail


def test_what_access_role_refuses():
    cases = [
        ({"bindTo": "users"}, "teams[0].bindTo"),
        ({"roles": ["arn:aws:iam::111122223333:role/r"]}, "teams[0].roles"),
        ({"users": ["a"]}, "teams[0].users[0].name"),
        ({"users": ["x@y", "x-y"]}, "teams[0].users[1]"),
        ({"access": "user", "requireMfa": True}, "teams[0].requireMfa"),
    ]
    for team, path in cases:
        with pytest.raises(core.ConfigError) as e:
            core.load(raw(**team))
        assert path in [p.path for p in e.value.problems], (team, e.value.problems)


def test_one_mapping_for_the_team_and_its_people_seen_by_name():
    config = core.load(raw())
    mapped = principals.principals(config)
    team = [p for p in mapped if not p.is_node]
    assert [(p.arn.arn, p.username, p.groups) for p in team] == [(
        f"arn:aws:iam::{ACCOUNT}:role/eks-access-dev-payments", "payments:{{SessionName}}",
        ("eks-access:payments",))]  # fmt: skip
    text = awsauth.render(mapped, ())
    assert "alice" not in text["mapUsers"] and "payments:{{SessionName}}" in text["mapRoles"]
    state = authz.state_of(config)
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/eks-access-dev-payments/alice"
    who = state.resolve(session)
    assert who is not None and who.username == "payments:alice"
    create = authz.Request("create", "pods", "", "", "", "payments")
    yes = authz.answer(state, f"arn:aws:iam::{ACCOUNT}:user/alice", create)
    assert yes.word == "yes" and "not mapped itself" in (yes.note or "")
    assert authz.answer(state, f"arn:aws:iam::{ACCOUNT}:user/carol", create).word == "no"
    people = sorted(i.username for i, _ in authz.who_can(state, create).granted)
    assert people == ["payments:alice", "payments:bob"]


def test_a_member_also_in_a_user_team_is_answered_both_ways():
    config = raw()
    config["eks-access:teams"].append(
        {"name": "ops", "clusterAccess": "view", "users": [{"name": "alice", "keys": ["v1"]}]}
    )
    state = authz.state_of(core.load(config))
    alice = f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert authz.answer(state, alice, authz.Request("list", "pods", "", "", "", "x")).note is None
    create = authz.answer(state, alice, authz.Request("create", "pods", "", "", "", "payments"))
    assert create.word == "yes" and (create.note or "").startswith("not as alice; by assuming")


@mock_aws
def test_moto_holds_the_role_and_a_member_assumes_it_under_its_name():
    """moto stores the role, the group policy and the membership, and STS answers a member's
    AssumeRole with the session ARN the authenticator maps. moto does not evaluate trust
    policies: the refusals (another session name, a non-member, no MFA) are not tested here."""
    config = core.load(raw())
    iam_client = boto3.client("iam", region_name="us-east-1")
    name = team_roles.role_name("dev", "payments")
    trust = team_roles.trust_policy("aws", "123456789012", False)
    role = iam_client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    iam_client.create_group(GroupName="eks-access-dev-payments")
    group_policy = {"Version": "2012-10-17",
                    "Statement": [team_roles.assume_statement(role["Role"]["Arn"])]}  # fmt: skip
    iam_client.put_group_policy(GroupName="eks-access-dev-payments", PolicyName="p",
                                PolicyDocument=json.dumps(group_policy))  # fmt: skip
    iam_client.create_user(UserName="alice")
    iam_client.add_user_to_group(GroupName="eks-access-dev-payments", UserName="alice")
    key = iam_client.create_access_key(UserName="alice")["AccessKey"]
    stored = iam_client.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert stored == trust
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                       aws_secret_access_key=key["SecretAccessKey"])  # fmt: skip
    assumed = sts.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="alice")
    arn = assumed["AssumedRoleUser"]["Arn"]
    assert arn == f"arn:aws:sts::123456789012:assumed-role/{name}/alice"
    # The mapping of moto's account: the same config with the users in moto's account.
    moto_config = copy.deepcopy(raw())
    moto_config["eks-access:cluster"]["nodeRoleArns"] = ["arn:aws:iam::123456789012:role/n"]
    state = authz.state_of(core.load(moto_config))
    who = state.resolve(arn)
    assert who is not None and who.username == "payments:alice"
    assert config.teams[0].access == "role"


def test_import_recognises_a_team_role_and_says_how_to_manage_it():
    from eks_access import adopt

    data = awsauth.render(principals.principals(core.load(raw())), ())
    imported, _ = adopt.from_aws_auth(data, "dev", "us-east-1")
    (note,) = [n for n in imported.notes if "(`access: role`)" in n]
    assert "eks-access team payments" in note and "IAM group eks-access-dev-payments" in note
    # imported as the role it is today: the same identity, so equivalent
    (team,) = imported.config["eks-access:teams"]
    assert team["roles"] == [{"arn": f"arn:aws:iam::{ACCOUNT}:role/eks-access-dev-payments",
                              "username": "payments:{{SessionName}}"}]  # fmt: skip
    # the suggested edit is a valid role team that maps the same line
    edited = {**raw(), "eks-access:teams": [{**team, "access": "role", "users": ["alice"]}]}
    edited["eks-access:teams"][0].pop("roles")
    assert (
        awsauth.render(principals.principals(core.load(edited)), ())["mapRoles"]
        == (data["mapRoles"])
    )


def test_what_must_stay_apart_from_a_team_role():
    role = f"arn:aws:iam::{ACCOUNT}:role/eks-access-dev-payments"
    cases = [
        ({"name": "system"}, [], "teams[0].name"),  # members would be system:<name>
        ({}, [{"name": "admins", "clusterAccess": "cluster-admin",
               "roles": [{"arn": role, "username": "x:{{SessionName}}"}]}], "teams[1].roles[0]"),
        ({}, [{"name": "ops", "bindTo": "users", "clusterAccess": "view",
               "users": [{"name": "zed", "username": "payments:root"}]}], "teams[1].users[0]"),
        # IAM role names are unique regardless of case: the same role
        ({}, [{"name": "admins", "clusterAccess": "view",
               "roles": [role.replace("eks-access-dev-payments", "EKS-Access-Dev-Payments")]}],
         "teams[1].roles[0]"),
    ]  # fmt: skip
    for team, others, path in cases:
        config = raw(**team)
        config["eks-access:teams"] += others
        with pytest.raises(core.ConfigError) as e:
            core.load(config)
        assert path in [p.path for p in e.value.problems], (team, others, e.value.problems)
    # a role of that name in another account (another cluster's team role) is another role
    config = raw()
    elsewhere = role.replace(ACCOUNT, "444455556666")
    config["eks-access:teams"] += [
        {"name": "admins", "clusterAccess": "view", "roles": [elsewhere]}
    ]
    assert core.load(config).teams[1].roles[0].arn == elsewhere


def test_a_role_team_whose_grants_ended_is_not_mapped():
    from datetime import UTC, datetime

    config = core.load(raw(expires="2026-12-01"), at=datetime(2026, 12, 6, tzinfo=UTC))
    assert [p for p in principals.principals(config) if not p.is_node] == []
    assert (
        "eks-access-dev-payments"
        not in awsauth.render(principals.principals(config), ())["mapRoles"]
    )


def test_the_review_says_a_switched_member_is_the_same_person():
    from eks_access import changes

    before = raw(access="user")
    after = raw()
    found = changes.principal_changes(core.load(before), core.load(after))
    words = {p.principal: p for p in found}
    alice = words[f"arn:aws:iam::{ACCOUNT}:user/alice"]
    assert len(found) == 2 and "is now payments:alice" in " ".join(alice.words), alice
    # the audit compares with the cluster's mappings: the role, as the cluster maps it
    state = authz.state_of(core.load(after), people=False)
    assert list(state.identities) == [f"arn:aws:iam::{ACCOUNT}:role/eks-access-dev-payments"]


def test_import_from_access_entries_recognises_a_team_role_too(tmp_path):
    import json as json_

    from eks_access import adopt, cluster_view

    role = f"arn:aws:iam::{ACCOUNT}:role/eks-access-prod-payments"
    entries = [
        {"accessEntry": {"principalArn": NODE_ROLE, "type": "EC2_LINUX",
                         "username": "system:node:{{EC2PrivateDNSName}}", "kubernetesGroups": []},
         "associatedAccessPolicies": []},
        {"accessEntry": {"principalArn": role, "type": "STANDARD",
                         "username": "payments:{{SessionName}}",
                         "kubernetesGroups": ["eks-access:payments"]},
         "associatedAccessPolicies": []},
        # a role of that name with another username is not taken for the team's
        {"accessEntry": {"principalArn": f"arn:aws:iam::{ACCOUNT}:role/eks-access-prod-ops",
                         "type": "STANDARD", "username": "ops-admin", "kubernetesGroups": []},
         "associatedAccessPolicies": []},
    ]  # fmt: skip
    (tmp_path / "access-entries.json").write_text(json_.dumps(entries))
    (tmp_path / "cluster.json").write_text(
        json_.dumps({"cluster": {"name": "prod", "accessConfig": {"authenticationMode": "API"}}})
    )
    imported, _ = adopt.from_export(cluster_view.read(tmp_path), "prod", "us-east-1")
    said = [n for n in imported.notes if "(`access: role`)" in n]
    assert len(said) == 1 and said[0].startswith(
        f"access entry {role}: the role of eks-access team payments"
    )
    assert "IAM group eks-access-prod-payments, which an access entry does not show" in said[0]


def test_a_created_cluster_refuses_a_role_team_for_now():
    """pulumi-eks writes a created cluster's mappings with the cluster, before the team's role
    exists (an access entry EKS would refuse; an aws-auth write dropping the members' lines
    before their role is there): refused in every mode, with the way out."""
    for mode in ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API"):
        config = raw()
        config["eks-access:cluster"] = {"name": "dev", "create": {"nodeCount": 2},
                                        "authenticationMode": mode}  # fmt: skip
        with pytest.raises(core.ConfigError) as e:
            core.load(config)
        (problem,) = [p for p in e.value.problems if p.path == "teams[0].access"]
        assert "`access: role` cannot be used with `cluster.create` yet" in problem.message
    config["eks-access:teams"][0]["access"] = "user"
    assert core.load(config).teams[0].access == "user"
