"""IAM users the stack creates (``users``): an IAM user with 0-2 access keys, owned here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from eks_access import arns, iam
from eks_access.fields import (
    MAX_ACCESS_KEYS,
    USER_TEMPLATES,
    KeyLabel,
    PgpKey,
    Shorthand,
    Username,
    iam_path,
    iam_user_name,
)
from eks_access.kinds.base import Context, TeamKind
from eks_access.problems import Problem


class User(Shorthand):
    """An IAM user the program creates and maps, with 0-2 access keys."""

    shorthand: ClassVar[str] = "name"

    name: Annotated[str, AfterValidator(iam_user_name)]
    path: Annotated[str, AfterValidator(iam_path)] = "/"
    username: Username | None = None
    keys: tuple[KeyLabel, ...] = Field(default=(), max_length=MAX_ACCESS_KEYS)
    pgp_key: PgpKey | None = None

    @model_validator(mode="after")
    def _keys_once(self) -> User:
        for label in self.keys:
            if self.keys.count(label) > 1:
                raise ValueError(
                    f"key generation {label!r} is listed twice; each label names one access key "
                    "(its resource is named after it), so list it once"
                )
        return self

    @property
    def kubernetes_username(self) -> str:
        return self.username or self.name


class IamUsers(TeamKind):
    config_key: ClassVar[str] = "users"
    model_field: ClassVar[str] = "users"
    model: ClassVar[type[BaseModel]] = User
    principal: ClassVar[Literal["user", "role"]] = "user"
    entry_prefix: ClassVar[str] = "user"
    templates: ClassVar[frozenset[str]] = USER_TEMPLATES
    managed: ClassVar[bool] = True
    noun: ClassVar[str] = "a user"

    def arn(self, item: Any, ctx: Context) -> arns.IamArn:
        return arns.user_arn(ctx.partition, ctx.account, item.name, item.path)

    def username(self, item: Any) -> str:
        return str(item.kubernetes_username)

    def config_checks(self, teams: Sequence[Any]) -> list[Problem]:
        return defined_users(teams)[1]


def _settings(user: User) -> User:
    """What must be the same wherever the user is listed: all but when and why each membership
    ends."""
    settings: User = user.settings()
    return settings


def defined_users(teams: Sequence[Any]) -> tuple[dict[str, tuple[str, User]], list[Problem]]:
    """Each IAM user the teams create, by name with where it is first defined, and the
    problems: one user with two settings, two spellings of one name (IAM ignores case), more
    teams than IAM's groups per user, listed twice in a team."""
    users: dict[str, tuple[str, User]] = {}
    spelled: dict[str, str] = {}  # lower-cased name -> the first spelling
    teams_of: dict[str, int] = {}
    problems: list[Problem] = []
    for t, team in enumerate(teams):
        for u, user in enumerate(team.users):
            up = f"teams[{t}].users[{u}]"
            first = spelled.setdefault(user.name.lower(), user.name)
            if first != user.name:
                problems.append(
                    Problem(
                        f"{up}.name",
                        f"IAM user {user.name!r} is {first!r} at {users[first][0]}: IAM names "
                        "ignore case, so AWS would refuse the second (EntityAlreadyExists). Spell "
                        "it one way",
                    )
                )
                continue
            teams_of[user.name] = teams_of.get(user.name, 0) + 1
            if teams_of[user.name] == iam.MAX_GROUPS_PER_USER + 1:
                problems.append(
                    Problem(
                        up,
                        f"IAM user {user.name!r} would be in more than "
                        f"{iam.MAX_GROUPS_PER_USER} team groups, IAM's limit of groups per user; "
                        "merge teams or use a role for this person",
                    )
                )
            if user.name not in users:
                users[user.name] = (up, user)
            elif _settings(users[user.name][1]) != _settings(user):
                problems.append(
                    Problem(
                        up,
                        f"IAM user {user.name!r} is defined at {users[user.name][0]} with other "
                        "settings; an IAM user exists once per account, so give it the same "
                        "settings in both places",
                    )
                )
            elif any(u2.name == user.name for u2 in team.users[:u]):
                problems.append(
                    Problem(up, f"user {user.name!r} is listed twice in this team; list it once")
                )
    return users, problems
