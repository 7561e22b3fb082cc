"""What ends when: every grant with an ``expires`` in a stack's config, with its end in UTC
(``eks-access expiring``). Read from the config as written, ended grants included, so the lines
that no longer grant anything can be found and removed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from eks_access import clock, kinds
from eks_access.config import StackConfig

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

    def to_json(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "what": self.what,
            "path": self.path,
            "expires": self.expires,
            "endsAt": clock.written(self.ends),
            "status": self.status,
        }


def endings(config: StackConfig, at: datetime, within: timedelta) -> list[Ending]:
    """The grants that have ended by ``at`` or end within ``within`` after it, soonest first;
    ``config`` as written (``load_as_written``)."""
    found: list[tuple[str, str, str, str]] = []  # team, what, path, expires
    ctx = config.context()
    for t, team in enumerate(config.teams):
        where = f"teams[{t}]"
        if team.expires:
            found.append((team.name, f"team {team.name} (every member)", where, team.expires))
        for m in kinds.members(team, where, ctx):
            if m.item.expires:
                what = f"{m.kind.noun.split(' ', 1)[-1]} {m.arn.arn} in team {team.name}"
                found.append((team.name, what, m.path, m.item.expires))
        for i, a in enumerate(team.access_policies):
            if a.expires:
                what = f"access policy {a.policy} of team {team.name}"
                found.append((team.name, what, f"{where}.accessPolicies[{i}]", a.expires))
    out = []
    for team_name, what, path, expires in found:
        ends = clock.end_of(expires)
        if ends <= at + within:
            status: Literal["ended", "ending"] = "ended" if ends <= at else "ending"
            out.append(Ending(team_name, what, path, expires, ends, status))
    return sorted(out, key=lambda e: (e.ends, e.path))
