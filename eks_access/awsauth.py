"""The aws-auth ConfigMap: rendering the program's mappings, and reading one back.

Rendering is deterministic (sorted by the key the authenticator uses, stable YAML), so the
same config always yields the same bytes and adding one user changes only ``mapUsers``.
Parsing follows aws-iam-authenticator's rules (pkg/mapper/configmap): a key whose YAML does
not parse is dropped whole, an entry without an ARN is dropped, and of two entries for the
same ARN (compared lower-cased) the later one wins.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from eks_access import arns, rules
from eks_access.kinds import NODE_KIND
from eks_access.principals import Principal

NAME = "aws-auth"
NAMESPACE = "kube-system"
FIELD_MANAGER = "eks-access"
# Kubernetes refuses objects over 1 MiB (etcd's request limit); aws-auth is one object.
MAX_BYTES = 1024 * 1024
WARN_FRACTION = 0.8


def _yaml11_resolvers() -> list[tuple[Any, str, Any, list[str]]]:
    from ruamel.yaml.resolver import implicit_resolvers

    return [(v, t, r, list(f)) for v, t, r, f in implicit_resolvers if (1, 1) in v]


class AwsAuthError(ValueError):
    """The mappings cannot be rendered safely."""


def in_aws_auth(principals: Iterable[Principal]) -> list[Principal]:
    """The principals aws-auth maps: all but Auto Mode and HyperPod node roles, which join
    through access entries only (they have no aws-auth form)."""
    return [p for p in principals if not p.is_node or NODE_KIND[p.kind].aws_auth]


ENTRY_ONLY_ANNOTATION = "eks-access/entry-only-nodes"


def entry_only_nodes(principals: Iterable[Principal]) -> str | None:
    """When every node role joins through access entries (Auto Mode, HyperPod) and aws-auth
    maps none: the words the patch carries so that the policy pack's "no node role" rule knows
    the nodes are not locked out. None otherwise (the annotation is then absent)."""
    found = list(principals)
    if any(p.is_node for p in in_aws_auth(found)):
        return None
    entry_only = sorted(p.arn.arn for p in found if p.is_node)
    if not entry_only:
        return None
    return f"{len(entry_only)} node roles join through access entries only: " + ", ".join(
        entry_only
    )


def render(principals: Sequence[Principal], accounts: Sequence[str] = ()) -> dict[str, str]:
    """``data`` of the aws-auth ConfigMap: ``mapRoles`` and ``mapUsers``, one YAML string each,
    and ``mapAccounts`` when accounts are given (kept from an adopted cluster).

    Refuses to render without a node role: owning ``mapRoles`` without them would take every
    node out of the cluster. Node roles that join through access entries only (Auto Mode,
    HyperPod) count: the stack lists its nodes, and they need no line.
    """
    if not any(p.is_node for p in principals):
        raise AwsAuthError(
            "no node or Fargate role to map; refusing to write mapRoles without them"
        )
    keys = [p.arn.match_key for p in principals]
    if len(set(keys)) != len(keys):
        raise AwsAuthError("a principal is listed twice; aws-auth would silently keep only one")
    principals = in_aws_auth(principals)
    roles = [p for p in principals if p.arn.kind == "role"]
    users = [p for p in principals if p.arn.kind == "user"]
    data = {
        "mapRoles": _dump(
            [
                {"rolearn": p.arn.aws_auth_arn, "username": p.username, "groups": list(p.groups)}
                for p in sorted(roles, key=lambda p: p.arn.match_key)
            ]
        ),
        "mapUsers": _dump(
            [
                {"userarn": p.arn.aws_auth_arn, "username": p.username, "groups": list(p.groups)}
                for p in sorted(users, key=lambda p: p.arn.match_key)
            ]
        ),
    }
    if accounts:
        data["mapAccounts"] = _dump(sorted(set(accounts)))
    size = data_size(data)
    if size > MAX_BYTES:
        raise AwsAuthError(
            f"aws-auth would be {size} bytes, over the 1 MiB object limit; move principals to "
            "EKS access entries (cluster.authenticationMode: API_AND_CONFIG_MAP, then API)"
        )
    return data


def size_warning(data: Mapping[str, str]) -> str | None:
    """Advice once aws-auth passes 80% of the object limit, while there is time to move."""
    size = data_size(data)
    if size <= WARN_FRACTION * MAX_BYTES:
        return None
    return (
        f"aws-auth is {size} bytes, {size / MAX_BYTES:.0%} of the 1 MiB object limit; past it "
        "the program stops. Move principals to EKS access entries "
        "(cluster.authenticationMode: API_AND_CONFIG_MAP; see docs/config.md)"
    )


def data_size(data: Mapping[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in data.items())


class Yaml11Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """PyYAML's safe dumper (libyaml's emitter when built with it), quoting every string that a
    YAML 1.1 reader would take as something else.

    The authenticator reads aws-auth with go-yaml v2, a YAML 1.1 reader: an IAM user named ``y``
    written plain becomes ``true`` there, and the user is mapped with no username. PyYAML's own
    resolver leaves ``y``/``n`` out, so the dumper decides with the YAML 1.1 resolver table that
    ruamel.yaml maintains (booleans, nulls, ints incl. octal and base 60, floats, timestamps).
    """


Yaml11Dumper.yaml_implicit_resolvers = {}
for _versions, _tag, _regexp, _first in _yaml11_resolvers():
    for _ch in _first:
        Yaml11Dumper.yaml_implicit_resolvers.setdefault(_ch, []).append((_tag, _regexp))
# go-yaml v2 goes further than the YAML 1.1 table: a plain scalar that starts like a number is
# tried with Go's strconv.ParseInt(s, 0, 64) with underscores removed, which also takes 0o17,
# 0X1F, 0B101 and 1_0. Every string that starts like a number is quoted, to be sure.
for _ch in "-+.0123456789":
    Yaml11Dumper.yaml_implicit_resolvers.setdefault(_ch, []).append(
        ("tag:yaml.org,2002:int", re.compile(r"^[-+.0-9]"))
    )


def _dump(entries: list[Any]) -> str:
    # Block style with sorted keys: one line per field, so a review diff shows single lines.
    if not entries:
        return "[]\n"
    return yaml.dump(
        entries, Dumper=Yaml11Dumper, default_flow_style=False, sort_keys=True, width=10_000
    )


def manifest(data: Mapping[str, str]) -> dict[str, Any]:
    """The whole ConfigMap object as it would be applied."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "data": dict(data),
    }


# --- reading: one definition of "which mapping does the authenticator give this ARN" -------------


@dataclass(frozen=True)
class AuthMapping:
    """One mapping as the authenticator keeps it."""

    arn: str
    username: str
    groups: tuple[str, ...]
    kind: str  # the section it came from: "role" (mapRoles) or "user" (mapUsers)

    @property
    def key(self) -> str:
        """What the authenticator keys it by: the ARN as written, lower-cased."""
        return self.arn.lower()


@dataclass
class Parsed:
    """What the authenticator would make of an aws-auth ``data`` block.

    aws-iam-authenticator (pkg/mapper/configmap ``saveMap``, ``Map``) keeps two tables keyed
    by the ARN as written, lower-cased: ``mapRoles`` and ``mapUsers``, a later duplicate
    replacing an earlier one. A caller's canonical ARN (an assumed-role session becomes its
    role, path-less; an IAM user keeps its path) is looked up in the roles first, then in the
    users. So a role written with its path is never found, and an ARN in both tables gets the
    mapRoles entry.
    """

    roles: dict[str, AuthMapping] = field(default_factory=dict)
    users: dict[str, AuthMapping] = field(default_factory=dict)
    accounts: tuple[str, ...] = ()
    dropped: list[str] = field(default_factory=list)  # what it ignores, and why
    shadowed: list[str] = field(default_factory=list)  # duplicates: the earlier one is lost

    def lookup(self, caller_arn: str) -> AuthMapping | None:
        """The mapping a caller with this canonical ARN gets, or None (not logged in)."""
        key = caller_arn.lower()
        return self.roles.get(key) or self.users.get(key)

    @property
    def mappings(self) -> dict[str, AuthMapping]:
        """Every mapping a caller can reach, by canonical ARN (lower-cased): entries no
        canonical ARN can equal (a role with a path) are left out, and mapRoles wins."""
        out = {k: m for k, m in self.users.items() if arns.reachable(k)}
        out.update((k, m) for k, m in self.roles.items() if arns.reachable(k))
        return dict(sorted(out.items()))

    @property
    def unreachable(self) -> list[AuthMapping]:
        """Mappings written so that no caller ever matches them (a role ARN with its path)."""
        return [
            m for m in (*self.roles.values(), *self.users.values()) if not arns.reachable(m.key)
        ]


def _field(entry: Mapping[str, Any], name: str) -> Any:
    """A struct field as Go's encoding/json finds it: exact key first, else case-insensitive."""
    if name in entry:
        return entry[name]
    return next((v for k, v in entry.items() if str(k).lower() == name), None)


def parse(data: Mapping[str, Any]) -> Parsed:
    """Read aws-auth ``data`` the way aws-iam-authenticator does; report what it would drop.

    Read once per text: a plan reads its own rendering three times (the record, the preflight's
    desired lines, the summary), and the pure-Python YAML 1.1 reader is the slow part (issue
    27's profile: 16% of a 1,000-user plan). Each caller gets its own copy of the tables.
    """
    if all(isinstance(v, str) for v in data.values()):
        return _copy(_parse_text(tuple(sorted(data.items()))))
    return _parse(data)


def _copy(p: Parsed) -> Parsed:
    return Parsed(dict(p.roles), dict(p.users), p.accounts, list(p.dropped), list(p.shadowed))


@functools.lru_cache(maxsize=8)
def _parse_text(items: tuple[tuple[str, str], ...]) -> Parsed:
    return _parse(dict(items))


def _parse(data: Mapping[str, Any]) -> Parsed:
    """``parse``, uncached.

    Each value is read as YAML 1.1 (the authenticator converts it to JSON with go-yaml v2, where
    ``y``, ``no`` and ``0777`` are a boolean and a number), then typed as Go's encoding/json
    types a struct: a field of the wrong type is left empty, the rest of the entry is kept.
    """
    out = Parsed()
    for key, arn_key, kind, table in (
        ("mapRoles", "rolearn", "role", out.roles),
        ("mapUsers", "userarn", "user", out.users),
    ):
        raw = data.get(key)
        if raw is None or (isinstance(raw, str) and raw.strip() in ("", "``", '""')):
            continue
        try:
            entries = load_yaml11(raw) if isinstance(raw, str) else None
        except Exception as e:
            out.dropped.append(
                f"{key}: YAML does not parse ({e.__class__.__name__}); whole key ignored"
            )
            continue
        if entries is None:
            continue
        if not isinstance(entries, list):
            out.dropped.append(f"{key}: not a YAML list; whole key ignored")
            continue
        for i, entry in enumerate(entries):
            arn = _field(entry, arn_key) if isinstance(entry, Mapping) else None
            if not isinstance(arn, str) or not arn:
                out.dropped.append(f"{key}[{i}]: no {arn_key}; entry ignored")
                continue
            username, groups = _field(entry, "username"), _field(entry, "groups")
            if username is not None and not isinstance(username, str):
                out.dropped.append(
                    f"{key}[{i}]: username {username!r} is not a string (YAML 1.1 reads it as "
                    f"{type(username).__name__}); the authenticator maps {arn} with no username"
                )
                username = ""
            listed: tuple[str, ...] = ()
            if isinstance(groups, list):
                bad = [g for g in groups if not isinstance(g, str)]
                if bad:
                    out.dropped.append(
                        f"{key}[{i}]: groups {bad!r} are not strings; the authenticator keeps "
                        "them as empty group names"
                    )
                listed = tuple(g if isinstance(g, str) else "" for g in groups)
            elif groups is not None:
                out.dropped.append(f"{key}[{i}]: groups is not a list; {arn} gets no group")
            m = AuthMapping(arn, username or "", listed, kind)
            if m.key in table:
                out.shadowed.append(
                    f"{key}[{i}]: {arn} is mapped again; the earlier mapping is lost"
                )
            table[m.key] = m
    accounts = data.get("mapAccounts")
    if isinstance(accounts, str) and accounts.strip():
        try:
            loaded = load_yaml11(accounts)
            out.accounts = tuple(str(a) for a in loaded or [])
        except Exception:
            out.dropped.append("mapAccounts: YAML does not parse; whole key ignored")
    return out


load_yaml11 = rules.load_yaml11


def identities(principals: Iterable[Principal]) -> set[tuple[str, str, tuple[str, ...]]]:
    """(match key, username, sorted groups) per principal: what equivalence is judged on."""
    return {(p.arn.match_key, p.username, tuple(sorted(p.groups))) for p in principals}
