"""The rules the core and the CrossGuard policy pack share, in one place.

The pack runs in a virtualenv of its own (``policy/requirements.txt``), where ``eks_access`` is
not installed: it loads this file by path. So this module imports nothing of the project, and
of the outside only what the pack's environment holds (PyYAML and ruamel.yaml).

What is here: how risky a permission is (the one classifier the review, the comment's
warnings and the pack's advisory use), the verbs that escalate, the built-in ClusterRoles
that read Secrets, IAM's access-key limit, how the authenticator compares ARNs, and how it
reads aws-auth's YAML.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

RBAC_GROUP = "rbac.authorization.k8s.io"
ESCALATING_VERBS = frozenset({"escalate", "bind", "impersonate"})
WRITE_VERBS = frozenset({"create", "update", "patch"})
SECRET_READING_ROLES = frozenset({"edit", "admin", "cluster-admin"})
"""Built-in ClusterRoles that read Secrets and exec into pods (Kubernetes' bootstrap policy)."""
MAX_ACCESS_KEYS = 2
"""IAM's limit of access keys per user."""
MASTERS = "system:masters"
ADMIN_LEVELS = frozenset({"cluster-admin", "admin"})
"""The grants that may be required to end (the pack's ``admin-grants-end``): the built-in
ClusterRoles of these names, and the presets and EKS access policies of the same names."""
ADMIN_POLICIES = frozenset({"AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy"})
GRANTS_END = "eks-access.io/grants-end"
"""Annotation on an admin-level binding, tag on an access entry with an admin-level access
policy: the latest end of anyone's grant through it (UTC), when every such grant has an end."""
NO_MEMBERS = "no-members"
"""The value of ``GRANTS_END`` when the grant has no one in it."""
fixed_now: datetime | None = None
"""The time checks are made at, when set (``eks_access.clock.fixed``: the offline plan's
``--at`` and the tests); the real time otherwise."""
NODE_GROUPS = frozenset({"system:nodes", "system:bootstrappers"})
UNKNOWN_VERB = "(rules unknown)"
"""The verb of an access policy's placeholder rule when its rules are not published where this
tool read them (``eks_access.authz.unknown_rules``)."""

RISKS: tuple[tuple[str, str], ...] = (
    ("rules unknown", "an EKS access policy whose rules this tool cannot read"),
    ("secrets", "reads or writes Secrets"),
    ("exec into pods", "exec, attach or port-forward into pods"),
    ("the kubelet API (nodes/proxy)", "the kubelet API through nodes/proxy"),
    ("RBAC escalation", "RBAC escalation (escalate, bind, impersonate, or writes to roles)"),
    ("wildcard", "a wildcard (*) in a verb, resource or API group"),
)
"""The risks that get a warning line in the review comment and a report from the pack, with
their words."""


def risk(
    verb: str,
    group: str = "",
    resource: str = "",
    subresource: str = "",
    namespace: str | None = None,
    path: str | None = None,
) -> tuple[int, str]:
    """How much one permission matters to a reviewer, higher first, and why."""
    if verb == UNKNOWN_VERB:
        return 85, "rules unknown"
    wild = (resource == "*" and not subresource) or path == "*"
    if "*" in (verb, group) or wild:
        return 95, "wildcard"
    if verb in ESCALATING_VERBS or (group == RBAC_GROUP and verb in WRITE_VERBS):
        return 90, "RBAC escalation"
    if resource == "secrets":
        return 80, "secrets"
    if subresource in ("exec", "attach", "portforward") and resource in ("pods", "*"):
        return 70, "exec into pods"
    if resource in ("nodes", "*") and subresource == "proxy":
        return 70, "the kubelet API (nodes/proxy)"
    if namespace is None:
        return 60, "cluster-wide"
    if verb in ("delete", "deletecollection"):
        return 40, "delete"
    if verb in WRITE_VERBS:
        return 30, "write"
    return 10, "read"


def _strings(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [v for v in value or () if isinstance(v, str)]


def rule_permissions(rule: Mapping[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """Each (verb, API group, resource, subresource) one RBAC rule grants, as RBAC reads its
    lists (``pods/exec`` is the subresource ``exec`` of ``pods``; ``*/scale`` of any)."""
    for verb in _strings(rule.get("verbs")):
        for group in _strings(rule.get("apiGroups")):
            for res in _strings(rule.get("resources")):
                resource, _, sub = res.partition("/")
                yield verb, group, resource, sub


def rule_risks(rule: Mapping[str, Any], namespaced: bool = True) -> list[str]:
    """The warned-of risks (``RISKS``) one RBAC rule grants, each once, in ``RISKS`` order."""
    found = {
        risk(v, g, r, s, "ns" if namespaced else None)[1] for v, g, r, s in rule_permissions(rule)
    }
    found |= {"wildcard" for url in _strings(rule.get("nonResourceURLs")) if url == "*"}
    return [label for label, _ in RISKS if label in found]


def match_key(arn: str) -> str:
    """How aws-iam-authenticator compares ARNs: case-insensitive, a role without its path."""
    arn = arn.strip().lower()
    head, _, resource = arn.partition(":role/")
    if resource:
        return f"{head}:role/{resource.rsplit('/', 1)[-1]}"
    return arn


def load_yaml11(text: str) -> Any:
    """A YAML document read with YAML 1.1's implicit types, as go-yaml v2 (the authenticator's
    reader) reads it; ruamel.yaml implements the 1.1 resolver, PyYAML leaves out ``y``/``n``.
    Raises ruamel's YAMLError on text the authenticator could not parse either.

    Each text is read once per process (the program's record and preflight, the summary and
    the policy pack's rules all read the same aws-auth; the pure-Python reader is the slow part
    of a big plan): every caller gets its own copy of the cached document."""
    return copy.deepcopy(_load_yaml11(text))


@functools.lru_cache(maxsize=8)
def _load_yaml11(text: str) -> Any:
    from ruamel.yaml import YAML

    reader = YAML(typ="safe", pure=True)
    reader.version = (1, 1)
    return reader.load(text)


def now() -> datetime:
    return fixed_now if fixed_now is not None else datetime.now(UTC)


def end_problem(end: str | None, at: datetime, max_days: float) -> str | None:
    """Why a grant's end breaks the rule that admin-level grants end within ``max_days`` of
    ``at``; None when it keeps it. ``end`` is ``GRANTS_END``'s value (absent: no end)."""
    if end == NO_MEMBERS:
        return None
    if end is None:
        return f"has no end; give every grant through it an expires within {max_days:g} days"
    try:
        when = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return f"has an unreadable end {end!r}"
    days = (when - at).total_seconds() / 86400
    if days > max_days:
        return (
            f"lasts until {end}, {days:.1f} days from now; the bound is {max_days:g} days: "
            "shorten the expires"
        )
    return None
