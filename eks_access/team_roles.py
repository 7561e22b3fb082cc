"""A team as one mapping (``access: role``): one IAM role per team and cluster, assumable by
the team's IAM users under their own name, mapped once with ``<team>:{{SessionName}}``.

Joining or leaving such a team is a change of IAM group membership alone: the role's mapping
(an aws-auth line or one access entry) does not change. The role's trust policy names the
users' account and requires the session name to be the caller's IAM user name, so Kubernetes
(and its audit log) sees ``payments:alice``, not the role; with ``requireMfa``, an MFA
session. The team's IAM group grants ``sts:AssumeRole`` on the role.
"""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

from eks_access import arns
from eks_access.fields import RESERVED_PREFIXES
from eks_access.kinds import TEAM_KINDS
from eks_access.problems import Problem

T = TypeVar("T")
MAX_ROLE_NAME = 64
"""IAM's limit on a role's name."""
MIN_SESSION_NAME = 2
"""STS's shortest RoleSessionName."""


def role_name(cluster: str, team: str) -> str:
    """``eks-access-<cluster>-<team>``, shortened to IAM's 64 characters with a hash of the
    whole so two long names stay apart."""
    name = f"eks-access-{cluster}-{team}"
    if len(name) <= MAX_ROLE_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_ROLE_NAME - 9]}-{digest}"


def role_arn(partition: str, account: str, cluster: str, team: str) -> arns.IamArn:
    return arns.parse_iam_arn(
        f"arn:{partition}:iam::{account}:role/{role_name(cluster, team)}", "role"
    )


def username(team: str) -> str:
    """The role's mapped username: each member's session shows as ``<team>:<user>``."""
    return f"{team}:{{{{SessionName}}}}"


def session_username(team: str, user: str) -> str:
    """What Kubernetes sees for ``user``'s session: EKS renders ``{{SessionName}}`` with ``@``
    replaced by ``-`` (the authenticator's and EKS's documented rendering)."""
    return f"{team}:{user.replace('@', '-')}"


def trust_policy(partition: str, users_account: str, require_mfa: bool) -> dict[str, Any]:
    """Who may assume the role: IAM users of ``users_account`` whose identity policies allow
    it (the team's group does), with the session named as the caller (``${aws:username}``,
    which is defined for IAM users only) and, with ``require_mfa``, an MFA session. An account
    administrator allowed ``sts:AssumeRole`` on ``*`` could assume it too, under their own
    name: the trust names the account, not the members."""
    condition: dict[str, Any] = {"StringEquals": {"sts:RoleSessionName": "${aws:username}"}}
    if require_mfa:
        condition["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TeamMembersUnderTheirOwnName",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{users_account}:root"},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        ],
    }


def assume_statement(role: T) -> dict[str, Any]:
    """The team group's permission to assume its role (``role``: an ARN or an Output)."""
    return {
        "Sid": "AssumeTheTeamRole",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": role,
    }


def kubeconfig_profile(cluster: str, user: str, teams: Any) -> str:
    """The AWS CLI profile a user's kubeconfig runs `aws eks get-token` with: its own (named
    after it) when a team maps it, else the profile of its first ``access: role`` team, which
    assumes that team's role under the user's name (docs/config.md gives the profile)."""
    if not teams or any(t.access != "role" for t in teams):
        return user
    return role_name(cluster, min(t.name for t in teams))


def checks(teams: Any, cluster: str, account: str | None = None) -> list[Problem]:
    """What ``access: role`` asks of a team: IAM users only (the session name is the caller's
    IAM user name, which roles and permission sets have none of), no ``bindTo: users`` (a
    binding naming each member would need a Kubernetes write per joiner), session names STS
    takes, no two members shown under one name, and role names that stay apart. ``account``:
    the cluster's (where the roles are made), when the config tells it (its node roles); a
    role of the same name in another account is another role."""
    problems: list[Problem] = []
    names: dict[str, str] = {}
    # IAM role names are unique regardless of case: EKS-Access-Dev-Payments is the same role
    roles = {role_name(cluster, t.name).lower(): t.name for t in teams if t.access == "role"}
    prefixes = {f"{t.name}:": t.name for t in teams if t.access == "role"}
    for t, team in enumerate(teams):  # what other teams list must stay apart from the roles
        for kind in TEAM_KINDS:
            for i, item in enumerate(kind.items(team)):
                path = f"teams[{t}].{kind.config_key}[{i}]"
                arn = getattr(item, "arn", None)
                listed = str(arn).rsplit("/", 1)[-1].lower()
                here = account is None or str(arn).split(":")[4:5] == [account]
                owner = roles.get(listed) if arn and ":role/" in arn and here else None
                if owner is not None:
                    problems.append(
                        Problem(
                            path,
                            f"this is team {owner}'s role (access: role), which the program "
                            f"maps itself: give its access to team {owner}, or list the people "
                            "in this team",
                        )
                    )
                name = kind.username(item)
                taken = next((o for p, o in prefixes.items() if name.startswith(p)), None)
                if taken is not None and team.access != "role":
                    problems.append(
                        Problem(
                            path,
                            f"username {name!r} looks like a session of team {taken}'s role "
                            f"({username(taken)}): RBAC could not tell them apart; choose another",
                        )
                    )
    for t, team in enumerate(teams):
        where = f"teams[{t}]"
        if team.access != "role":
            if team.require_mfa:
                problems.append(
                    Problem(f"{where}.requireMfa", "applies to `access: role` teams only")
                )
            continue
        for prefix in RESERVED_PREFIXES:
            if username(team.name).lower().startswith(prefix):
                problems.append(
                    Problem(
                        f"{where}.name",
                        f"its members would be seen as {username(team.name)}, which starts with "
                        f"the reserved prefix {prefix!r}: rename the team",
                    )
                )
        other = names.setdefault(role_name(cluster, team.name), where)
        if other != where:
            problems.append(
                Problem(where, f"its role name is {other}'s too; shorten one of the team names")
            )
        if team.bind_to == "users":
            problems.append(
                Problem(
                    f"{where}.bindTo",
                    "`access: role` binds the team's group (joining is an IAM change alone); "
                    "bindTo: users would need a Kubernetes write per member: remove it",
                )
            )
        if not team.map_group:
            problems.append(
                Problem(f"{where}.mapGroup", "`access: role` maps the team's group: remove it")
            )
        for key in ("existing_users", "roles", "permission_sets"):
            if getattr(team, key):
                field = {"existing_users": "existingUsers", "permission_sets": "permissionSets"}
                problems.append(
                    Problem(
                        f"{where}.{field.get(key, key)}",
                        "`access: role` teams list IAM users this program manages (`users`): "
                        "the role's session is named after the caller's IAM user; map roles "
                        "and existing users in an `access: user` team",
                    )
                )
        shown: dict[str, str] = {}
        for i, user in enumerate(team.users):
            path = f"{where}.users[{i}]"
            if len(user.name) < MIN_SESSION_NAME:
                problems.append(
                    Problem(
                        f"{path}.name",
                        f"{user.name!r} cannot be a role session name (STS takes 2 to 64 "
                        "characters): rename the user or put it in an `access: user` team",
                    )
                )
            seen = session_username(team.name, user.name)
            if (first := shown.setdefault(seen, path)) != path:
                problems.append(
                    Problem(
                        path,
                        f"is shown to Kubernetes as {seen!r}, as {first} is (EKS writes @ "
                        "in a session name as -): rename one",
                    )
                )
    return problems
