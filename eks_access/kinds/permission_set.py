"""IAM Identity Center permission sets by name (``permissionSets``).

IAM Identity Center gives each permission set a role in each account, named
``AWSReservedSSO_<permission set>_<random suffix>`` under the path
``/aws-reserved/sso.amazonaws.com/[<region>/]``. Nobody can write that ARN before the
permission set is assigned, so the program looks the role up by name (a read-only
``aws.iam.getRoles``), stops when none or several match, writes the path-less ARN in aws-auth
(STS never carries the path) and the full ARN in access entries. Offline, a placeholder ARN of
the same shape stands in; ``can-i`` recognises a session of any suffix.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel

from eks_access import arns
from eks_access.fields import Shorthand, Username, show
from eks_access.kinds.base import Context, TeamKind
from eks_access.problems import Problem

PATH_PREFIX = "/aws-reserved/sso.amazonaws.com/"
PREFIX = "AWSReservedSSO_"
# Permission set names: 1-32 of [\w+=,.@-] (IAM Identity Center CreatePermissionSet), ASCII.
NAME = rf"{arns.NAME_CHARS}{{1,32}}"
_SESSION_ROLE = re.compile(rf"^{PREFIX}(?P<name>{NAME})_(?P<suffix>[0-9a-f]+)$")


class PermissionSetError(ValueError):
    """No role, or several, answer to a permission set's name."""


def _permission_set_name(value: str) -> str:
    if not re.fullmatch(NAME, value):
        raise ValueError(
            f"{show(value)} is not a permission set name; use 1-32 letters, digits or "
            "+ = , . @ _ - (its name in IAM Identity Center)"
        )
    return value


class PermissionSet(Shorthand):
    """An IAM Identity Center permission set, by name: everyone signed in through it."""

    shorthand: ClassVar[str] = "name"
    name: Annotated[str, AfterValidator(_permission_set_name)]
    username: Username | None = None

    @property
    def kubernetes_username(self) -> str:
        return self.username or f"{self.name}:{{{{SessionName}}}}"


def name_regex(name: str) -> str:
    """The role names ``aws.iam.getRoles`` matches for a permission set (its ``nameRegex``)."""
    return rf"^{PREFIX}{re.escape(name)}_[0-9a-f]+$"


def name_of_regex(regex: str) -> str | None:
    """The permission set a :func:`name_regex` was made for (for answers made offline)."""
    m = re.match(rf"^\^{PREFIX}(?P<escaped>.+)_\[0-9a-f\]\+\$$", regex)
    return re.sub(r"\\(.)", r"\1", m["escaped"]) if m else None


def pick(name: str, found: Sequence[str]) -> str:
    """The one role ARN of a permission set among what the lookup found."""
    matching = sorted(a for a in found if (m := _session_match(a)) and m == name)
    if not matching:
        raise PermissionSetError(
            f"permission set {name!r}: no role {PREFIX}{name}_* under {PATH_PREFIX} in this "
            "account; assign the permission set to the account in IAM Identity Center first, "
            "or check the name (it is case-sensitive)"
        )
    if len(matching) > 1:
        raise PermissionSetError(
            f"permission set {name!r}: {len(matching)} roles match ({', '.join(matching)}); "
            "remove the stale assignment, or list the role you mean under roles by ARN"
        )
    return matching[0]


def _session_match(role_arn: str) -> str | None:
    try:
        parsed = arns.parse_iam_arn(role_arn, "role")
    except arns.ArnError:
        return None
    m = _SESSION_ROLE.match(parsed.name)
    return m["name"] if m and parsed.path.startswith(PATH_PREFIX) else None


def permission_set_of(role_name: str) -> str | None:
    """The permission set a role (or a session's role) name belongs to, if it is one; IAM
    compares role names ignoring case, and the authenticator lower-cases them."""
    m = re.match(_SESSION_ROLE.pattern, role_name, re.IGNORECASE)
    return m["name"] if m else None


_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+)+")


def placeholder_arn(name: str, ctx: Context) -> str:
    """A role ARN of the real shape, for plans made without AWS; the suffix is a digest of the
    name (so plans are stable) and says nothing about the real one."""
    suffix = hashlib.sha256(name.encode()).hexdigest()[:16]
    # a config whose region is not one is refused (aws:region); until then, a path IAM takes
    region = ctx.region if _REGION.fullmatch(ctx.region) else "region"
    path = f"{PATH_PREFIX}{region}/"
    account = ctx.cluster_account or ctx.account  # the role is in the cluster's account
    return f"arn:{ctx.partition}:iam::{account}:role{path}{PREFIX}{name}_{suffix}"


class PermissionSets(TeamKind):
    config_key: ClassVar[str] = "permissionSets"
    model_field: ClassVar[str] = "permission_sets"
    model: ClassVar[type[BaseModel]] = PermissionSet
    principal: ClassVar[Literal["user", "role"]] = "role"
    entry_prefix: ClassVar[str] = "permset"
    noun: ClassVar[str] = "a role"

    def arn(self, item: Any, ctx: Context) -> arns.IamArn:
        found = ctx.permission_sets.get(item.name) or placeholder_arn(item.name, ctx)
        return arns.parse_iam_arn(found, "role")

    def username(self, item: Any) -> str:
        return str(item.kubernetes_username)

    def key_name(self, item: Any, arn: arns.IamArn) -> str:
        # By name, not by the role's random suffix: a re-created assignment replaces the entry
        # in place instead of deleting one resource and creating another.
        return str(item.name)

    def identity_key(self, item: Any, ctx: Context) -> str:
        return f"permission set {item.name}"

    def config_checks(self, teams: Sequence[Any]) -> list[Problem]:
        """One permission set, one spelling (its role's name is compared ignoring case), and
        not also listed under ``roles`` by its role's ARN (one principal, two mappings)."""
        problems: list[Problem] = []
        seen: dict[str, tuple[str, str]] = {}  # lower-cased name -> (spelling, where)
        for t, team in enumerate(teams):
            for i, item in enumerate(team.permission_sets):
                where = f"teams[{t}].permissionSets[{i}]"
                first = seen.setdefault(item.name.lower(), (item.name, where))
                if first[0] != item.name:
                    problems.append(
                        Problem(
                            f"{where}.name",
                            f"permission set {item.name!r} is {first[0]!r} at {first[1]}: IAM "
                            "compares role names ignoring case, so both would be one role. "
                            "Spell it one way",
                        )
                    )
        for t, team in enumerate(teams):
            for r, role in enumerate(team.roles):
                name = permission_set_of(arns.parse_iam_arn(role.arn, "role").name)
                if name is not None and name.lower() in seen:
                    problems.append(
                        Problem(
                            f"teams[{t}].roles[{r}].arn",
                            f"this is the role of permission set {name!r}, listed by name at "
                            f"{seen[name.lower()][1]}: one principal cannot be mapped twice. "
                            "Keep one of the two",
                        )
                    )
        return problems
