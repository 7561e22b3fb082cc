"""UserAccess: a cluster stack's hold on an IAM user that an identity stack owns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class UserAccessArgs:
    user_name: str
    """The IAM user, as the identity stack names it."""
    groups: Sequence[pulumi.Input[str]]
    """This cluster's team groups the user joins (they carry its eks:DescribeCluster)."""
    identities: pulumi.Input[Mapping[str, Any]]
    """The identity stack's ``users`` output (``StackReference.get_output("users")``)."""
    identity_stack: str
    """The identity stack's name, for error messages."""
    expected_arn: str
    """The ARN this stack maps in aws-auth (computed from config before the user exists)."""


class UserAccess(pulumi.ComponentResource):
    """Group memberships in this cluster's team groups, and the user's ARN and unique ID read
    from the identity stack. The user and its keys stay the identity stack's.

    ``UserGroupMembership`` is non-exclusive: every cluster stack adds its own groups to the
    same user without removing the others'.
    """

    arn: pulumi.Output[str]
    unique_id: pulumi.Output[str]
    access_key_ids: pulumi.Output[Any]
    encrypted_secrets: pulumi.Output[Any]

    def __init__(self, name: str, args: UserAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("eks-access:index:UserAccess", name, None, opts)
        me = pulumi.Output.from_input(args.identities).apply(
            lambda users: _find(users, args.user_name, args.identity_stack, args.expected_arn)
        )
        self.arn = me.apply(lambda u: str(u["arn"]))
        self.unique_id = me.apply(lambda u: str(u["uniqueId"]))
        self.access_key_ids = me.apply(lambda u: u.get("accessKeyIds", {}))
        self.encrypted_secrets = me.apply(lambda u: u.get("encryptedSecrets", {}))
        aws.iam.UserGroupMembership(
            f"{name}-groups",
            user=args.user_name,
            groups=list(args.groups),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"arn": self.arn, "uniqueId": self.unique_id})


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
