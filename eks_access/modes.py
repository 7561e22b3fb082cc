"""Authentication modes: which mechanisms a cluster reads, and moving between them safely.

EKS modes only move forward (CONFIG_MAP -> API_AND_CONFIG_MAP -> API). This module decides
whether the config's mode fits the live cluster, what identity each principal ends up with in
a given cluster state, and the ordered steps of a migration in which nobody loses access.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eks_access import arns, awsauth
from eks_access.config import AUTH_MODES, AuthMode, StackConfig
from eks_access.kinds import NODE_KINDS

Identity = tuple[str, tuple[str, ...]]  # (username, sorted groups)


def live_mode_problems(live: str, desired: AuthMode, cluster: str, region: str) -> list[str]:
    """Why the config's mode cannot be applied to a cluster in mode ``live`` (empty: it can)."""
    if live not in AUTH_MODES:
        return [
            f"the cluster reports authentication mode {live!r}, which this program does not know"
        ]
    if live == "API" and desired != "API":
        return [
            f"cluster.authenticationMode: the cluster is in API mode and EKS cannot go back, so "
            f"it ignores aws-auth; {desired} would map principals nobody reads. Set "
            "authenticationMode: API"
        ]
    if live == "CONFIG_MAP" and desired != "CONFIG_MAP":
        return [
            f"cluster.authenticationMode: the cluster is in CONFIG_MAP mode, where EKS refuses "
            f"access entries. Switch the cluster first (one way): aws eks update-cluster-config "
            f"--region {region} --name {cluster} --access-config authenticationMode="
            f"API_AND_CONFIG_MAP  (see `python -m eks_access migrate`)"
        ]
    return []


def account_problems(config: StackConfig, account: str) -> list[str]:
    """Why the stack must not run in ``account`` (empty: it may). The offline plan takes the
    users' account from the node roles (or the identity config), so a stack that creates users
    must run where its nodes are, or every planned ARN would be wrong. And in the API modes,
    EKS takes a node-type entry only for a role in the cluster's own account (where the stack
    runs)."""
    out = []
    if config.cluster.writes_access_entries:
        for kind in NODE_KINDS:
            for i, arn in enumerate(getattr(config.cluster, kind.model_field)):
                found = arns.parse_iam_arn(arn).account
                if found != account:
                    out.append(
                        f"cluster.{kind.config_key}[{i}]: {arn} is in account {found}, but this "
                        f"stack (and so the cluster) runs in account {account}; EKS takes node "
                        "roles of the cluster's own account only: fix the ARN, or run the stack "
                        f"with credentials of {found}"
                    )
    expected = config.users_account
    if out or expected == account:
        return out
    if config.identity is None and not config.cluster.node_roles:
        return []  # the config names no account: the users are made where the stack runs
    if config.creates_users:
        where = "eks-access:identity.account" if config.identity else "cluster.nodeRoleArns"
        return [
            f"{where}: says account {expected}, but this stack runs in account {account}, where "
            f"it would create the IAM users; run it with credentials of {expected}, or fix {where}"
        ]
    # A cluster stack adds the identity stack's users to its own team groups (and an `access:
    # role` team's group is what lets its members assume the role): IAM groups hold users of
    # their own account only, so AWS would refuse every membership half-way through an up.
    teams = [t.name for t in config.teams if t.users]
    if not teams:
        return []
    return [
        f"eks-access:identity.account: the IAM users of teams {', '.join(teams)} are in account "
        f"{expected}, but this stack runs in account {account}; it adds them to its team groups "
        "(which give eks:DescribeCluster and an `access: role` team's role), and an IAM group "
        f"holds users of its own account only: run the stack with credentials of {expected}, "
        "or map those people in an `access: user` team through roles or permission sets of "
        f"account {account} instead of IAM users"
    ]


@dataclass(frozen=True)
class ClusterState:
    """What one cluster holds at one moment: its mode, its aws-auth data, its access entries."""

    mode: AuthMode
    aws_auth: Mapping[str, str] = field(default_factory=dict)
    entries: tuple[Mapping[str, Any], ...] = ()  # access-entries.json objects
    eks_managed_node_entries: tuple[tuple[str, str], ...] = ()
    """(node role ARN, entry type) of the entries EKS made itself (managed node groups,
    Fargate profiles)."""


def effective_identities(state: ClusterState) -> dict[str, Identity]:
    """Principal (authenticator match key) -> (username, groups), as EKS resolves them.

    Access entries win over aws-auth where both name a principal (API_AND_CONFIG_MAP).
    Node entries (EC2_LINUX/FARGATE_LINUX) carry EKS's own node identity.
    """
    out: dict[str, Identity] = {}
    if state.mode != "API":
        for key, m in awsauth.parse(state.aws_auth).mappings.items():
            out[key] = (m.username, tuple(sorted(m.groups)))
    if state.mode != "CONFIG_MAP":
        for e in state.entries:
            key = arns.parse_iam_arn(e["principalArn"]).match_key
            if e["type"] == "STANDARD":
                out[key] = (e["userName"] or "", tuple(sorted(e["kubernetesGroups"])))
            else:
                out[key] = _node_identity(e["type"])
        for arn, entry_type in state.eks_managed_node_entries:
            out[arns.parse_iam_arn(arn).match_key] = _node_identity(entry_type)
    return out


def _node_identity(entry_type: str) -> Identity:
    kind = next(k for k in NODE_KINDS if k.entry_type == entry_type)
    return (kind.username, tuple(sorted(kind.groups)))


def lost_access(before: Mapping[str, Identity], after: Mapping[str, Identity]) -> list[str]:
    """Principals whose identity is gone or changed between two states, as readable lines."""
    out = []
    for key, identity in sorted(before.items()):
        now = after.get(key)
        if now is None:
            out.append(f"{key}: loses access (was {identity[0]} in {list(identity[1])})")
        elif now[0] != identity[0] or not set(identity[1]) <= set(now[1]):
            out.append(
                f"{key}: changes from {identity[0]} {list(identity[1])} to {now[0]} {list(now[1])}"
            )
    return out


def path(current: AuthMode, target: AuthMode) -> list[AuthMode]:
    """The modes passed through on the way; raises ValueError when going backwards."""
    i, j = AUTH_MODES.index(current), AUTH_MODES.index(target)
    if j < i:
        raise ValueError(
            f"cannot migrate from {current} to {target}: EKS authentication modes only move "
            "forward (CONFIG_MAP -> API_AND_CONFIG_MAP -> API)"
        )
    return list(AUTH_MODES[i + 1 : j + 1])


def cluster_command(region: str, cluster: str, mode: AuthMode) -> str:
    return (
        f"aws eks update-cluster-config --region {region} --name {cluster} "
        f"--access-config authenticationMode={mode} && aws eks wait cluster-active "
        f"--region {region} --name {cluster}"
    )


def describe(items: Iterable[str]) -> str:
    return "\n".join(f"    {i}" for i in items) or "    (nothing)"
