"""A stack's teams assembled: shared team definitions (a teams file or an ESC environment) and
this stack's overrides."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from eks_access import rules
from eks_access.fields import NAMESPACE
from eks_access.kinds import TEAM_KINDS
from eks_access.problems import Problem

TEAMS_FILE = f"{NAMESPACE}:teamsFile"
OVERRIDES = f"{NAMESPACE}:teamOverrides"
IDENTITY = f"{NAMESPACE}:identity"
ADD_MEMBERS = "addMembers"
"""An override's members added to the shared team's lists (``eks-access grant`` writes them),
where ``users: [...]`` would replace the list and hide the shared file's later changes."""
MEMBER_KEYS = tuple(k.config_key for k in TEAM_KINDS)


def merge_teams(
    raw: Mapping[str, Any], shared: Any = None, shared_from: str = TEAMS_FILE
) -> tuple[dict[str, Any], list[Problem]]:
    """Stack config with shared teams and this stack's overrides applied.

    ``shared`` is the team list of ``eks-access:teamsFile`` (already read) or None; teams may
    also come from a Pulumi ESC environment, which the CLI merges into ``eks-access:teams``.
    ``eks-access:teamOverrides`` maps a team name to the fields this cluster sets differently
    (``namespaceAccess: view`` in prod, other ``users``); ``null`` for a field removes it;
    ``addMembers: {users: [...], roles: [...]}`` appends to the team's lists.
    """
    out = {k: v for k, v in raw.items() if k not in (TEAMS_FILE, OVERRIDES)}
    problems: list[Problem] = []
    if shared is None and TEAMS_FILE in raw:  # callers read the file first (stackfile)
        problems.append(Problem(TEAMS_FILE, "the teams file was not read; check the path"))
    if shared is not None:
        if f"{NAMESPACE}:teams" in raw:
            problems.append(
                Problem(
                    f"{NAMESPACE}:teams",
                    f"teams come from {shared_from} already; move these into that file or use "
                    f"{OVERRIDES} for what this stack does differently",
                )
            )
        out[f"{NAMESPACE}:teams"] = shared
    overrides = raw.get(OVERRIDES)
    if overrides is None:
        return out, problems
    teams = out.get(f"{NAMESPACE}:teams")
    if not isinstance(overrides, dict):
        return out, [*problems, Problem(OVERRIDES, "expected a mapping of team name to fields")]
    if not isinstance(teams, list):
        return out, [*problems, Problem(OVERRIDES, "there are no teams to override")]
    by_name = {
        t["name"]: i
        for i, t in enumerate(teams)
        if isinstance(t, dict) and isinstance(t.get("name"), str)  # the model reports the rest
    }
    merged = list(teams)
    for name, fields in overrides.items():
        if name not in by_name:
            close = difflib.get_close_matches(str(name), [str(n) for n in by_name], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                Problem(f"{OVERRIDES}.{name}", f"no team {name!r}; {hint}check the name")
            )
            continue
        if not isinstance(fields, dict) or "name" in fields:
            problems.append(
                Problem(
                    f"{OVERRIDES}.{name}", "expected the team's fields to change (not its name)"
                )
            )
            continue
        team = dict(merged[by_name[name]])
        for key, value in fields.items():
            if key == ADD_MEMBERS:
                continue
            if value is None:
                team.pop(key, None)
            else:
                team[key] = value
        if ADD_MEMBERS in fields:
            problems += _add_members(team, fields[ADD_MEMBERS], f"{OVERRIDES}.{name}.{ADD_MEMBERS}")
        merged[by_name[name]] = team
    out[f"{NAMESPACE}:teams"] = merged
    return out, problems


def member_id(entry: Any, key: str) -> str | None:
    """Who a member entry of the ``key`` list is, compared as IAM and the authenticator compare:
    an IAM user's name without case, an ARN as the authenticator matches it (a role without its
    path), a permission set by name."""
    field = "name" if key in ("users", "permissionSets") else "arn"
    value = (
        entry if isinstance(entry, str) else entry.get(field) if isinstance(entry, dict) else None
    )
    if not isinstance(value, str):
        return None
    if key == "users":
        return value.lower()
    if field == "arn":
        return rules.match_key(value)
    return value


def _add_members(team: dict[str, Any], added: Any, where: str) -> list[Problem]:
    """``addMembers``' entries into the team's own lists (in place): a member the team already
    lists is replaced there (its end or reason in this stack, ``eks-access revoke``), any
    other appended. The problems of its shape."""
    if not isinstance(added, dict):
        return [Problem(where, f"expected a mapping of {', '.join(MEMBER_KEYS)} to lists")]
    problems = []
    for key, items in added.items():
        if key not in MEMBER_KEYS:
            close = difflib.get_close_matches(str(key), MEMBER_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            use = ", ".join(MEMBER_KEYS)
            problems.append(Problem(f"{where}.{key}", f"not a list of members; {hint}use {use}"))
        elif not isinstance(items, list):
            problems.append(Problem(f"{where}.{key}", "expected a list"))
        else:
            own = team.get(key)
            merged = list(own) if isinstance(own, list) else []
            for item in items:
                ident = member_id(item, key)
                at = next(
                    (i for i, e in enumerate(merged) if ident and member_id(e, key) == ident), None
                )
                if at is None:
                    merged.append(item)
                else:
                    merged[at] = item
            team[key] = merged
    return problems
