"""The registry of principal kinds: every kind of IAM principal the config can name, each a
module (docs/architecture.md). Code elsewhere iterates over ``TEAM_KINDS`` and
``NODE_KINDS``; adding a kind is a module here, its entry below and its field in the Team (or
Cluster) model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eks_access.kinds.base import Context, Member, NodeKind, TeamKind
from eks_access.kinds.existing_user import ExistingUsers
from eks_access.kinds.iam_role import Roles
from eks_access.kinds.iam_user import IamUsers
from eks_access.kinds.nodes import AUTO, FARGATE, HYBRID, HYPERPOD, LINUX, WINDOWS
from eks_access.kinds.permission_set import PermissionSets

IAM_USERS = IamUsers()
EXISTING_USERS = ExistingUsers()
ROLES = Roles()
PERMISSION_SETS = PermissionSets()
TEAM_KINDS: tuple[TeamKind, ...] = (IAM_USERS, EXISTING_USERS, ROLES, PERMISSION_SETS)
"""In the order members are listed (and so first defined)."""
NODE_KINDS: tuple[NodeKind, ...] = (LINUX, WINDOWS, FARGATE, AUTO, HYBRID, HYPERPOD)
NODE_KIND: dict[str, NodeKind] = {k.name: k for k in NODE_KINDS}


def members(team: Any, team_path: str, ctx: Context) -> Iterator[Member]:
    """Every principal a team lists, kind by kind: the one expansion of a team everything else
    (checks, the identity table, RBAC subjects) reads."""
    for kind in TEAM_KINDS:
        for i, item in enumerate(kind.items(team)):
            yield Member(
                kind,
                item,
                f"{team_path}.{kind.config_key}[{i}]",
                kind.arn(item, ctx),
                kind.username(item),
            )


__all__ = [
    "EXISTING_USERS",
    "IAM_USERS",
    "NODE_KIND",
    "NODE_KINDS",
    "PERMISSION_SETS",
    "ROLES",
    "TEAM_KINDS",
    "Context",
    "Member",
    "NodeKind",
    "TeamKind",
    "members",
]
