"""The plan judged by code no one here wrote: moto's IAM and kubernetes-validate's schemas."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import kubernetes_validate
import pytest
import yaml
from moto import mock_aws
from moto.iam.access_control import IAMPolicy, PermissionResult

from tests.conftest import DEV, ROOT

CLUSTER_ARN = "arn:aws:eks:us-east-1:111122223333:cluster/dev"


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("oracle-plan")
    subprocess.run(
        [sys.executable, "-m", "eks_access", "plan", "--config-file", str(DEV), "--out", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return out


def policies(plan_dir):
    iam = json.loads((plan_dir / "iam.json").read_text())
    return [(g["name"], doc) for g in iam["groups"] for doc in g["policies"]]


@mock_aws
def test_moto_iam_accepts_every_policy_and_user(plan_dir):
    client = boto3.client("iam", region_name="us-east-1")
    iam = json.loads((plan_dir / "iam.json").read_text())
    assert iam["groups"], "the dev plan must have team groups"
    for group in iam["groups"]:
        client.create_group(GroupName=group["name"])
        for i, doc in enumerate(group["policies"]):
            client.put_group_policy(
                GroupName=group["name"], PolicyName=f"p{i}", PolicyDocument=json.dumps(doc)
            )
            stored = client.get_group_policy(GroupName=group["name"], PolicyName=f"p{i}")[
                "PolicyDocument"
            ]
            assert stored == doc
    for user in iam["users"]:
        client.create_user(UserName=user["name"], Path=user["path"])
        for g in user["groups"]:
            client.add_user_to_group(GroupName=g, UserName=user["name"])
        for _ in user["accessKeys"]:
            client.create_access_key(UserName=user["name"])
        assert len(client.list_access_keys(UserName=user["name"])["AccessKeyMetadata"]) == len(
            user["accessKeys"]
        )


@pytest.mark.parametrize(
    ("action", "resource", "expected"),
    [
        ("eks:DescribeCluster", CLUSTER_ARN, PermissionResult.PERMITTED),
        (
            "eks:DescribeCluster",
            "arn:aws:eks:us-east-1:111122223333:cluster/prod",
            PermissionResult.NEUTRAL,
        ),
        ("eks:DescribeCluster", "*", PermissionResult.NEUTRAL),
        ("eks:ListClusters", CLUSTER_ARN, PermissionResult.NEUTRAL),
        ("eks:DeleteCluster", CLUSTER_ARN, PermissionResult.NEUTRAL),
        ("iam:CreateAccessKey", "*", PermissionResult.NEUTRAL),
    ],
)
def test_moto_policy_evaluation_allows_describe_on_this_cluster_only(
    plan_dir, action, resource, expected
):
    # NEUTRAL is IAM's implicit deny: nothing allows it, so it is denied.
    for name, doc in policies(plan_dir):
        assert IAMPolicy(json.dumps(doc)).is_action_permitted(action, resource) == expected, (
            name,
            action,
            resource,
        )


def kubernetes_documents(plan_dir):
    docs = list(yaml.safe_load_all((plan_dir / "rbac.yaml").read_text()))
    docs += list(yaml.safe_load_all((plan_dir / "aws-auth.yaml").read_text()))
    return docs


def test_every_kubernetes_object_is_valid_for_the_newest_kubernetes(plan_dir):
    version = kubernetes_validate.latest_version()
    docs = kubernetes_documents(plan_dir)
    assert {d["kind"] for d in docs} == {
        "Namespace",
        "Role",
        "RoleBinding",
        "ClusterRoleBinding",
        "ConfigMap",
    }
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_would_catch_a_broken_object(plan_dir):
    # Proof the oracle is awake: the same object with a typo in a field name is rejected.
    doc = next(d for d in kubernetes_documents(plan_dir) if d["kind"] == "RoleBinding")
    doc["roleref"] = doc.pop("roleRef")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
