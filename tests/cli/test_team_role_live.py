"""can-i and who-can with ``--live`` for an ``access: role`` team (issue 29): the cluster maps the
team's role; who may assume it is IAM's (the team's group, as the config lists it), so a
member's user ARN is answered through the role the cluster maps, and who-can names people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from eks_access import stackfile
from offline import plan
from offline.run import run
from tests.conftest import NODE_ROLE, write_stack

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-access-dev-payments"


def test_live_answers_for_a_role_teams_members_through_the_mapped_role(
    tmp_path: Path, invoke: Any
) -> None:
    raw = {
        "aws:region": "us-east-1",
        "eks-access:cluster": {"name": "dev", "nodeRoleArns": [NODE_ROLE]},
        "eks-access:teams": [
            {"name": "payments", "access": "role", "namespaces": ["payments"],
             "createNamespaces": True, "namespaceAccess": "edit", "users": ["alice", "bob"]},
        ],
    }  # fmt: skip
    stack = write_stack(tmp_path, raw, "dev")
    planned = run(stackfile.read(stack))

    def export(folder: Path, data: dict[str, str]) -> str:
        folder.mkdir()
        meta = {"name": "aws-auth", "namespace": "kube-system"}
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}
        (folder / "aws-auth.yaml").write_text(yaml.safe_dump(cm))
        items = plan.kubernetes_objects(planned)
        (folder / "rbac.yaml").write_text(yaml.safe_dump({"kind": "List", "items": items}))
        return str(folder)

    applied = plan.aws_auth_data(planned)
    roles = yaml.safe_load(applied["mapRoles"])
    assert ROLE in {r["rolearn"] for r in roles}
    assert yaml.safe_load(applied["mapUsers"]) == []  # the role maps the team: nobody else
    live = export(tmp_path / "applied", applied)
    ask = ("can-i", "get", "pods", "-n", "payments", "--config-file", str(stack), "--live", live)
    r = invoke(*ask, "--as", ALICE)
    assert r.returncode == 0 and r.stdout.strip() == "yes"
    assert (
        "by assuming role eks-access-dev-payments under its own name (as payments:alice)"
        in r.stderr
    )
    assert "the members of access: role teams as the config lists them" in r.stderr
    assert invoke(*ask, "--as", f"arn:aws:iam::{ACCOUNT}:user/carol").returncode == 1
    who = invoke("who-can", "get", "pods", "-n", "payments", "--config-file", str(stack),
                 "--live", live)  # fmt: skip
    assert {line.split("\t")[1] for line in who.stdout.splitlines()[1:]} == {
        "payments:alice",
        "payments:bob",
    }
    # A cluster that does not map the role yet (before the up) gives its members nothing
    others = [r for r in roles if r["rolearn"] != ROLE]
    before = export(tmp_path / "before", {**applied, "mapRoles": yaml.safe_dump(others)})
    r = invoke("can-i", "get", "pods", "-n", "payments", "--config-file", str(stack),
               "--live", before, "--as", ALICE)  # fmt: skip
    assert r.returncode == 1 and "is not mapped" in r.stderr


def test_live_finds_the_role_in_the_clusters_account_when_the_config_cannot_tell(
    tmp_path: Path, invoke: Any
) -> None:
    """A stack with no node roles listed (EKS makes the nodes' entries) and no identity stack
    plans with a placeholder account; the cluster maps the role in its real account, and the
    members are answered for there."""
    import json

    real = "999988887777"
    raw = {
        "aws:region": "us-east-1",
        "eks-access:cluster": {"name": "dev", "authenticationMode": "API",
                               "nodeAccessEntries": "eks-managed"},
        "eks-access:teams": [{"name": "payments", "access": "role", "namespaces": ["payments"],
                              "createNamespaces": True, "namespaceAccess": "edit",
                              "users": ["alice"]}],
    }  # fmt: skip
    stack = write_stack(tmp_path, raw, "dev")
    planned = run(stackfile.read(stack))
    folder = tmp_path / "live"
    folder.mkdir()
    role = f"arn:aws:iam::{real}:role/eks-access-dev-payments"
    entry = {"principalArn": role, "type": "STANDARD", "username": "payments:{{SessionName}}",
             "kubernetesGroups": ["eks-access:payments"]}  # fmt: skip
    (folder / "access-entries.json").write_text(
        json.dumps([{"accessEntry": entry, "associatedAccessPolicies": []}])
    )
    (folder / "cluster.json").write_text(
        json.dumps({"cluster": {"name": "dev", "accessConfig": {"authenticationMode": "API"}}})
    )
    items = plan.kubernetes_objects(planned)
    (folder / "rbac.yaml").write_text(yaml.safe_dump({"kind": "List", "items": items}))
    r = invoke("can-i", "get", "pods", "-n", "payments", "--config-file", str(stack),
               "--live", str(folder), "--as", f"arn:aws:iam::{real}:user/alice")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "(as payments:alice)" in r.stderr
    who = invoke("who-can", "get", "pods", "-n", "payments", "--config-file", str(stack),
                 "--live", str(folder))  # fmt: skip
    assert [line.split("\t")[:2] for line in who.stdout.splitlines()[1:]] == [
        [f"arn:aws:iam::{real}:user/alice", "payments:alice"]
    ]
