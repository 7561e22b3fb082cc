"""What ends when: every grant with an ``expires`` in a stack's config, with its end in UTC
(``eks-access expiring``). Read from the config as written, ended grants included, so the lines
that no longer grant anything can be found and removed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from eks_access import clock, kinds, rules
from eks_access.config import StackConfig, Team

_WITHIN = re.compile(r"^(\d{1,4})([hdw])$")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def within_value(value: str) -> timedelta:
    """``--within``: a count of hours, days or weeks (``36h``, ``14d``, ``2w``)."""
    m = _WITHIN.match(value)
    if m is None:
        raise ValueError(f"--within {value!r}: give hours, days or weeks, e.g. 36h, 14d, 2w")
    return int(m[1]) * _UNIT[m[2]]


@dataclass(frozen=True)
class Ending:
    """One grant that ends."""

    team: str
    what: str
    """What ends: a principal's membership, the whole team, or an access policy."""
    path: str
    """Where the config says it (``teams[1].users[0]``): the line to edit or remove."""
    expires: str
    ends: datetime
    status: Literal["ended", "ending"]
    reason: str | None = None

    @property
    def warning(self) -> str:
        """What a plan or `pulumi up` says of a grant that has ended but is still written."""
        return (
            f"{self.path}: {self.what} ended at {clock.written(self.ends)} (expires: "
            f"{self.expires}) and grants nothing; remove the line "
            "(`eks-access expiring --remove-ended` does)"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "what": self.what,
            "path": self.path,
            "expires": self.expires,
            "endsAt": clock.written(self.ends),
            "status": self.status,
            **({"reason": self.reason} if self.reason else {}),
        }


def endings(config: StackConfig, at: datetime, within: timedelta) -> list[Ending]:
    """The grants that have ended by ``at`` or end within ``within`` after it, soonest first;
    ``config`` as written (``load_as_written``)."""
    found: list[tuple[str, str, str, str, str | None]] = []  # team, what, path, expires, reason
    ctx = config.context()
    for t, team in enumerate(config.teams):
        where = f"teams[{t}]"
        if team.expires:
            found.append((team.name, f"team {team.name} (every member)", where, team.expires, None))
        for m in kinds.members(team, where, ctx):
            if m.item.expires:
                what = f"{m.kind.noun.split(' ', 1)[-1]} {m.arn.arn} in team {team.name}"
                found.append((team.name, what, m.path, m.item.expires, m.item.reason))
        for i, a in enumerate(team.access_policies):
            if a.expires:
                what = f"access policy {a.policy} of team {team.name}"
                found.append((team.name, what, f"{where}.accessPolicies[{i}]", a.expires, None))
    out = []
    for team_name, what, path, expires, reason in found:
        ends = clock.end_of(expires)
        if ends <= at + within:
            status: Literal["ended", "ending"] = "ended" if ends <= at else "ending"
            out.append(Ending(team_name, what, path, expires, ends, status, reason))
    return sorted(out, key=lambda e: (e.ends, e.path))


def ended(config: StackConfig, at: datetime) -> list[Ending]:
    """The grants written in ``config`` (as written) that have ended by ``at``: lines that
    grant nothing, which a plan and `pulumi up` warn about."""
    return [e for e in endings(config, at, timedelta(0)) if e.status == "ended"]


# --- what a change does to ends (the review) ---------------------------------------------------


@dataclass(frozen=True)
class EndChange:
    """A grant whose end a change moves, that ends soon, or that was added already ended."""

    change: Literal[
        "ends soon", "extended", "shortened", "ended by this change", "added already ended"
    ]
    what: str
    path: str
    before: str | None
    """The end before the change (as written; None: no end, or not granted)."""
    after: str | None
    reason: str | None = None

    def words(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        if self.change == "ends soon":
            return f"{self.what} ends {self.after}{why}"
        if self.change == "ended by this change":
            return f"{self.what}: ended at {self.after} by this change (a revoke){why}"
        if self.change == "added already ended":
            return f"{self.what} is added with expires {self.after}, which has passed{why}"
        was = self.before or "no end"
        now = self.after or "no end"
        return f"{self.what}: {self.change}, from {was} to {now}{why}"

    def to_json(self) -> dict[str, Any]:
        out = {"change": self.change, "what": self.what, "path": self.path,
               "before": self.before, "after": self.after}  # fmt: skip
        return {**out, "reason": self.reason} if self.reason else out


def _grants(config: StackConfig) -> dict[tuple[str, ...], tuple[str, str, str | None, str | None]]:
    """Every grant a config writes, ended or not, by a key stable across edits: ``(what,
    path, expires, reason)``."""
    out: dict[tuple[str, ...], tuple[str, str, str | None, str | None]] = {}
    ctx = config.context()
    for t, team in enumerate(config.teams):
        where = f"teams[{t}]"
        out[("team", team.name)] = (f"team {team.name} (every member)", where, team.expires, None)
        for m in kinds.members(team, where, ctx):
            what = f"{m.kind.noun.split(' ', 1)[-1]} {m.arn.arn} in team {team.name}"
            out[("member", team.name, m.arn.match_key)] = (
                what,
                m.path,
                m.item.expires,
                m.item.reason,
            )
        for i, a in enumerate(team.access_policies):
            key = ("policy", team.name, a.policy, a.scope, *a.namespaces)
            what = f"access policy {a.policy} of team {team.name}"
            out[key] = (what, f"{where}.accessPolicies[{i}]", a.expires, None)
    return out


def end_changes(
    base: StackConfig, head: StackConfig, at: datetime, within: timedelta = timedelta(days=14)
) -> list[EndChange]:
    """What the review says of ends (both configs as written): grants the change extends or
    shortens (an ``expires`` moved, added or removed), grants added with an end that has
    passed, and every grant of the head that ends within ``within`` of ``at``."""
    old, new = _grants(base), _grants(head)
    out: list[EndChange] = []
    for key, (what, path, expires, reason) in new.items():
        end = clock.end_of(expires) if expires else None
        if key in old:
            was = old[key][2]
            before = clock.end_of(was) if was else None
            if before != end:
                longer = end is None or (before is not None and end > before)
                change: Literal["extended", "shortened", "ended by this change"] = (
                    "extended" if longer else "shortened"
                )
                if end is not None and end <= at and (before is None or before > at):
                    change = "ended by this change"  # a revoke
                out.append(EndChange(change, what, path, was, expires, reason))
        elif end is not None and end <= at:
            out.append(EndChange("added already ended", what, path, None, expires, reason))
        if end is not None and at < end <= at + within:
            out.append(EndChange("ends soon", what, path, None, clock.written(end), reason))
    order = {"added already ended": 0, "ended by this change": 1, "shortened": 2, "extended": 3}
    order["ends soon"] = 4
    return sorted(out, key=lambda c: (order[c.change], c.path))


# --- how long admin-level grants last (the policy pack's admin-grants-end) ---------------------


def end_of_all(*expires: str | None) -> datetime | None:
    """When a grant bounded by several ``expires`` (its own, its team's, its policy's) ends:
    the earliest; None when none is set."""
    ends = [clock.end_of(e) for e in expires if e]
    return min(ends) if ends else None


def latest(ends: Iterable[datetime | None]) -> str | None:
    """``rules.GRANTS_END``'s value for grants with these ends: the last (as written), None if
    any has no end, ``rules.NO_MEMBERS`` for none."""
    ends = list(ends)
    if not ends:
        return rules.NO_MEMBERS
    if any(e is None for e in ends):
        return None
    return clock.written(max(e for e in ends if e is not None))


def member_ends(team: Team) -> list[datetime | None]:
    """When each membership of the team ends (its own end or the team's, whichever is first)."""
    return [
        end_of_all(item.expires, team.expires) for k in kinds.TEAM_KINDS for item in k.items(team)
    ]


def admin_levels(team: Team) -> list[str]:
    """The admin-level access (``rules.ADMIN_LEVELS``) the team grants: its cluster or
    namespace access, or an access policy of that name."""
    found = {team.cluster_access, team.namespace_access, *(a.policy for a in team.access_policies)}
    return sorted(level for level in found & rules.ADMIN_LEVELS if level)
