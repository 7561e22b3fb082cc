"""Who the stack maps: every IAM principal with the Kubernetes username and groups it gets.

This is the one identity table that aws-auth, access entries and access evaluation all read,
so the three can never disagree about who is who.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from eks_access import arns
from eks_access.config import StackConfig

Kind = Literal["user", "role", "node", "windows", "fargate"]

NODE_USERNAME = "system:node:{{EC2PrivateDNSName}}"
NODE_GROUPS = ("system:bootstrappers", "system:nodes")
WINDOWS_NODE_GROUPS = (*NODE_GROUPS, "eks:kube-proxy-windows")
"""What EKS maps a Windows node role to (EKS user guide, "Apply the aws-auth ConfigMap")."""
FARGATE_USERNAME = "system:node:{{SessionName}}"
FARGATE_GROUPS = ("system:bootstrappers", "system:nodes", "system:node-proxier")


@dataclass(frozen=True)
class Principal:
    """One IAM principal and the Kubernetes identity EKS gives it."""

    kind: Kind
    arn: arns.IamArn
    username: str
    groups: tuple[str, ...]
    teams: tuple[str, ...] = ()
    managed: bool = False
    """True for IAM users this stack creates (and so owns)."""

    @property
    def is_node(self) -> bool:
        return self.kind in ("node", "windows", "fargate")


def principals(config: StackConfig, account: str, partition: str = "aws") -> list[Principal]:
    """Every principal the stack maps, node roles first, then by ARN; one entry per principal.

    ``account`` and ``partition`` are those the IAM users are created in. A principal listed by
    several teams gets the union of their groups (aws-auth would otherwise keep only the last).
    """
    nodes = (
        [
            Principal("node", arns.parse_iam_arn(a, "role"), NODE_USERNAME, NODE_GROUPS)
            for a in config.cluster.node_role_arns
        ]
        + [
            Principal("windows", arns.parse_iam_arn(a, "role"), NODE_USERNAME, WINDOWS_NODE_GROUPS)
            for a in config.cluster.windows_node_role_arns
        ]
        + [
            Principal("fargate", arns.parse_iam_arn(a, "role"), FARGATE_USERNAME, FARGATE_GROUPS)
            for a in config.cluster.fargate_role_arns
        ]
    )
    members: dict[str, Principal] = {}

    def add(
        kind: Kind,
        arn: arns.IamArn,
        username: str,
        group: str | None,
        team: str,
        managed: bool = False,
    ) -> None:
        groups = {group} if group else set()
        known = members.get(arn.match_key)
        if known is None:
            members[arn.match_key] = Principal(
                kind, arn, username, tuple(sorted(groups)), (team,), managed
            )
        else:
            members[arn.match_key] = Principal(
                kind,
                known.arn,
                known.username,
                tuple(sorted({*known.groups, *groups})),
                tuple(sorted({*known.teams, team})),
                known.managed,
            )

    for team in config.teams:
        group = team.kubernetes_group if team.map_group else None
        for user in team.users:
            arn = arns.user_arn(partition, account, user.name, user.path)
            add("user", arn, user.kubernetes_username, group, team.name, True)
        for existing in team.existing_users:
            arn = arns.parse_iam_arn(existing.arn, "user")
            add("user", arn, existing.kubernetes_username, group, team.name)
        for role in team.roles:
            add(
                "role",
                arns.parse_iam_arn(role.arn, "role"),
                role.kubernetes_username,
                group,
                team.name,
            )
    return sorted(nodes, key=lambda p: p.arn.match_key) + sorted(
        members.values(), key=lambda p: p.arn.match_key
    )
