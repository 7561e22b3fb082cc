"""Raw stack config in, a validated :class:`StackConfig` (or :class:`IdentityConfig`) out, or a
:class:`ConfigError` listing every problem."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from eks_access import clock
from eks_access.config.assembly import (
    ADD_MEMBERS,
    IDENTITY,
    OVERRIDES,
    TEAMS_FILE,
    member_id,
    merge_teams,
)
from eks_access.config.checks import (
    cross_checks,
    identity_checks,
    partition_checks,
    region_problems,
)
from eks_access.config.errors import CONFIG_KEYS, describe
from eks_access.config.models import IdentityConfig, StackConfig
from eks_access.fields import NAMESPACE
from eks_access.kinds import TEAM_KINDS
from eks_access.kinds.iam_user import User
from eks_access.problems import ConfigError, Problem


def load_identity(raw: Mapping[str, Any]) -> IdentityConfig:
    """Validate an identity owner stack's config (``eks-access:identity: {mode: owner}``)."""
    data = {
        "region": raw.get("aws:region"),
        "identity": raw.get(IDENTITY),
        "teams": raw.get(f"{NAMESPACE}:teams", []),
    }
    if f"{NAMESPACE}:pgpKey" in raw:
        data["pgpKey"] = raw[f"{NAMESPACE}:pgpKey"]
    try:
        config = IdentityConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(describe(err) for err in e.errors()) from None
    problems = [
        Problem(key, "an identity owner stack owns IAM users only; remove this key")
        for key in (f"{NAMESPACE}:cluster",)
        if key in raw
    ]
    problems.extend(identity_checks(config))
    if problems:
        raise ConfigError(problems)
    return config


def load(raw: Mapping[str, Any], at: datetime | None = None) -> StackConfig:
    """Validate raw stack config (``{"aws:region": ..., "eks-access:teams": ...}``), as in
    effect at ``at`` (default: ``clock.now()``): every grant ended by then is gone.

    Keys of other namespaces (``aws:profile``, ``kubernetes:...``) are left to their owners.
    """
    return in_effect(load_as_written(raw), clock.now() if at is None else at)


def load_as_written(raw: Mapping[str, Any]) -> StackConfig:
    """Validate raw stack config, every grant kept whatever its ``expires`` (what the file says;
    ``expiring`` lists the ends from it)."""
    overrides = raw.get(OVERRIDES)
    raw, problems = merge_teams(raw)
    try:
        return _load(raw, problems)
    except ConfigError as e:
        raise ConfigError(_blame_overrides(e.problems, raw, overrides)) from None


def in_effect(config: StackConfig, at: datetime) -> StackConfig:
    """The config as it grants at ``at``: a principal whose ``expires`` (or its team's) has
    passed leaves that team, an access policy whose ``expires`` has passed leaves the team's
    principals; an IAM user the stack creates that has no team left is kept as ended (its
    keys Inactive). Everything else (teams, their groups, roles, namespaces) stays."""
    teams = []
    for team in config.teams:
        gone = clock.ended(team.expires, at)
        update: dict[str, Any] = {
            kind.model_field: tuple(
                item
                for item in getattr(team, kind.model_field)
                if not gone and not clock.ended(item.expires, at)
            )
            for kind in TEAM_KINDS
        }
        update["access_policies"] = tuple(
            a for a in team.access_policies if not clock.ended(a.expires, at)
        )
        teams.append(team.model_copy(update=update))
    live = {user.name for team in teams for user in team.users}
    # Kept only where this stack owns the user (its keys to deactivate); in reference mode the
    # identity stack owns it, and its membership here simply goes.
    ended = tuple(
        user
        for name, (user, _) in iam_users(config).items()
        if name not in live and config.creates_users
    )
    listed = sum(len(getattr(t, k.model_field)) for t in config.teams for k in TEAM_KINDS)
    left = sum(len(getattr(t, k.model_field)) for t in teams for k in TEAM_KINDS)
    return config.model_copy(
        update={"teams": tuple(teams), "ended_users": ended, "ended_memberships": listed - left}
    )


def _blame_overrides(
    problems: Iterable[Problem], merged: Mapping[str, Any], overrides: Any
) -> list[Problem]:
    """A problem in a field this stack's ``teamOverrides`` set is named there, where the fix
    goes, not at the merged team (which the user never wrote)."""
    teams = merged.get(f"{NAMESPACE}:teams")
    if not isinstance(overrides, dict) or not isinstance(teams, list):
        return list(problems)
    index = {
        t["name"]: i
        for i, t in enumerate(teams)
        if isinstance(t, dict) and isinstance(t.get("name"), str)
    }
    moved: dict[str, str] = {}  # "teams[1].namespaceAccess" -> "eks-access:teamOverrides.x..."
    for name, fields in overrides.items():
        if isinstance(fields, dict) and isinstance(name, str) and name in index:
            team = teams[index[name]]
            added = fields.get(ADD_MEMBERS)
            for key, items in added.items() if isinstance(added, dict) else ():
                if not isinstance(items, list) or not isinstance(team.get(key), list):
                    continue
                for k, item in enumerate(items):  # each added entry, where it is written
                    ident = member_id(item, key)
                    i = next(
                        (
                            i
                            for i, e in enumerate(team[key])
                            if ident and member_id(e, key) == ident
                        ),
                        None,
                    )
                    if i is not None:
                        at = f"teams[{index[name]}].{key}[{i}]"
                        moved[at] = f"{OVERRIDES}.{name}.{ADD_MEMBERS}.{key}[{k}]"
            for key in fields:
                if key != ADD_MEMBERS:
                    moved[f"teams[{index[name]}].{key}"] = f"{OVERRIDES}.{name}.{key}"
    out = []
    for p in problems:
        for at, to in moved.items():
            if p.path == at or p.path.startswith((at + ".", at + "[")):
                p = Problem(to + p.path[len(at) :], p.message)
                break
        out.append(p)
    return out


def _load(raw: Mapping[str, Any], problems: list[Problem]) -> StackConfig:
    data: dict[str, Any] = {}
    ours = [k for k in CONFIG_KEYS if k.startswith(f"{NAMESPACE}:")] + [TEAMS_FILE, OVERRIDES]
    for key, value in raw.items():
        namespace = key.partition(":")[0]
        if key in CONFIG_KEYS:
            data[CONFIG_KEYS[key]] = value
        elif key.startswith(f"{NAMESPACE}:") or (
            namespace != NAMESPACE
            and difflib.SequenceMatcher(None, namespace, NAMESPACE).ratio() >= 0.8
        ):
            # Ours misspelt, or our namespace misspelt (eks-acess:teams): both would be
            # silently ignored by Pulumi, and the stack would plan as if the key were missing.
            close = difflib.get_close_matches(
                f"{NAMESPACE}:{key.partition(':')[2]}" if ":" in key else key, ours, n=1
            )
            hint = f"did you mean {close[0]!r}? " if close else ""
            what = "config key" if namespace == NAMESPACE else f"config namespace {namespace!r}"
            problems.append(
                Problem(
                    key if len(key) <= 80 else f"{key[:79]}…",
                    f"unknown {what}; {hint}known keys: {', '.join(ours)}",
                )
            )
    problems += region_problems(data)
    try:
        config = StackConfig.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        # A list whose only items were invalid also reads as "too short": say the cause only.
        item_locs = {tuple(err["loc"][:-1]) for err in errors if isinstance(err["loc"][-1], int)}
        seen = {p.path for p in problems}
        problems.extend(
            p
            for err in errors
            if not (err["type"] == "too_short" and tuple(err["loc"]) in item_locs)
            # a missing cluster is said already, under its config key
            and not (err["type"] == "missing" and tuple(err["loc"]) == ("cluster",))
            and (p := describe(err)).path not in seen
        )
        raise ConfigError(problems) from None
    problems.extend(cross_checks(config))
    problems.extend(partition_checks(config))
    if problems:
        raise ConfigError(problems)
    return config


def iam_users(config: StackConfig | IdentityConfig) -> dict[str, tuple[User, tuple[str, ...]]]:
    """Each IAM user the stack creates, once, with the names of the teams that list it (none
    for a user whose every membership has ended: ``StackConfig.ended_users``)."""
    out: dict[str, tuple[User, tuple[str, ...]]] = {}
    for team in config.teams:
        for user in team.users:
            known = out.get(user.name)
            out[user.name] = (user, (*known[1], team.name) if known else (team.name,))
    for user in getattr(config, "ended_users", ()):
        out.setdefault(user.name, (user, ()))
    return dict(sorted(out.items()))
