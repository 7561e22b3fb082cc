"""Who the stack maps: every IAM principal with the Kubernetes username and groups it gets.

This is the one identity table that aws-auth, access entries and access evaluation all read,
so the three can never disagree about who is who. It is built from the registry of principal
kinds (``eks_access.kinds``): node kinds from the cluster, team kinds from each team.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from eks_access import arns, kinds, team_roles
from eks_access.config.models import StackConfig
from eks_access.kinds.nodes import (
    FARGATE_GROUPS,
    FARGATE_USERNAME,
    NODE_GROUPS,
    NODE_USERNAME,
    WINDOWS_NODE_GROUPS,
)

Kind = Literal["user", "role", "node", "windows", "fargate", "auto", "hybrid", "hyperpod"]
__all__ = [
    "FARGATE_GROUPS",
    "FARGATE_USERNAME",
    "NODE_GROUPS",
    "NODE_USERNAME",
    "WINDOWS_NODE_GROUPS",
    "Principal",
    "principals",
]


@dataclass(frozen=True)
class Principal:
    """One IAM principal and the Kubernetes identity EKS gives it."""

    kind: Kind
    """The IAM principal type for team members (user or role), else the node kind."""
    arn: arns.IamArn
    username: str
    groups: tuple[str, ...]
    teams: tuple[str, ...] = ()
    managed: bool = False
    """True for IAM users this stack creates (and so owns)."""
    entry_key: str = ""
    """The stable key of its access entry: ``<kind>-<account>-<name>``."""
    source: str = ""
    """The config key that lists it (``users``, ``permissionSets``, ``nodeRoleArns``...)."""

    @property
    def is_node(self) -> bool:
        return self.kind in kinds.NODE_KIND


TEAM_ROLE_SOURCE = "access: role"
"""``Principal.source`` of a team's role (``eks_access.team_roles``)."""


def principals(
    config: StackConfig,
    account: str | None = None,
    partition: str | None = None,
    permission_sets: Mapping[str, str] | None = None,
) -> list[Principal]:
    """Every principal the stack maps, node roles first, then by ARN; one entry per principal.

    ``account`` and ``partition`` are those the IAM users are created in (default: what the
    config tells, see ``StackConfig.context``); ``permission_sets`` the roles the program found
    for them. A principal listed by several teams gets the union of their groups (aws-auth
    would otherwise keep only the last).
    """
    ctx = config.context(account, partition, permission_sets)
    nodes = [
        Principal(
            kind.name,
            arn := arns.parse_iam_arn(a, "role"),
            kind.username,
            kind.groups,
            entry_key=f"node-{arn.account}-{arn.name}",
            source=kind.config_key,
        )
        for kind in kinds.NODE_KINDS
        for a in getattr(config.cluster, kind.model_field)
    ]
    members: dict[str, Principal] = {}
    for t, team in enumerate(config.teams):
        groups = (team.kubernetes_group,) if team.map_group else ()
        if team.access == "role":  # one mapping for the team: its members assume the role
            if not team.users:
                continue  # nobody to assume it (its members' grants ended): not mapped
            role = team_roles.role_arn(
                ctx.partition, ctx.cluster_account or ctx.account, config.cluster.name, team.name
            )
            members[role.match_key] = Principal(
                "role",
                role,
                team_roles.username(team.name),
                groups,
                (team.name,),
                False,
                f"teamrole-{role.account}-{role.name}",
                TEAM_ROLE_SOURCE,
            )
            continue
        for m in kinds.members(team, f"teams[{t}]", ctx):
            known = members.get(m.arn.match_key)
            if known is None:
                members[m.arn.match_key] = Principal(
                    m.kind.principal,
                    m.arn,
                    m.username,
                    groups,
                    (team.name,),
                    m.kind.managed,
                    m.kind.entry_key(m.item, m.arn),
                    m.kind.config_key,
                )
            else:
                members[m.arn.match_key] = Principal(
                    known.kind,
                    known.arn,
                    known.username,
                    tuple(sorted({*known.groups, *groups})),
                    tuple(sorted({*known.teams, team.name})),
                    known.managed,
                    known.entry_key,
                    known.source,
                )
    return sorted(nodes, key=lambda p: p.arn.match_key) + sorted(
        members.values(), key=lambda p: p.arn.match_key
    )
