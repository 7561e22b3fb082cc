"""The config models: what a stack file may say, validated into immutable objects. The
principals a team lists are the principal kinds' own models (``eks_access.kinds``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from eks_access import arns, presets, regions
from eks_access.fields import (
    KNOWN_VERBS,
    NAMESPACE,
    URL_VERBS,
    DnsLabel,
    Expires,
    GroupName,
    Model,
    NonEmpty,
    PgpKey,
    RoleArn,
    ScopeNamespace,
    Verb,
    cluster_name,
    rbac_name,
    show,
    unknown_verb,
)
from eks_access.kinds import NODE_KINDS
from eks_access.kinds.base import Context
from eks_access.kinds.existing_user import ExistingUser
from eks_access.kinds.iam_role import Role
from eks_access.kinds.iam_user import User
from eks_access.kinds.permission_set import PermissionSet


class PolicyRule(Model):
    """One Kubernetes RBAC PolicyRule, in the spelling of the Kubernetes API."""

    api_groups: tuple[str, ...] = ()
    resources: tuple[NonEmpty, ...] = ()
    verbs: tuple[Verb, ...] = Field(min_length=1)
    resource_names: tuple[NonEmpty, ...] = ()
    non_resource_urls: tuple[NonEmpty, ...] = Field(default=(), alias="nonResourceURLs")

    @model_validator(mode="after")
    def _shape(self) -> PolicyRule:
        if not self.resources and not self.non_resource_urls:
            raise ValueError(
                "a rule needs 'resources' (with 'apiGroups') or 'nonResourceURLs'; add one"
            )
        if self.resources and not self.api_groups:
            raise ValueError(
                "'resources' need 'apiGroups'; use [\"\"] for the core group (pods, secrets, ...)"
            )
        if self.non_resource_urls and (self.resources or self.resource_names):
            raise ValueError(
                "a rule takes either 'resources' or 'nonResourceURLs', not both; split it in two"
            )
        known, what = (
            (URL_VERBS, "for nonResourceURLs (HTTP methods)")
            if self.non_resource_urls
            else (KNOWN_VERBS, "for resources")
        )
        for verb in self.verbs:
            if problem := unknown_verb(verb, known, what):
                raise ValueError(problem)
        return self


def _one_of(names: tuple[str, ...]) -> Any:
    def check(value: str) -> str:
        if value not in names:
            raise ValueError(
                f"expected one of {', '.join(names[:-1])} or {names[-1]}, got the text "
                f"{show(value)}"
            )
        return value

    return AfterValidator(check)


# Access levels by name: the table in eks_access.presets.
Preset = Annotated[str, _one_of(presets.NAMESPACE_ACCESS)]
ClusterAccess = Annotated[str, _one_of(presets.CLUSTER_ACCESS)]


class Team(Model):
    """A team: who is in it, and what they may do in which namespaces."""

    name: DnsLabel
    group: GroupName | None = None
    namespaces: tuple[DnsLabel, ...] = ()
    create_namespaces: bool = False
    namespace_access: Preset | None = None
    rules: tuple[PolicyRule, ...] = ()
    role_name: Annotated[str, AfterValidator(rbac_name)] | None = None
    cluster_access: ClusterAccess | None = None
    cluster_rules: tuple[PolicyRule, ...] = ()
    bind_to: Literal["group", "users"] = "group"
    access_policies: tuple[AccessPolicy, ...] = ()
    # The principal kinds a team lists (eks_access.kinds.TEAM_KINDS), one field each.
    users: tuple[User, ...] = ()
    existing_users: tuple[ExistingUser, ...] = ()
    roles: tuple[Role, ...] = ()
    permission_sets: tuple[PermissionSet, ...] = ()
    renamed_from: tuple[DnsLabel, ...] = ()
    """Earlier names of this team: its resources are renamed in place instead of re-created."""
    map_group: bool = True
    """False: the team's principals are mapped without the team's group (bound by username,
    ``bindTo: users``), as aws-auth entries with no groups are."""
    expires: Expires | None = None
    """When every membership of the team ends (its group, roles and namespaces stay)."""
    access: Literal["user", "role"] = "user"
    """``user``: each principal mapped (an aws-auth line or access entry each); ``role``: the
    team's IAM users reach the cluster through one team role (``eks_access.team_roles``)."""
    require_mfa: bool = False
    """``access: role``: the role may be assumed only in an MFA session."""

    @model_validator(mode="before")
    @classmethod
    def _one_former_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("renamedFrom"), str):
            return {**data, "renamedFrom": [data["renamedFrom"]]}
        return data

    @property
    def kubernetes_group(self) -> str:
        return self.group or f"{NAMESPACE}:{self.name}"

    @property
    def custom_role_name(self) -> str:
        return self.role_name or f"{NAMESPACE}:{self.name}"


AuthMode = Literal["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"]
# One way only: CONFIG_MAP -> API_AND_CONFIG_MAP -> API.
AUTH_MODES: tuple[AuthMode, ...] = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
AccessPolicyName = Annotated[str, _one_of(presets.ACCESS_POLICIES)]


def live_mapping_value(value: str) -> str:
    """An entry of ``removeLiveMappings``: an IAM ARN as aws-auth writes it, or an account."""
    if value.isdigit() and len(value) == 12:
        return value
    try:
        arns.parse_iam_arn(value)
    except arns.ArnError as e:
        raise ValueError(
            f"{e}; list the ARN exactly as the live aws-auth line writes it (or a 12-digit "
            "account of mapAccounts)"
        ) from None
    return value


def principal_arn_value(value: str) -> str:
    try:
        arns.parse_iam_arn(value)
    except arns.ArnError as e:
        raise ValueError(str(e)) from None
    return value


class AccessPolicy(Model):
    """An EKS access policy for every principal of the team (access-entry modes only)."""

    policy: AccessPolicyName
    scope: Literal["cluster", "namespace"] = "namespace"
    namespaces: tuple[ScopeNamespace, ...] = ()
    """For namespace scope; empty means the team's namespaces; ``dev-*`` is a prefix."""
    expires: Expires | None = None
    """When the association ends for the team's principals."""


class CreateCluster(Model):
    """Have the stack create the cluster itself with pulumi-eks (a demo or a new cluster)."""

    version: str | None = None
    instance_type: str = "t3.medium"
    node_count: int = Field(default=2, ge=0, le=100)


CLUSTER_ARN = r"^arn:aws[a-z-]*:eks:[a-z0-9-]+:\d{12}:cluster/[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"


def _node_role_item(value: object) -> object:
    if isinstance(value, Mapping):
        raise ValueError(
            "a node role is listed by its ARN alone: EKS gives each node type its own username "
            "and groups and refuses groups, a username or access policies on it; write the "
            "role's ARN, for example `- arn:aws:iam::111122223333:role/nodes`"
        )
    return value


NodeRoleArn = Annotated[RoleArn, BeforeValidator(_node_role_item)]


class Cluster(Model):
    """The EKS cluster the stack grants access to, and the roles its nodes run as."""

    name: Annotated[str, AfterValidator(cluster_name)]
    authentication_mode: AuthMode = "CONFIG_MAP"
    node_role_arns: tuple[NodeRoleArn, ...] = ()
    windows_node_role_arns: tuple[NodeRoleArn, ...] = ()
    """Roles of Windows nodes: mapped with the extra group ``eks:kube-proxy-windows`` in
    aws-auth, and as ``EC2_WINDOWS`` access entries."""
    fargate_role_arns: tuple[NodeRoleArn, ...] = ()
    auto_node_role_arns: tuple[NodeRoleArn, ...] = ()
    """Node roles of EKS Auto Mode NodeClasses: ``EC2`` access entries with
    AmazonEKSAutoNodePolicy (API modes; never in aws-auth)."""
    hybrid_node_role_arns: tuple[NodeRoleArn, ...] = ()
    """EKS Hybrid Nodes roles: ``HYBRID_LINUX`` entries, and aws-auth lines in
    API_AND_CONFIG_MAP (API modes)."""
    hyperpod_node_role_arns: tuple[NodeRoleArn, ...] = ()
    """SageMaker HyperPod node roles: ``HYPERPOD_LINUX`` entries (API modes; never in
    aws-auth)."""
    node_access_entries: Literal["create", "eks-managed"] | None = None
    """Who gives node roles their access entries: this program, or EKS (managed node groups)."""
    eks_managed_node_roles: tuple[NodeRoleArn, ...] = ()
    """With ``nodeAccessEntries: create``: the node roles whose entries EKS made itself
    (managed node groups, Fargate profiles, Auto Mode's default node role), which the program
    leaves alone while it makes the others' (self-managed, hybrid, a NodeClass's own role)."""
    map_accounts: tuple[Annotated[str, Field(pattern=r"^\d{12}$")], ...] = ()
    """aws-auth ``mapAccounts``: every IAM user and role of these accounts is mapped (to its
    ARN as username, no groups). Kept for clusters adopted with it; prefer explicit entries."""
    creator_principal_arn: Annotated[str, AfterValidator(principal_arn_value)] | None = None
    """The principal EKS made an access entry for when it created the cluster."""
    create: CreateCluster | None = None

    @property
    def node_roles(self) -> tuple[str, ...]:
        """Every node and Fargate role ARN, kind by kind (eks_access.kinds.NODE_KINDS)."""
        return tuple(arn for kind in NODE_KINDS for arn in getattr(self, kind.model_field))

    def creates_node_entry(self, arn: str) -> bool:
        """Whether this program makes the access entry of a listed node role."""
        if self.node_access_entries != "create":
            return False
        key = arns.parse_iam_arn(arn).match_key
        return all(arns.parse_iam_arn(a).match_key != key for a in self.eks_managed_node_roles)

    @property
    def writes_aws_auth(self) -> bool:
        return self.authentication_mode != "API"

    @property
    def writes_access_entries(self) -> bool:
        return self.authentication_mode != "CONFIG_MAP"


class StackConfig(Model):
    """Everything the program reads from stack config."""

    region: str
    cluster: Cluster
    teams: tuple[Team, ...] = ()
    pgp_key: PgpKey | None = None
    identity: Identity | None = None
    """Set in a cluster stack whose users an identity stack owns (``mode: reference``), or
    is about to own (``mode: handover``)."""
    acknowledge_lockout: bool = False
    """Apply even a config that maps no principal but the nodes (docs/safety.md)."""
    acknowledge_cluster_change: Annotated[str, Field(pattern=CLUSTER_ARN)] | None = None
    """The ARN of the cluster this stack is being pointed at, when that is meant: a plan that
    moves the stack's Kubernetes objects to another cluster stops unless this is the new one
    (``eks_access.guards.cluster_change``)."""
    remove_live_mappings: tuple[Annotated[str, AfterValidator(live_mapping_value)], ...] = ()
    """Live aws-auth lines (ARNs, or accounts) that neither the config nor this stack wrote and
    that the next write may remove (``eks_access.live``; docs/safety.md)."""
    # Not a config key (no key maps to it): set by ``load`` from its ``at``, at which every
    # grant past its ``expires`` is gone from the teams.
    ended_users: tuple[User, ...] = ()
    ended_memberships: int = 0
    """How many principal listings ended at ``at``: a config that maps nobody because every grant
    ended is a revocation to carry out, not a mistake (``guards.no_principals``)."""
    """IAM users this stack creates whose every membership has ended at ``at``: kept, with
    their access keys Inactive, so that extending ``expires`` restores them as they were."""

    def user_pgp_key(self, user: User) -> str | None:
        return user.pgp_key or self.pgp_key

    @property
    def creates_users(self) -> bool:
        """Whether this stack creates (owns) the IAM users of its teams."""
        return self.identity is None or self.identity.mode == "handover"

    @property
    def users_account(self) -> str:
        """The account the IAM users are in, as far as config tells: the identity stack's,
        else the node roles' (the account the stack runs in), else the placeholder account."""
        if self.identity is not None:
            return self.identity.account
        for arn in self.cluster.node_roles:
            return arns.parse_iam_arn(arn).account
        return arns.PLACEHOLDER_ACCOUNT

    def context(
        self,
        account: str | None = None,
        partition: str | None = None,
        permission_sets: Mapping[str, str] | None = None,
    ) -> Context:
        """Where this stack's principals live: what their ARNs are built from. Without the
        program's answers (the account, the permission sets' roles), the config's own best
        knowledge and placeholders."""
        return Context(
            account or self.users_account,
            partition or regions.partition_of(self.region) or "aws",
            self.region,
            dict(permission_sets or {}),
            next((arns.parse_iam_arn(a).account for a in self.cluster.node_roles), None),
        )


class Identity(Model):
    """Where IAM users are owned, when one account serves several cluster stacks.

    ``mode: owner``: this stack creates the users and their keys, nothing else (no cluster).
    ``mode: reference``: this cluster stack creates none; it maps the users of ``stack`` (a
    Pulumi stack reference, ``org/project/stack``) and adds their team-group memberships.
    ``mode: handover``: a cluster stack that still creates its users, handing them to the
    identity ``stack``: they and their keys are kept in AWS when this stack lets go of them.
    Without the key, a stack does both, as a single-stack setup always has.
    """

    mode: Literal["owner", "reference", "handover"]
    account: Annotated[str, Field(pattern=r"^\d{12}$")]
    """The AWS account the users live in (their ARNs are known before they exist)."""
    stack: NonEmpty | None = None

    @model_validator(mode="after")
    def _stack_for_reference(self) -> Identity:
        if self.mode in ("reference", "handover") and not self.stack:
            raise ValueError(
                f"mode {self.mode!r} needs 'stack': the identity stack, org/project/stack"
            )
        if self.mode == "owner" and self.stack:
            raise ValueError("an owner stack references no other stack; remove 'stack'")
        return self


class IdentityConfig(Model):
    """An identity stack's config: the users to own (from the teams), nothing about clusters."""

    region: str
    identity: Identity
    teams: tuple[Team, ...] = ()
    pgp_key: PgpKey | None = None

    def user_pgp_key(self, user: User) -> str | None:
        return user.pgp_key or self.pgp_key

    @property
    def users_account(self) -> str:
        return self.identity.account
