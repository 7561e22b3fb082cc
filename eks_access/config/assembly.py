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
    """``addMembers``' entries into the team's own lists (in place). A member the team lists
    already keeps its entry, with the added entry's ``expires`` and ``reason`` (its end in this
    stack: ``eks-access grant`` and ``revoke``); other fields may not differ there, since they
    are the shared definition's. Any other member is appended. The problems of its shape."""
    if not isinstance(added, dict):
        return [Problem(where, f"expected a mapping of {', '.join(MEMBER_KEYS)} to lists")]
    problems = []
    for key, items in added.items():
        if key not in MEMBER_KEYS:
            close = difflib.get_close_matches(str(key), MEMBER_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            use = ", ".join(MEMBER_KEYS)
            problems.append(Problem(f"{where}.{key}", f"not a list of members; {hint}use {use}"))
            continue
        if not isinstance(items, list):
            problems.append(Problem(f"{where}.{key}", "expected a list"))
            continue
        own = team.get(key)
        merged = list(own) if isinstance(own, list) else []
        seen: set[str] = set()
        for k, item in enumerate(items):
            ident = member_id(item, key)
            if ident is not None and ident in seen:
                problems.append(Problem(f"{where}.{key}[{k}]", "listed twice here; list it once"))
                continue
            seen.add(ident or "")
            at = next(
                (i for i, e in enumerate(merged) if ident and member_id(e, key) == ident), None
            )
            if at is None:
                merged.append(item)
                continue
            base = _as_mapping(merged[at], key)
            extra = _as_mapping(item, key)
            field = "name" if key in ("users", "permissionSets") else "arn"
            differ = sorted(
                f for f in set(base) | set(extra)
                if f not in MEMBERSHIP and f != field and base.get(f) != extra.get(f)
                and f in extra
            )  # fmt: skip
            if differ:
                problems.append(
                    Problem(
                        f"{where}.{key}[{k}]",
                        f"the team lists this member already: here only its expires and reason "
                        f"may be set (not {', '.join(differ)}: those are the team's definition's)",
                    )
                )
                continue
            merged[at] = {**base, **{f: v for f, v in extra.items() if f in MEMBERSHIP}}
        team[key] = merged
    return problems


MEMBERSHIP = ("expires", "reason")
"""The fields of a member entry that belong to one stack's membership (``fields``' own list)."""


def _as_mapping(entry: Any, key: str) -> dict[str, Any]:
    field = "name" if key in ("users", "permissionSets") else "arn"
    return (
        {field: entry} if isinstance(entry, str) else dict(entry) if isinstance(entry, dict) else {}
    )
