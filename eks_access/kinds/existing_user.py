"""IAM users made elsewhere (``existingUsers``): mapped and bound by ARN, never managed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel

from eks_access import arns
from eks_access.fields import USER_TEMPLATES, Shorthand, UserArn, Username
from eks_access.kinds.base import Context, TeamKind
from eks_access.kinds.iam_user import defined_users
from eks_access.problems import Problem


class ExistingUser(Shorthand):
    """An IAM user that exists already (made by hand or by another tool), mapped by ARN.

    The program maps it and binds it like a user it creates, but never creates, changes or
    deletes the IAM user, its keys or its group memberships.
    """

    shorthand: ClassVar[str] = "arn"
    arn: UserArn
    username: Username | None = None

    @property
    def kubernetes_username(self) -> str:
        return self.username or arns.parse_iam_arn(self.arn).name


class ExistingUsers(TeamKind):
    config_key: ClassVar[str] = "existingUsers"
    model_field: ClassVar[str] = "existing_users"
    model: ClassVar[type[BaseModel]] = ExistingUser
    principal: ClassVar[Literal["user", "role"]] = "user"
    entry_prefix: ClassVar[str] = "user"
    templates: ClassVar[frozenset[str]] = USER_TEMPLATES
    noun: ClassVar[str] = "a user"

    def arn(self, item: Any, ctx: Context) -> arns.IamArn:
        return arns.parse_iam_arn(item.arn, "user")

    def username(self, item: Any) -> str:
        return str(item.kubernetes_username)

    def config_checks(self, teams: Sequence[Any]) -> list[Problem]:
        created = {name.lower(): where for name, (where, _) in defined_users(teams)[0].items()}
        problems = []
        seen: dict[tuple[str, str], tuple[str, str]] = {}  # (account, name) -> (arn, where)
        for t, team in enumerate(teams):
            for e, existing in enumerate(team.existing_users):
                parsed = arns.parse_iam_arn(existing.arn)
                name, here = parsed.name, f"teams[{t}].existingUsers[{e}].arn"
                first = seen.setdefault((parsed.account, name.lower()), (existing.arn, here))
                if first[0] != existing.arn:
                    # One IAM user per name in an account, whatever the path or the case.
                    problems.append(
                        Problem(
                            here,
                            f"{existing.arn} and {first[0]} at {first[1]} name one IAM user (IAM "
                            "names ignore case and path); write its one real ARN in both places",
                        )
                    )
                if (where := created.get(name.lower())) is not None:
                    problems.append(
                        Problem(
                            here,
                            f"{existing.arn} has the name of the user this stack creates at "
                            f"{where} (IAM names ignore case); in one account that is the same "
                            "IAM user. List it in one place only",
                        )
                    )
        return problems

    def recognize(self, arn: arns.IamArn, username: str) -> dict[str, Any] | None:
        if arn.kind != "user":
            return None
        entry: dict[str, Any] = {"arn": arn.arn}
        if username and username != arn.name:
            entry["username"] = username
        return entry
