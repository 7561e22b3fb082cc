"""The aws-auth ConfigMap: rendering the program's mappings, and reading one back.

Rendering is deterministic (sorted by the key the authenticator uses, stable YAML), so the
same config always yields the same bytes and adding one user changes only ``mapUsers``.
Parsing follows aws-iam-authenticator's rules (pkg/mapper/configmap): a key whose YAML does
not parse is dropped whole, an entry without an ARN is dropped, and of two entries for the
same ARN (compared lower-cased) the later one wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from eks_access.principals import Principal

NAME = "aws-auth"
NAMESPACE = "kube-system"
FIELD_MANAGER = "eks-access"
# Kubernetes refuses objects over 1 MiB (etcd's request limit); aws-auth is one object.
MAX_BYTES = 1024 * 1024
WARN_FRACTION = 0.8


class AwsAuthError(ValueError):
    """The mappings cannot be rendered safely."""


def render(principals: Sequence[Principal], accounts: Sequence[str] = ()) -> dict[str, str]:
    """``data`` of the aws-auth ConfigMap: ``mapRoles`` and ``mapUsers``, one YAML string each,
    and ``mapAccounts`` when accounts are given (kept from an adopted cluster).

    Refuses to render without a node or Fargate role: owning ``mapRoles`` without them
    would take every node out of the cluster.
    """
    if not any(p.is_node for p in principals):
        raise AwsAuthError(
            "no node or Fargate role to map; refusing to write mapRoles without them"
        )
    keys = [p.arn.match_key for p in principals]
    if len(set(keys)) != len(keys):
        raise AwsAuthError("a principal is listed twice; aws-auth would silently keep only one")
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
        "(cluster.authenticationMode: API_AND_CONFIG_MAP; see README 'Authentication modes')"
    )


def data_size(data: Mapping[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in data.items())


def _dump(entries: list[Any]) -> str:
    # Block style with sorted keys: one line per field, so a review diff shows single lines.
    if not entries:
        return "[]\n"
    # libyaml's emitter when PyYAML was built with it (same YAML, several times faster).
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(entries, Dumper=dumper, default_flow_style=False, sort_keys=True, width=10_000)


def manifest(data: Mapping[str, str]) -> dict[str, Any]:
    """The whole ConfigMap object as it would be applied."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "data": dict(data),
    }


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthMapping:
    """One mapping as the authenticator keeps it."""

    arn: str
    username: str
    groups: tuple[str, ...]
    kind: str  # "role" or "user"


@dataclass
class Parsed:
    """What the authenticator would make of an aws-auth ``data`` block."""

    mappings: dict[str, AuthMapping] = field(default_factory=dict)  # keyed by lower-cased ARN
    accounts: tuple[str, ...] = ()
    dropped: list[str] = field(default_factory=list)  # what it ignores, and why
    shadowed: list[str] = field(default_factory=list)  # duplicates: the earlier one is lost


def parse(data: Mapping[str, Any]) -> Parsed:
    """Read aws-auth ``data`` the way aws-iam-authenticator does; report what it would drop."""
    out = Parsed()
    # Roles first: the authenticator consults role mappings before user mappings.
    for key, arn_key, kind in (("mapRoles", "rolearn", "role"), ("mapUsers", "userarn", "user")):
        raw = data.get(key)
        if raw is None:
            continue
        try:
            entries = yaml.safe_load(raw) if isinstance(raw, str) else None
        except yaml.YAMLError as e:
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
            if not isinstance(entry, dict) or not isinstance(entry.get(arn_key), str):
                out.dropped.append(f"{key}[{i}]: no {arn_key}; entry ignored")
                continue
            groups = entry.get("groups") or []
            if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                out.dropped.append(f"{key}[{i}]: groups is not a list of strings; entry ignored")
                continue
            m = AuthMapping(entry[arn_key], str(entry.get("username") or ""), tuple(groups), kind)
            k = m.arn.lower()
            if k in out.mappings:
                out.shadowed.append(
                    f"{key}[{i}]: {m.arn} is mapped again; the earlier mapping is lost"
                )
            out.mappings[k] = m
    accounts = data.get("mapAccounts")
    if isinstance(accounts, str):
        try:
            loaded = yaml.safe_load(accounts)
            out.accounts = tuple(str(a) for a in loaded or [])
        except yaml.YAMLError:
            out.dropped.append("mapAccounts: YAML does not parse; whole key ignored")
    return out


def identities(principals: Iterable[Principal]) -> set[tuple[str, str, tuple[str, ...]]]:
    """(match key, username, sorted groups) per principal: what equivalence is judged on."""
    return {(p.arn.match_key, p.username, tuple(sorted(p.groups))) for p in principals}
