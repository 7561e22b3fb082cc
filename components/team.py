"""Team: one team's IAM group (eks:DescribeCluster on this cluster), its role (``access:
role``, with the same policy) and its Kubernetes RBAC."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.team_rbac import TeamRbac, TeamRbacArgs
from eks_access import iam, team_roles
from eks_access.rbac import RbacObject


@dataclass(frozen=True)
class TeamRoleArgs:
    """``access: role``: the team's IAM role (``eks_access.team_roles``)."""

    name: str
    trust_policy: Mapping[str, object]


@dataclass(frozen=True)
class TeamArgs:
    group_name: str
    """IAM group name (``eks_access.iam.group_name``)."""
    kubernetes_group: str
    """The Kubernetes group the team's principals are mapped into."""
    cluster_arn: pulumi.Input[str]
    """The one cluster the group may describe."""
    rbac: Sequence[RbacObject] = ()
    """The team's RBAC objects (``eks_access.rbac.team_objects``)."""
    namespaces: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    """Namespaces created by this stack, for ordering."""
    renamed_from: Sequence[str] = ()
    """Earlier names of the team: its resources are found under them and renamed in place
    (the IAM group keeps its members) instead of deleted and created again."""
    role: TeamRoleArgs | None = None
    """``access: role``: the role its members assume (its group may assume it)."""


class Team(pulumi.ComponentResource):
    """Everything per team that is not per principal."""

    iam_group_name: pulumi.Output[str]
    """The team's IAM group."""
    iam_group_arn: pulumi.Output[str]
    """The team's IAM group ARN."""
    kubernetes_group: pulumi.Output[str]
    """The Kubernetes group its principals are mapped into."""
    rbac: TeamRbac
    """The team's Roles and bindings: what its Kubernetes group leads to."""

    def __init__(self, name: str, args: TeamArgs, opts: pulumi.ResourceOptions | None = None):
        aliases = [pulumi.Alias(name=old) for old in args.renamed_from]
        # Children are named "<team>-<role>", so the engine carries the alias down to them.
        super().__init__(
            "eks-access:index:Team",
            name,
            None,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases)),
        )
        group = aws.iam.Group(
            f"{name}-group", name=args.group_name, opts=pulumi.ResourceOptions(parent=self)
        )
        policy = iam.describe_cluster_policy(args.cluster_arn)
        self.role_arn: pulumi.Output[str] | None = None
        """``access: role``: the team role's ARN."""
        self.role_unique_id: pulumi.Output[str] | None = None
        """``access: role``: the role's unique ID (its access entry is re-made with it)."""
        self.assumable: list[pulumi.Resource] = []
        """``access: role``: what members need before the role is mapped for them: the role
        and the group policy that lets them assume it."""
        if args.role is not None:
            role = aws.iam.Role(
                f"{name}-role",
                name=args.role.name,
                assume_role_policy=json.dumps(args.role.trust_policy),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.role_arn = role.arn
            self.role_unique_id = role.unique_id
            # The member's profile assumes the role before any call, `aws eks
            # update-kubeconfig --profile` included: the role describes the cluster too.
            aws.iam.RolePolicy(
                f"{name}-role-describe-cluster",
                name=iam.GROUP_POLICY_NAME,
                role=role.name,
                policy=pulumi.Output.json_dumps(iam.describe_cluster_policy(args.cluster_arn)),
                opts=pulumi.ResourceOptions(parent=self),
            )
            policy["Statement"].append(team_roles.assume_statement(role.arn))
        group_policy = aws.iam.GroupPolicy(
            f"{name}-describe-cluster",
            # A fixed name: when a renamed team's group policy is replaced, the new one takes
            # over the old one's place on the renamed group (the old delete finds no group).
            name=iam.GROUP_POLICY_NAME,
            group=group.name,
            policy=pulumi.Output.json_dumps(policy),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.role is not None:
            self.assumable = [role, group_policy]
        self.rbac = TeamRbac(
            f"{name}-rbac",
            TeamRbacArgs(objects=args.rbac, namespaces=args.namespaces),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.iam_group_name = group.name
        self.iam_group_arn = group.arn
        self.kubernetes_group = pulumi.Output.from_input(args.kubernetes_group)
        self.register_outputs(
            {
                "iamGroupName": self.iam_group_name,
                "iamGroupArn": self.iam_group_arn,
                "kubernetesGroup": self.kubernetes_group,
                **({"roleArn": self.role_arn} if self.role_arn is not None else {}),
            }
        )
