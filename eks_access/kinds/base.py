"""What a principal kind is: everything the program needs to know about one kind of IAM principal,
in one place (docs/architecture.md).

A team kind is listed under a team (``users``, ``existingUsers``, ``roles``, ``permissionSets``);
a node kind under the cluster (``nodeRoleArns``, ...). Each owns its config model, the ARN it
maps, its default username and allowed templates, its access-entry type and key, how ``import``
recognises it in an aws-auth, and its own checks. The rest of the code iterates over the
registry (``eks_access.kinds``) instead of naming kinds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from eks_access import arns
from eks_access.fields import ROLE_TEMPLATES
from eks_access.problems import Problem


@dataclass(frozen=True)
class Context:
    """What a principal's ARN depends on beyond the config: where the stack's IAM users live,
    and the roles behind IAM Identity Center permission sets (looked up by the program;
    placeholders offline)."""

    account: str = arns.PLACEHOLDER_ACCOUNT
    partition: str = "aws"
    region: str = "us-east-1"
    permission_sets: Mapping[str, str] = field(default_factory=dict)
    """Permission set name -> the ARN of its role, path included."""
    cluster_account: str | None = None
    """The account the cluster (and its IAM Identity Center roles) is in, when it is not the
    users' (an identity stack in another account); None: the same."""


@dataclass(frozen=True)
class Member:
    """One principal as a team lists it."""

    kind: TeamKind
    item: Any
    path: str
    """Where the config lists it: ``teams[1].roles[0]``."""
    arn: arns.IamArn
    username: str


class TeamKind:
    """A kind of principal a team lists. Subclasses set the class attributes and ``arn``."""

    config_key: ClassVar[str]
    """The config key under a team (camelCase)."""
    model_field: ClassVar[str]
    """The Team model's field holding the items."""
    model: ClassVar[type[BaseModel]]
    principal: ClassVar[Literal["user", "role"]]
    """The IAM principal type: its aws-auth section (mapUsers or mapRoles)."""
    entry_prefix: ClassVar[str]
    """Access entries of this kind are keyed ``<prefix>-<account>-<name>``."""
    templates: ClassVar[frozenset[str]] = ROLE_TEMPLATES
    """Username templates the authenticator fills for this kind."""
    managed: ClassVar[bool] = False
    """Whether this stack creates (and so owns) the principal."""
    noun: ClassVar[str]
    """What messages call one item: "a user", "a role"."""

    def items(self, team: Any) -> Sequence[Any]:
        return tuple(getattr(team, self.model_field))

    def arn(self, item: Any, ctx: Context) -> arns.IamArn:
        raise NotImplementedError

    def username(self, item: Any) -> str:
        """The Kubernetes username: the item's own, else this kind's default."""
        raise NotImplementedError

    def key_name(self, item: Any, arn: arns.IamArn) -> str:
        """The stable part of resource names keyed by this principal (never a list position)."""
        return arn.name

    def entry_key(self, item: Any, arn: arns.IamArn) -> str:
        return f"{self.entry_prefix}-{arn.account}-{self.key_name(item, arn)}"

    def identity_key(self, item: Any, ctx: Context) -> str:
        """What two listings of one principal share (compared before any ARN is resolved)."""
        return self.arn(item, ctx).match_key

    def item_checks(self, item: Any, path: str, team: Any) -> list[Problem]:
        """Checks of one listed item that pydantic cannot make alone."""
        return []

    def config_checks(self, teams: Sequence[Any]) -> list[Problem]:
        """Checks across every team's items of this kind."""
        return []

    def recognize(self, arn: arns.IamArn, username: str) -> dict[str, Any] | None:
        """``import``: the config item for an aws-auth mapping of this kind, or None."""
        return None


@dataclass(frozen=True)
class NodeKind:
    """A kind of node role the cluster lists: mapped to EKS's own node identity."""

    name: Literal["node", "windows", "fargate", "auto", "hybrid", "hyperpod"]
    model_field: str
    """The Cluster model's field holding the role ARNs."""
    config_key: str
    """Its config key under ``eks-access:cluster``."""
    username: str
    groups: tuple[str, ...]
    entry_type: str
    """The access-entry type EKS gives such a role."""
    aws_auth: bool = True
    """Whether aws-auth can map it (Auto Mode and HyperPod nodes join through access entries
    only)."""
    config_map_mode: bool = True
    """Whether a cluster in ``CONFIG_MAP`` mode can have such nodes (hybrid, Auto Mode and
    HyperPod nodes need access entries, so an API mode)."""
    policy: str | None = None
    """The access policy EKS requires on the entry (cluster scope), if any."""
    username_published: bool = True
    """Whether the guide publishes the username EKS gives the type; where it does not, the
    program never writes one (EKS sets it) and ``username`` is a placeholder for display."""

    def recognize(self, username: str, groups: Sequence[str]) -> bool:
        """``import``: whether an aws-auth mapping is this kind of node (never one of a kind
        aws-auth cannot map)."""
        return self.aws_auth and username == self.username and set(groups) == set(self.groups)
