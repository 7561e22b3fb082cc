"""ClusterUser: an IAM user with programmatic access only, in its teams' IAM groups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ClusterUserArgs:
    user_name: str
    """IAM user name (account-wide)."""
    groups: Sequence[pulumi.Input[str]]
    """IAM groups the user belongs to (its teams' groups: they carry eks:DescribeCluster)."""
    path: str = "/"
    """IAM path."""
    key_generations: Sequence[str] = ()
    """Labels of the access keys to keep (0-2). Add a new label, switch, then drop the old one."""
    pgp_key: str | None = None
    """With a PGP key (base64 public key or ``keybase:NAME``) only the encrypted secret exists."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for the IAM user."""


class ClusterUser(pulumi.ComponentResource):
    """An IAM user without console login, its group membership and its access keys."""

    arn: pulumi.Output[str]
    """The user's IAM ARN."""
    unique_id: pulumi.Output[str]
    """IAM's unique ID: changes when the user is re-created under the same ARN."""
    access_key_ids: pulumi.Output[dict[str, str]]
    """Access key IDs by generation label."""
    secrets: pulumi.Output[dict[str, str]]
    """Secret access keys by generation label, as a Pulumi secret; empty with a PGP key."""
    encrypted_secrets: pulumi.Output[dict[str, str]]
    """PGP-encrypted secret access keys by generation label (only with a PGP key)."""

    def __init__(
        self, name: str, args: ClusterUserArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("eks-access:index:ClusterUser", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # No LoginProfile: the user has no console password, only what its keys allow.
        user = aws.iam.User(
            f"{name}-user",
            name=args.user_name,
            path=args.path,
            tags={"managed-by": "eks-access", **args.tags},
            opts=child,
        )
        if args.groups:  # none in an identity stack: cluster stacks add their own
            aws.iam.UserGroupMembership(
                f"{name}-groups", user=user.name, groups=list(args.groups), opts=child
            )
        keys = {
            label: aws.iam.AccessKey(
                f"{name}-key-{label}",
                user=user.name,
                pgp_key=args.pgp_key,
                opts=pulumi.ResourceOptions(
                    parent=self, additional_secret_outputs=["secret", "sesSmtpPasswordV4"]
                ),
            )
            for label in args.key_generations
        }
        self.arn = user.arn
        self.unique_id = user.unique_id
        self.access_key_ids = pulumi.Output.all(
            **{label: key.id for label, key in keys.items()}
        ).apply(dict)
        if args.pgp_key:
            self.secrets = pulumi.Output.secret({})
            self.encrypted_secrets = pulumi.Output.all(
                **{label: key.encrypted_secret for label, key in keys.items()}
            ).apply(dict)
        else:
            self.secrets = pulumi.Output.secret(
                pulumi.Output.all(**{label: key.secret for label, key in keys.items()}).apply(dict)
            )
            self.encrypted_secrets = pulumi.Output.from_input({})
        self.register_outputs(
            {
                "arn": self.arn,
                "uniqueId": self.unique_id,
                "accessKeyIds": self.access_key_ids,
                "secrets": self.secrets,
                "encryptedSecrets": self.encrypted_secrets,
            }
        )
