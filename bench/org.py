"""Synthetic organisations for the benchmarks: N principals in teams of 25, 80% IAM users
(one access key each) and 20% IAM roles, two namespaces per team."""

from __future__ import annotations

from typing import Any

ACCOUNT = "111122223333"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-nodes"
TEAM_SIZE = 25


def user(i: int) -> dict[str, Any]:
    return {"name": f"user{i:05d}", "keys": ["v1"]}


def role(i: int) -> dict[str, Any]:
    return {"arn": f"arn:aws:iam::{ACCOUNT}:role/sso/Role{i:05d}", "username": f"role{i:05d}"}


def team(t: int, members: range) -> dict[str, Any]:
    users = [user(i) for i in members if i % 5 != 4]
    roles = [role(i) for i in members if i % 5 == 4]
    return {
        "name": f"team{t:04d}",
        "namespaces": [f"team{t:04d}-app", f"team{t:04d}-jobs"],
        "createNamespaces": True,
        "namespaceAccess": "edit",
        "users": users,
        "roles": roles,
    }


def org(principals: int, mode: str = "CONFIG_MAP") -> dict[str, Any]:
    """Raw stack config with ``principals`` users and roles (node roles not counted)."""
    cluster: dict[str, Any] = {
        "name": "bench",
        "nodeRoleArns": [NODE_ROLE],
        "authenticationMode": mode,
    }
    if mode != "CONFIG_MAP":
        cluster["nodeAccessEntries"] = "eks-managed"
    teams = [
        team(t, range(start, min(start + TEAM_SIZE, principals)))
        for t, start in enumerate(range(0, principals, TEAM_SIZE))
    ]
    return {"aws:region": "us-east-1", "eks-access:cluster": cluster, "eks-access:teams": teams}
