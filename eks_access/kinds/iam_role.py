"""IAM roles made elsewhere (``roles``): mapped by ARN, path-less in aws-auth (STS never carries
the path), with the path in access entries."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from eks_access import arns
from eks_access.fields import RoleArn, Shorthand, Username
from eks_access.kinds.base import Context, TeamKind


class Role(Shorthand):
    """An existing IAM role (an IAM Identity Center role, say) mapped to the team."""

    shorthand: ClassVar[str] = "arn"

    arn: RoleArn
    username: Username | None = None

    @property
    def kubernetes_username(self) -> str:
        return self.username or arns.parse_iam_arn(self.arn).name + ":{{SessionName}}"


class Roles(TeamKind):
    config_key: ClassVar[str] = "roles"
    model_field: ClassVar[str] = "roles"
    model: ClassVar[type[BaseModel]] = Role
    principal: ClassVar[Literal["user", "role"]] = "role"
    entry_prefix: ClassVar[str] = "role"
    noun: ClassVar[str] = "a role"

    def arn(self, item: Any, ctx: Context) -> arns.IamArn:
        return arns.parse_iam_arn(item.arn, "role")

    def username(self, item: Any) -> str:
        return str(item.kubernetes_username)

    def recognize(self, arn: arns.IamArn, username: str) -> dict[str, Any] | None:
        return {"arn": arn.arn, "username": username} if arn.kind == "role" else None
