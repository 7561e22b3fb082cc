"""Editing a stack file (or a teams file) the way a person would: break-glass grants
(``eks-access grant``), an early end (``revoke``), and the removal of grants that have ended
(``expiring --remove-ended``).

Text in, text out: the file is read and written with ruamel.yaml's round trip, which keeps
comments, key order, quoting and flow or block style, so the pull request shows the one line
that changed. Whether the result is a valid config is the caller's check (the same reader as
`pulumi up`), before anything is written.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Collection, Iterator, Mapping, MutableMapping, MutableSequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from eks_access import clock, rules
from eks_access.config.assembly import ADD_MEMBERS, MEMBER_KEYS, OVERRIDES, member_id
from eks_access.fields import NAMESPACE

TEAMS = f"{NAMESPACE}:teams"
IDENTIFIER = {"users": "name", "existingUsers": "arn", "roles": "arn", "permissionSets": "name"}
"""The key that names a member in each list (a string entry is that key's shorthand)."""


class GrantError(ValueError):
    """The edit cannot be made as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Principal:
    """Who a grant is for: a team's list and the member's name or ARN in it."""

    key: str
    """``users``, ``existingUsers``, ``roles`` or ``permissionSets``."""
    ident: str

    @property
    def field(self) -> str:
        return IDENTIFIER[self.key]

    def __str__(self) -> str:
        return f"{self.key[:-1]} {self.ident}"


# --- reading and writing with the layout kept ------------------------------------------------


class Document:
    """A YAML file loaded for a round trip, with the indentation that writes it back as it
    was; a file whose layout the round trip cannot keep is refused, not rewritten."""

    def __init__(self, text: str, where: str):
        self.where = where
        self.original = text
        best: tuple[int, YAML, Any] | None = None
        for mapping, sequence, offset in _INDENTS:
            yaml = _yaml(mapping, sequence, offset, text)
            try:
                data = yaml.load(text)
                changed = _lines_changed(text, _dump(yaml, data))
            except Exception as e:  # ruamel's scanner and parser errors share no public base
                raise GrantError(f"{where}: cannot be read ({type(e).__name__})") from None
            if best is None or changed < best[0]:
                best = (changed, yaml, data)
            if changed == 0:
                break
        assert best is not None
        changed, self.yaml, self.data = best
        if changed:
            raise GrantError(
                f"{where}: written back, {changed} line(s) this edit does not touch would change "
                "(a comment inside a flow mapping, an unusual indentation): edit the file by hand"
            )
        if not isinstance(self.data, CommentedMap):
            raise GrantError(f"{where}: expected a mapping")

    def text(self) -> str:
        return _dump(self.yaml, self.data)


_COMMON = [(2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 8, 4)]
_INDENTS = _COMMON + [
    (m, s, o)
    for m in (2, 4)
    for s in (2, 4, 6, 8)
    for o in (0, 2, 4, 6)
    if s >= o + 2 and (m, s, o) not in _COMMON
]
"""Mapping indent, sequence indent and dash offset: ruamel's own guess
(``load_yaml_guess_indent``) is a heuristic, so each is tried for the one that writes the
unchanged file back byte for byte."""


def _yaml(mapping: int, sequence: int, offset: int, text: str) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long ARN onto two lines
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.explicit_start = text.lstrip().startswith("---")
    return yaml


def _dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _lines_changed(before: str, after: str) -> int:
    """How many lines differ, position by position: 0 exactly when the text is the same
    (difflib's exact diff is quadratic, and only the candidate that writes 0 is used)."""
    if before == after:
        return 0
    a, b = before.splitlines(), after.splitlines()
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


def _config(doc: Document) -> CommentedMap:
    config = doc.data.get("config")
    if not isinstance(config, CommentedMap):
        raise GrantError(f"{doc.where}: no 'config' mapping")
    return config


def _any_config(doc: Document) -> MutableMapping[str, Any]:
    """A stack file's config, or nothing (a teams file holds only ``teams``)."""
    config = doc.data.get("config")
    return config if isinstance(config, MutableMapping) else {}


def _key(config: MutableMapping[str, Any], project: str, name: str) -> str | None:
    """How the file writes one of our keys: ``eks-access:<name>``, or ``<name>`` alone, which
    the Pulumi CLI reads as the project's (ours when the project is eks-access)."""
    for key in (f"{NAMESPACE}:{name}", name if project == NAMESPACE else None):
        if key is not None and key in config:
            return key
    return None


def _teams_key(config: MutableMapping[str, Any], project: str) -> str | None:
    return _key(config, project, "teams")


def _overrides_key(config: MutableMapping[str, Any], project: str) -> str:
    return _key(config, project, "teamOverrides") or OVERRIDES


def _named(teams: Any, name: str, where: str) -> CommentedMap:
    if not isinstance(teams, list):
        raise GrantError(f"{where}: expected a list of teams")
    for team in teams:
        if isinstance(team, MutableMapping) and team.get("name") == name:
            return team  # type: ignore[return-value]
    names = [str(t.get("name")) for t in teams if isinstance(t, MutableMapping)]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; teams: {', '.join(names)}"
    raise GrantError(f"{where}: no team {name!r}{hint}")


def _ident(entry: Any, field: str) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, MutableMapping):
        value = entry.get(field)
        return str(value) if value is not None else None
    return None


def _same(a: str | None, b: str, key: str) -> bool:
    """The same member: IAM user names compare without case (IAM's rule), ARNs as the
    authenticator compares them."""
    if a is None:
        return False
    if key == "users":
        return a.lower() == b.lower()
    if IDENTIFIER[key] == "arn":
        return rules.match_key(a) == rules.match_key(b)
    return a == b


def _find(items: Any, who: Principal) -> int | None:
    if not isinstance(items, list):
        return None
    return next(
        (i for i, e in enumerate(items) if _same(_ident(e, who.field), who.ident, who.key)), None
    )


def _entry_like(items: MutableSequence[Any], values: dict[str, str]) -> CommentedMap:
    """A new entry, flow style (``{name: x, expires: ...}``) if the list's entries are."""
    entry = CommentedMap(values)
    neighbours = [e for e in items if isinstance(e, CommentedMap)]
    if not neighbours or neighbours[-1].fa.flow_style():
        entry.fa.set_flow_style()
    return entry


def _set(
    entry: Any, items: MutableSequence[Any], i: int, who: Principal, values: dict[str, str]
) -> None:
    """Set ``values`` on the entry at ``items[i]`` (a string entry becomes a mapping)."""
    if isinstance(entry, str):
        items[i] = _entry_like(items, {who.field: entry, **values})
    else:
        for k, v in values.items():
            entry[k] = v


def _list(parent: MutableMapping[str, Any], key: str) -> MutableSequence[Any]:
    items = parent.get(key)
    if items is None:
        items = parent[key] = CommentedSeq()
    if not isinstance(items, list):
        raise GrantError(f"{key}: expected a list")
    return items


# --- grant and revoke ----------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    text: str
    path: str
    """Where in the file the entry is (``config.eks-access:teams[1].users[2]``)."""
    change: str
    """What happened, in words."""


def _shared(node: Any, what: str, where: str) -> None:
    """Refuse to edit a node YAML shares with another place (an anchor ``&x`` or a merge
    ``<<: *x``): the edit would reach every team that uses it, unseen in the diff."""
    anchor = getattr(node, "anchor", None)
    if anchor is not None and anchor.value is not None:
        raise GrantError(
            f"{where}: {what} is anchored (&{anchor.value}) and may be used elsewhere "
            "(*{anchor.value}): an edit here would reach every place that uses it; edit the "
            "file by hand"
        )
    if isinstance(node, CommentedMap) and node.merge:
        raise GrantError(
            f"{where}: {what} merges another mapping (<<): its lists may come from there; "
            "edit the file by hand"
        )


def _target(
    doc: Document, project: str, team: str, who: Principal, where: str
) -> tuple[MutableSequence[Any], str]:
    """The list a grant or a stack's own end of ``who`` goes in, and its path: the team's own
    list when the file writes its teams, else ``teamOverrides.<team>``'s replacing list if it
    has one, else its ``addMembers``."""
    config = _config(doc)
    key = _teams_key(config, project)
    if key is not None:
        _shared(config[key], f"config.{key}", where)
        t = _named(config[key], team, f"{where}: config.{key}")
        n = config[key].index(t)
        _shared(t, f"team {team}", where)
        items = _list(t, who.key)
        _shared(items, f"team {team}'s {who.key}", where)
        return items, f"config.{key}[{n}].{who.key}"
    okey = _overrides_key(config, project)
    overrides = config.get(okey)
    if overrides is None:
        overrides = config[okey] = CommentedMap()
    if not isinstance(overrides, MutableMapping):
        raise GrantError(f"{where}: config.{okey}: expected a mapping")
    fields = overrides.get(team)
    if fields is None:
        fields = overrides[team] = CommentedMap()
    _shared(fields, f"config.{okey}.{team}", where)
    if who.key in fields:
        items = _list(fields, who.key)  # this stack's own replacement list
        _shared(items, f"config.{okey}.{team}.{who.key}", where)
        return items, f"config.{okey}.{team}.{who.key}"
    added = fields.get(ADD_MEMBERS)
    if added is None:
        added = fields[ADD_MEMBERS] = CommentedMap()
    _shared(added, f"config.{okey}.{team}.{ADD_MEMBERS}", where)
    items = _list(added, who.key)
    _shared(items, f"config.{okey}.{team}.{ADD_MEMBERS}.{who.key}", where)
    return items, f"config.{okey}.{team}.{ADD_MEMBERS}.{who.key}"


def grant(
    text: str,
    where: str,
    *,
    project: str,
    team: str,
    who: Principal,
    expires: str,
    reason: str,
    settings: Mapping[str, Any] | None = None,
) -> Edit:
    """The file with ``who`` in ``team`` until ``expires``, for ``reason``: in the file's own
    teams when it writes them, otherwise in ``teamOverrides.<team>.addMembers`` (teams from a
    teams file or ESC). ``settings`` are the principal's other fields where the stack defines
    it already (its keys, path, username: the same everywhere). A member already there with an
    end gets the new end (an extension or a shortening); one without an end is refused, since a
    grant that ends would cut it short."""
    doc = Document(text, where)
    items, base = _target(doc, project, team, who, where)
    i = _find(items, who)
    if i is None:
        values = {who.field: who.ident, **(settings or {}), "expires": expires, "reason": reason}
        items.append(_entry_like(items, values))
        return Edit(
            doc.text(), f"{base}[{len(items) - 1}]", f"added {who} to team {team} until {expires}"
        )
    entry = items[i]
    _shared(entry, f"{base}[{i}]", where)
    before = _expires(entry.get("expires")) if isinstance(entry, MutableMapping) else None
    if before is None:
        raise GrantError(
            f"{where}: {base}[{i}]: {who} is in team {team} already, with no end; a grant "
            "that ends would shorten it (to end it, use `eks-access revoke`)"
        )
    old = entry.get("reason") if isinstance(entry, MutableMapping) else None
    said = reason if not old or old == reason else f"{old}; then {reason}"
    _set(entry, items, i, who, {"expires": expires, "reason": said})
    change = f"changed the end of {who} in team {team} from {before} to {expires}"
    return Edit(doc.text(), f"{base}[{i}]", change)


def _sharing(*nodes: Any) -> str | None:
    """Why an edit of these nodes would reach other places (an anchor or a merge), or None."""
    for node in nodes:
        anchor = getattr(node, "anchor", None)
        if anchor is not None and anchor.value is not None:
            return f"anchored (&{anchor.value})"
        if isinstance(node, CommentedMap) and node.merge:
            return "merged from another mapping (<<)"
    return None


def _members(
    doc: Document, project: str
) -> Iterator[tuple[str, str, MutableSequence[Any], str | None]]:
    """Every member list the file writes: ``(path, team, list, sharing)``, in its teams and in
    its overrides (replacing lists and ``addMembers``); ``sharing`` says why an edit there would
    reach other places (YAML anchors and merges), or is None."""
    config = _any_config(doc)
    key = _teams_key(config, project)
    teams = config.get(key) if key else doc.data.get("teams")  # a teams file holds 'teams'
    base = f"config.{key}" if key else "teams"
    if isinstance(teams, list):
        for n, t in enumerate(teams):
            if isinstance(t, MutableMapping):
                for k in MEMBER_KEYS:
                    if isinstance(t.get(k), list):
                        why = _sharing(teams, t, t[k])
                        yield f"{base}[{n}].{k}", str(t.get("name")), t[k], why
    okey = _overrides_key(config, project)
    overrides = config.get(okey)
    if isinstance(overrides, MutableMapping):
        for name, fields in overrides.items():
            if not isinstance(fields, MutableMapping):
                continue
            for k in MEMBER_KEYS:
                if isinstance(fields.get(k), list):
                    why = _sharing(overrides, fields, fields[k])
                    yield f"config.{okey}.{name}.{k}", str(name), fields[k], why
            added = fields.get(ADD_MEMBERS)
            if isinstance(added, MutableMapping):
                for k in MEMBER_KEYS:
                    if isinstance(added.get(k), list):
                        why = _sharing(overrides, fields, added, added[k])
                        path = f"config.{okey}.{name}.{ADD_MEMBERS}.{k}"
                        yield path, str(name), added[k], why


def revoke(
    text: str,
    where: str,
    *,
    project: str,
    team: str,
    who: Principal,
    at: datetime,
    reason: str | None,
    settings: Mapping[str, Any] | None = None,
) -> Edit:
    """The file with ``who``'s membership of ``team`` ending at ``at`` (its ``expires`` set, the
    line kept: the pull request shows the end, and the removal of ended lines follows). A
    member this file does not list, where the team comes from a teams file or ESC, is ended
    for this stack alone in ``teamOverrides.<team>.addMembers`` (with ``settings``)."""
    doc = Document(text, where)
    ended = clock.written(at)
    found = [
        (path, items, i, why or _sharing(items[i]))
        for path, name, items, why in _members(doc, project)
        if name == team
        and (i := _find(items, who)) is not None
        and (who.key == path.rsplit(".", 1)[-1])
    ]
    if not found:
        if _teams_key(_config(doc), project) is not None:
            raise GrantError(f"{where}: {who} is not in team {team}")
        items, base = _target(doc, project, team, who, where)
        values = {who.field: who.ident, **(settings or {}), "expires": ended}
        if reason:
            values["reason"] = f"revoked: {reason}"
        items.append(_entry_like(items, values))
        return Edit(
            doc.text(),
            f"{base}[{len(items) - 1}]",
            f"ended {who} in team {team} at {ended}, in this stack",
        )
    for path, items, i, why in found:
        if why:
            raise GrantError(
                f"{where}: {path}[{i}] is {why}: an edit there would reach every place that "
                "uses it; edit the file by hand"
            )
        values = {"expires": ended}
        before = items[i].get("reason") if isinstance(items[i], MutableMapping) else None
        if reason:  # the grant's own reason stays: the file tells both
            values["reason"] = f"{before}; revoked: {reason}" if before else f"revoked: {reason}"
        _set(items[i], items, i, who, values)
    path, _, i, _ = found[-1]
    return Edit(doc.text(), f"{path}[{i}]", f"ended {who} in team {team} at {ended}")


# --- removal of what has ended -----------------------------------------------------------


def remove_ended(
    text: str,
    where: str,
    *,
    project: str,
    at: datetime,
    shared: Collection[tuple[str, str, str]] = (),
) -> tuple[str, list[str], list[str]]:
    """The file without the member entries and access policies whose ``expires`` has passed
    at ``at``; what was removed and what was kept (paths as in the file, before the removal).

    Kept: an ``addMembers`` entry for a member the shared team lists too (``shared``: team,
    list, ``member_id``), since it is that member's end in this stack and removing it would
    grant the shared entry again; and a team whose own ``expires`` has passed, since removing
    it would take its roles, bindings and namespaces too, which is a person's decision."""
    doc = Document(text, where)
    removed: list[str] = []
    kept: list[str] = []
    lists = [(p, team, items, why) for p, team, items, why in _members(doc, project)]
    config = _any_config(doc)
    key = _teams_key(config, project)
    teams = config.get(key) if key else doc.data.get("teams")
    base = f"config.{key}" if key else "teams"
    if isinstance(teams, list):
        for n, t in enumerate(teams):
            if isinstance(t, MutableMapping) and isinstance(t.get("accessPolicies"), list):
                policies = t["accessPolicies"]
                why = _sharing(teams, t, policies)
                lists.append((f"{base}[{n}].accessPolicies", str(t.get("name")), policies, why))
    emptied = []
    for path, team, items, why in lists:
        list_key = path.rsplit(".", 1)[-1]
        stands_in = f".{ADD_MEMBERS}." in path
        for i in reversed(range(len(items))):
            entry = items[i]
            expires = entry.get("expires") if isinstance(entry, MutableMapping) else None
            if not _ended(expires, at):
                continue
            if sharing := why or _sharing(entry):
                kept.append(f"{path}[{i}] (expires {_expires(expires)}): {sharing}; remove by hand")
                continue
            if stands_in and (team, list_key, member_id(entry, list_key)) in shared:
                kept.append(
                    f"{path}[{i}] (expires {_expires(expires)}): it ends a member of the shared "
                    f"team {team} in this stack; removing it would grant the shared entry again "
                    "(remove it once the shared definition drops the member)"
                )
                continue
            removed.append(f"{path}[{i}] (expires {_expires(expires)})")
            del items[i]
            if not items:
                emptied.append(path)
    _drop_empty(doc, emptied, project)
    return doc.text(), sorted(removed), sorted(kept)


def _drop_empty(doc: Document, paths: list[str], project: str) -> None:
    """Remove the lists the removal emptied where an empty list means the same as none: a
    team's own lists and ``addMembers`` (and an ``addMembers`` or override left empty). An
    override's replacing list stays ``[]``: there it means "nobody in this stack"."""
    config = _any_config(doc)
    okey = _overrides_key(config, project)
    overrides = config.get(okey)
    for path in paths:
        head, _, key = path.rpartition(".")
        if head.startswith(f"config.{okey}."):
            parts = head[len(f"config.{okey}.") :].split(".")
            if parts[-1] != ADD_MEMBERS or not isinstance(overrides, MutableMapping):
                continue  # a replacing list
            team = ".".join(parts[:-1])
            added = overrides[team][ADD_MEMBERS]
            del added[key]
            if not added:
                del overrides[team][ADD_MEMBERS]
            if not overrides[team]:
                del overrides[team]
            if not overrides:
                del config[okey]
        else:
            index = int(head.rsplit("[", 1)[1].rstrip("]"))
            teams_key = head.rsplit("[", 1)[0]
            teams = (
                doc.data["teams"] if teams_key == "teams" else config[teams_key[len("config.") :]]
            )
            del teams[index][key]


def ended_teams(text: str, where: str, *, project: str, at: datetime) -> list[str]:
    """Teams in the file whose own ``expires`` has passed (kept by ``remove_ended``)."""
    doc = Document(text, where)
    config = _any_config(doc)
    key = _teams_key(config, project)
    teams = config.get(key) if key else doc.data.get("teams")
    return [
        str(t.get("name"))
        for t in (teams if isinstance(teams, list) else [])
        if isinstance(t, MutableMapping) and _ended(t.get("expires"), at)
    ]


def _expires(value: Any) -> str | None:
    """An ``expires`` as the Pulumi CLI hands it to the program (a string): ruamel's round
    trip reads an unquoted ``2026-12-24`` as a date, and a date-time as a timestamp."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat() if value.tzinfo is not None else None  # no zone: invalid
    if isinstance(value, date):
        return value.isoformat()
    return None


def _ended(value: Any, at: datetime) -> bool:
    expires = _expires(value)
    try:
        return expires is not None and clock.ended(expires, at)
    except ValueError:
        return False  # a bad value is the config check's to report, not ours to remove


def duration_end(at: datetime, length: timedelta) -> str:
    """``--for``'s end, as ``expires`` writes it (UTC, to the second)."""
    return clock.written(at + length)
