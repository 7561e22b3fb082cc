"""The review's documents, typed: what ``review``, ``changes``, ``comment`` and ``report`` hand
each other. JSON only at the edges (``review.json``, ``--format json``, the HTML page's data):
``to_json`` gives the shapes the golden copies in ``tests/fixtures/golden-review`` hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from eks_access.operations import Operation

Change = Literal["gains", "loses"]
Status = Literal["new", "removed", "changed"]


@dataclass(frozen=True)
class PermissionChange:
    """A question of the review's grid (verb, resource, namespace) whose answer changes for a
    principal (``changes`` in the JSON)."""

    principal: str
    username: str
    change: Change
    permission: str
    risk: str
    score: int

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "username": self.username,
            "change": self.change,
            "permission": self.permission,
            "risk": self.risk,
            "score": self.score,
        }


@dataclass(frozen=True)
class RuleChange:
    """A permission a principal gains or loses, from its effective rules (named objects, URLs
    and custom resources included; ``ruleChanges`` in the JSON)."""

    principal: str
    username: str
    change: Change
    permission: str
    namespace: str | None
    """None: cluster-wide."""
    verb: str
    api_group: str
    resource: str
    name: str
    url: str
    via: str
    """The grant it comes through, in words."""
    risk: str
    score: int

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "username": self.username,
            "change": self.change,
            "permission": self.permission,
            "namespace": self.namespace,
            "verb": self.verb,
            "apiGroup": self.api_group,
            "resource": self.resource,
            "name": self.name,
            "url": self.url,
            "via": self.via,
            "risk": self.risk,
            "score": self.score,
        }


@dataclass(frozen=True)
class PrincipalChange:
    """One principal whose identity or access changes, in words (``principals`` in the JSON);
    node roles and mapped accounts too, with a pseudo-team (``changes.NODES``, ``ACCOUNTS``)."""

    principal: str
    username: str
    name: str
    """How people know it (``changes.display_name``)."""
    teams: tuple[str, ...]
    status: Status
    gains: bool
    loses: bool
    words: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "username": self.username,
            "name": self.name,
            "teams": list(self.teams),
            "status": self.status,
            "gains": self.gains,
            "loses": self.loses,
            "words": list(self.words),
        }


@dataclass(frozen=True)
class CountChange:
    before: int
    after: int


@dataclass(frozen=True)
class ReviewDocument:
    """What a change of a stack's config does to access, and what `pulumi up` would do."""

    changes: tuple[PermissionChange, ...]
    rule_changes: tuple[RuleChange, ...]
    admins_gained: tuple[str, ...]
    admins_lost: tuple[str, ...]
    resource_counts: Mapping[str, CountChange]
    """Only the counts that change."""
    principals: tuple[PrincipalChange, ...] = ()
    warnings: tuple[str, ...] = ()
    operations: tuple[Operation, ...] | None = None
    """Every operation but "same", when the two plans were given."""
    operation_counts: Mapping[str, int] | None = None
    """Every operation's count, "same" included."""
    stops: tuple[str, ...] | None = None
    """What would stop `pulumi up` on this change (the command line's guards)."""
    ends: tuple[Any, ...] = ()
    """``expiring.EndChange``: ends the change moves, grants ending soon, grants added ended."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "changes": [c.to_json() for c in self.changes],
            "ruleChanges": [c.to_json() for c in self.rule_changes],
            "clusterAdmins": {"gained": list(self.admins_gained), "lost": list(self.admins_lost)},
            "resourceCounts": {
                k: {"before": v.before, "after": v.after} for k, v in self.resource_counts.items()
            },
            "principals": [p.to_json() for p in self.principals],
            "warnings": list(self.warnings),
        }
        if self.operations is not None:
            out["operations"] = [o.to_json() for o in self.operations]
        if self.operation_counts is not None:
            out["operationCounts"] = dict(self.operation_counts)
        if self.stops is not None:
            out["stops"] = list(self.stops)
        if self.ends:
            out["ends"] = [e.to_json() for e in self.ends]
        return out


@dataclass(frozen=True)
class MatrixRow:
    """A row of the comment's permission matrix: one principal and resource, namespaces with
    the same change together, the verbs gained and lost."""

    who: str
    where: str
    resource: str
    gains: str
    loses: str
    risk: str
    score: int = 0
    """How risky (``rules.risk``): orders the rows, riskiest first; not shown."""

    def cells(self) -> tuple[str, str, str, str, str, str]:
        return (self.who, self.where, self.resource, self.gains, self.loses, self.risk)


# --- the audit: the cluster's access against the config's ---------------------------------


@dataclass(frozen=True)
class Finding:
    """A permission beyond the config, or one the config grants that the cluster lacks."""

    permission: str
    via: str
    risk: str

    def to_json(self) -> dict[str, Any]:
        return {"permission": self.permission, "via": self.via, "risk": self.risk}


AuditStatus = Literal["platform", "allowed", "beyond config", "drift", "as configured"]


@dataclass(frozen=True)
class AuditPrincipal:
    principal: str
    username: str
    groups: tuple[str, ...]
    in_config: bool
    in_cluster: bool
    mapped_by: str | None
    """What maps it in the cluster (an aws-auth line, an access entry), when it is there."""
    status: AuditStatus
    platform: str | None
    """What platform access it is (nodes, the cluster's creator), when it is."""
    allowed_because: str | None
    """The allow-list's reason, when a reviewed exception covers it."""
    beyond_config: tuple[Finding, ...]
    missing_from_cluster: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "username": self.username,
            "groups": list(self.groups),
            "inConfig": self.in_config,
            "inCluster": self.in_cluster,
            "mappedBy": self.mapped_by,
            "status": self.status,
            "platform": self.platform,
            "allowedBecause": self.allowed_because,
            "beyondConfig": [f.to_json() for f in self.beyond_config],
            "missingFromCluster": [f.to_json() for f in self.missing_from_cluster],
        }


@dataclass(frozen=True)
class NodeRoleUse:
    role: str
    username: str
    used_by: str

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "username": self.username, "usedBy": self.used_by}


@dataclass(frozen=True)
class ServiceAccountBinding:
    service_account: str
    """``namespace/name``."""
    via: str

    def to_json(self) -> dict[str, Any]:
        return {"serviceAccount": self.service_account, "via": self.via}


@dataclass(frozen=True)
class AuditDocument:
    """Per principal, what the cluster grants against what the config grants."""

    node_roles: tuple[NodeRoleUse, ...]
    cluster: str
    mode: str
    not_read: tuple[str, ...]
    """Export files that were not there: their grants are not counted."""
    flagged: int
    """Principals with access beyond the config and no allowance (the command exits 1)."""
    principals: tuple[AuditPrincipal, ...]
    service_accounts: tuple[ServiceAccountBinding, ...]
    bootstrap_objects: int
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "nodeRoles": [n.to_json() for n in self.node_roles],
            "cluster": self.cluster,
            "mode": self.mode,
            "notRead": list(self.not_read),
            "flagged": self.flagged,
            "principals": [p.to_json() for p in self.principals],
            "serviceAccounts": [s.to_json() for s in self.service_accounts],
            "bootstrapObjects": self.bootstrap_objects,
            "notes": list(self.notes),
        }
