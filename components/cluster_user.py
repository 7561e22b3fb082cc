"""ClusterUser: an IAM user with programmatic access only, and its access keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ClusterUserArgs:
    user_name: str
    """IAM user name (account-wide)."""
    path: str = "/"
    """IAM path."""
    key_generations: Sequence[str] = ()
    """Labels of the access keys to keep (0-2). Add a new label, switch, then drop the old one."""
    pgp_key: str | None = None
    """With a PGP key (base64 public key or ``keybase:NAME``) only the encrypted secret exists.
    It applies to keys created from now on: an existing key is never replaced for it."""
    retain: bool = False
    """Keep the user and its keys in AWS when this stack lets go of them (handing them over to
    an identity stack, docs/fleets.md)."""
    active: bool = True
    """False: every membership of the user has ended (``expires``); its keys are set Inactive,
    an update in place that extending ``expires`` reverses."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags for the IAM user."""


class ClusterUser(pulumi.ComponentResource):
    """An IAM user without console login and its access keys; group memberships are the
    cluster stack's (``UserAccess``), so the user can move to an identity stack without them."""

    user_name: pulumi.Output[str]
    """The IAM user's name, once it exists."""
    arn: pulumi.Output[str]
    """The user's IAM ARN."""
    unique_id: pulumi.Output[str]
    """IAM's unique ID: changes when the user is re-created under the same ARN."""
    access_key_ids: pulumi.Output[dict[str, str]]
    """Access key IDs by generation label."""
    secrets: pulumi.Output[dict[str, str]]
    """Secret access keys by generation label, as a Pulumi secret (keys made without PGP)."""
    encrypted_secrets: pulumi.Output[dict[str, str]]
    """PGP-encrypted secret access keys by generation label (keys made with PGP)."""

    def __init__(
        self, name: str, args: ClusterUserArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("eks-access:index:ClusterUser", name, None, opts)
        # No LoginProfile: the user has no console password, only what its keys allow.
        user = aws.iam.User(
            f"{name}-user",
            name=args.user_name,
            path=args.path,
            tags={"managed-by": "eks-access", **args.tags},
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain or None),
        )
        keys = {
            label: aws.iam.AccessKey(
                f"{name}-key-{label}",
                user=user.name,
                pgp_key=args.pgp_key,
                # unset while active: the provider's default, and no change for existing keys
                status=None if args.active else "Inactive",
                opts=pulumi.ResourceOptions(
                    parent=self,
                    additional_secret_outputs=["secret", "sesSmtpPasswordV4"],
                    # pgp_key forces a new key: a changed stack-wide PGP key must not replace
                    # every user's credentials at once (docs/lifecycle.md).
                    ignore_changes=["pgp_key"],
                    retain_on_delete=args.retain or None,
                ),
            )
            for label in args.key_generations
        }
        self.user_name = user.name
        self.arn = user.arn
        self.unique_id = user.unique_id
        self.access_key_ids = pulumi.Output.all(
            **{label: key.id for label, key in keys.items()}
        ).apply(dict)
        # From what each key holds, not from today's config: a key made before a PGP key was
        # set keeps a plain secret, one made after only an encrypted one.
        self.secrets = pulumi.Output.secret(
            pulumi.Output.all(**{label: key.secret for label, key in keys.items()}).apply(_set)
        )
        self.encrypted_secrets = pulumi.Output.all(
            **{label: key.encrypted_secret for label, key in keys.items()}
        ).apply(_set)
        self.register_outputs(
            {
                "arn": self.arn,
                "uniqueId": self.unique_id,
                "accessKeyIds": self.access_key_ids,
                "secrets": self.secrets,
                "encryptedSecrets": self.encrypted_secrets,
            }
        )


def _set(values: dict[str, Any] | list[Any]) -> dict[str, str]:
    """The labels whose value exists (a key made with PGP has no plain secret, and back).

    ``Output.all()`` of no keys gives an empty list, not a mapping.
    """
    return {label: str(v) for label, v in dict(values).items() if v}
