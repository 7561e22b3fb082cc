"""EKS access entries: one per principal, from the same identity table as aws-auth.

Access entries take the real IAM ARN (path kept), the principal's Kubernetes groups and
username, and optionally EKS access policies. A principal listed by several teams gets one
entry with the union of their groups and of their policies (each policy once: cluster scope
wins, namespace scopes merge), since EKS allows one entry per principal and each policy once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from eks_access import expiring, kinds, presets, rules
from eks_access.config import AccessPolicyName, StackConfig
from eks_access.kinds import NODE_KIND, NODE_KINDS
from eks_access.principals import Principal, principals
from eks_access.rbac import CLUSTER_ADMIN_TEAM

EntryType = Literal[
    "STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX"
]
NODE_ENTRY_TYPES: dict[str, str] = {k.name: k.entry_type for k in NODE_KINDS}


policy_arn = presets.policy_arn


@dataclass(frozen=True)
class PolicyGrant:
    policy: AccessPolicyName
    arn: str
    scope: Literal["cluster", "namespace"]
    namespaces: tuple[str, ...] = ()

    @property
    def eks_name(self) -> str:
        """EKS's name of the policy (``AmazonEKSViewPolicy``), whatever the config calls it."""
        return self.arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class EntrySpec:
    """One access entry as the program will register it."""

    key: str
    """Stable resource key: the principal's kind, account and name (never a list position)."""
    principal: Principal
    type: EntryType
    policies: tuple[PolicyGrant, ...] = ()
    cluster_admin_teams: tuple[str, ...] = ()
    """Teams whose config grants this principal cluster-admin (tagged on the entry)."""
    grants_end: str | None = None
    """``rules.GRANTS_END``: when its last admin-level access policy ends (tagged), if all end."""

    @property
    def tags(self) -> dict[str, str]:
        tags = {"managed-by": "eks-access"}
        if self.cluster_admin_teams:
            tags[CLUSTER_ADMIN_TEAM] = " ".join(self.cluster_admin_teams)
        if self.grants_end is not None:
            tags[rules.GRANTS_END] = self.grants_end
        return tags

    @property
    def principal_arn(self) -> str:
        return self.principal.arn.arn

    @property
    def kubernetes_groups(self) -> tuple[str, ...]:
        return self.principal.groups if self.type == "STANDARD" else ()

    @property
    def username(self) -> str | None:
        return self.principal.username if self.type == "STANDARD" else None


def _grants(config: StackConfig, p: Principal, partition: str) -> tuple[PolicyGrant, ...]:
    scopes: dict[str, set[str] | None] = {}  # policy -> namespaces, or None for cluster scope
    for team in config.teams:
        if team.name not in p.teams:
            continue
        for ap in team.access_policies:
            if ap.scope == "cluster":
                scopes[ap.policy] = None
            elif (known := scopes.setdefault(ap.policy, set())) is not None:
                known.update(ap.namespaces or team.namespaces)
    return tuple(
        PolicyGrant(name, policy_arn(name, partition), "cluster")
        if ns is None
        else PolicyGrant(name, policy_arn(name, partition), "namespace", tuple(sorted(ns)))
        for name, ns in sorted(scopes.items())
    )


def entries(
    config: StackConfig,
    account: str | None = None,
    partition: str | None = None,
    permission_sets: Mapping[str, str] | None = None,
) -> list[EntrySpec]:
    """Every access entry the program owns in this config's mode (none in CONFIG_MAP)."""
    if not config.cluster.writes_access_entries:
        return []
    partition = config.context(account, partition).partition
    out: list[EntrySpec] = []
    admin_ends = _admin_policy_ends(config, account, partition, permission_sets)
    for p in principals(config, account, partition, permission_sets):
        if p.is_node:
            if config.cluster.creates_node_entry(p.arn.arn):
                kind = NODE_KIND[p.kind]
                grants = (
                    (
                        PolicyGrant(
                            kind.policy,
                            presets.access_policy_arn(kind.policy, partition),
                            "cluster",
                        ),
                    )
                    if kind.policy
                    else ()
                )
                out.append(EntrySpec(p.entry_key, p, kind.entry_type, grants))  # type: ignore[arg-type]
            continue
        admins = tuple(
            t.name
            for t in config.teams
            if t.name in p.teams
            and (
                t.cluster_access == presets.ADMIN
                or any(a.policy == presets.ADMIN for a in t.access_policies)
            )
        )
        ends = admin_ends.get(p.arn.match_key)
        end = expiring.latest(ends) if ends else None
        out.append(
            EntrySpec(p.entry_key, p, "STANDARD", _grants(config, p, partition), admins, end)
        )
    return out


def _admin_policy_ends(
    config: StackConfig,
    account: str | None,
    partition: str | None,
    permission_sets: Mapping[str, str] | None,
) -> dict[str, list[datetime | None]]:
    """By principal (match key): when each of its admin-level access policies ends (the
    policy's, the membership's or the team's end, the earliest)."""
    ctx = config.context(account, partition, permission_sets)
    out: dict[str, list[datetime | None]] = {}
    for t, team in enumerate(config.teams):
        policies = [a for a in team.access_policies if a.policy in rules.ADMIN_LEVELS]
        if not policies:
            continue
        for m in kinds.members(team, f"teams[{t}]", ctx):
            out.setdefault(m.arn.match_key, []).extend(
                expiring.end_of_all(a.expires, m.item.expires, team.expires) for a in policies
            )
    return out
