"""UserAccess: a cluster stack's hold on one IAM user: its memberships in this cluster's team
groups, and the user's ARN and unique ID for the mappings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.cluster_user import ClusterUser


@dataclass(frozen=True)
class IdentityStackUser:
    """A user an identity stack owns, read from that stack's ``users`` output."""

    identities: pulumi.Input[Mapping[str, Any]]
    """The identity stack's ``users`` output (``StackReference.get_output("users")``)."""
    identity_stack: str
    """The identity stack's name, for error messages."""
    expected_arn: str
    """The ARN this stack maps (computed from config before the user exists)."""


@dataclass(frozen=True)
class UserAccessArgs:
    user_name: str
    """The IAM user."""
    groups: Sequence[pulumi.Input[str]]
    """This cluster's team groups the user joins (they carry its eks:DescribeCluster)."""
    user: ClusterUser | IdentityStackUser
    """Where the user comes from: this stack creates it, or an identity stack owns it."""


class UserAccess(pulumi.ComponentResource):
    """Group memberships in this cluster's team groups, and the user's ARN and unique ID.

    ``UserGroupMembership`` is non-exclusive: every cluster stack adds its own groups to the
    same user without removing the others'. The membership is not part of ``ClusterUser``, so
    the user and its keys can move to an identity stack (``pulumi state move``) while the
    membership stays here, unchanged.
    """

    arn: pulumi.Output[str]
    """The user's IAM ARN."""
    unique_id: pulumi.Output[str]
    """IAM's unique ID (access entries are re-created with it)."""

    def __init__(self, name: str, args: UserAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("eks-access:index:UserAccess", name, None, opts)
        user_name: pulumi.Input[str]
        if isinstance(args.user, ClusterUser):
            user_name, self.arn, self.unique_id = (
                args.user.user_name,
                args.user.arn,
                args.user.unique_id,
            )
        else:
            ref = args.user
            me = pulumi.Output.from_input(ref.identities).apply(
                lambda users: _find(users, args.user_name, ref.identity_stack, ref.expected_arn)
            )
            user_name = args.user_name
            self.arn = me.apply(lambda u: str(u["arn"]))
            self.unique_id = me.apply(lambda u: str(u["uniqueId"]))
        # Until eks-access 0.2 the membership was a child of ClusterUser: same resource.
        old_parent = (
            f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}"
            f"::eks-access:index:ClusterUser::{name}"
        )
        if args.groups:  # none once every membership has ended (IAM takes no empty one)
            aws.iam.UserGroupMembership(
                f"{name}-groups",
                user=user_name,
                groups=list(args.groups),
                opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(parent=old_parent)]),
            )
        self.register_outputs({"arn": self.arn, "uniqueId": self.unique_id})


def identity_problem(
    users: Mapping[str, Any] | None, name: str, stack: str, expected_arn: str
) -> str | None:
    """Why the identity stack's ``users`` output cannot serve IAM user ``name`` (the preflight
    asks before anything is registered), or None."""
    try:
        _find(users, name, stack, expected_arn)
    except ValueError as e:
        return str(e)
    return None


def _find(
    users: Mapping[str, Any] | None, name: str, stack: str, expected_arn: str
) -> Mapping[str, Any]:
    found = (users or {}).get(name)
    if not isinstance(found, Mapping):
        raise ValueError(
            f"IAM user {name!r} is not in the outputs of identity stack {stack!r}; add it to "
            "the teams that stack owns and run `pulumi up` there first"
        )
    if str(found.get("arn")) != expected_arn:
        raise ValueError(
            f"identity stack {stack!r} reports {found.get('arn')} for IAM user {name!r}, but "
            f"this stack maps {expected_arn}; make eks-access:identity.account and the "
            "user's path agree with the identity stack"
        )
    return found
