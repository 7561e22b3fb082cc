"""The access matrix per principal, and what a config change gains or loses, riskiest first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eks_access import access_entries, arns, authz, principals, rbac, rules
from eks_access.config import StackConfig, iam_users
from eks_access.documents import Change, CountChange, PermissionChange, ReviewDocument, RuleChange

RBAC_GROUP = "rbac.authorization.k8s.io"
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
NAMESPACED = (
    ("", "pods"),
    ("", "pods/log"),
    ("", "pods/exec"),
    ("", "secrets"),
    ("", "configmaps"),
    ("", "services"),
    ("", "serviceaccounts"),
    ("apps", "deployments"),
    ("batch", "jobs"),
    (RBAC_GROUP, "roles"),
    (RBAC_GROUP, "rolebindings"),
)
CLUSTER = (
    ("", "nodes"),
    ("", "namespaces"),
    (RBAC_GROUP, "clusterroles"),
    (RBAC_GROUP, "clusterrolebindings"),
)
SPECIAL = (
    ("escalate", RBAC_GROUP, "roles"),
    ("bind", RBAC_GROUP, "roles"),
    ("impersonate", "", "serviceaccounts"),
)


def grid(namespaces: Iterable[str]) -> list[authz.Request]:
    """The questions the matrix answers for every principal."""
    out = []
    for ns in sorted(set(namespaces) | {"default", "kube-system"}):
        for group, res in NAMESPACED:
            resource, _, sub = res.partition("/")
            out += [authz.Request(v, resource, group, sub, namespace=ns) for v in VERBS]
        out += [authz.Request(v, r, g, namespace=ns) for v, g, r in SPECIAL]
    for group, res in CLUSTER:
        out += [authz.Request(v, res, group) for v in VERBS]
    out += [authz.Request(v, r, g) for v, g, r in SPECIAL]
    return out


def danger(req: authz.Request) -> tuple[int, str]:
    """How much a permission matters to a reviewer, higher first, and why: the one risk
    classifier (``eks_access.rules.risk``, which the policy pack uses too; the matrix sorts by
    it, the comment warns on some of its answers)."""
    return rules.risk(
        req.verb, req.group, req.resource, req.subresource or "", req.namespace, req.path
    )


@dataclass(frozen=True)
class PrincipalAccess:
    identity: authz.Identity
    cluster_admin: bool
    grants: tuple[authz.Grant, ...]
    """Every grant that reaches the principal (``authz.State.grants_for``)."""

    def allows(self, req: authz.Request) -> bool:
        """The same answer as ``can-i``: one evaluator, ``authz.Grant.applies``."""
        return any(g.applies(req) for g in self.grants)

    @property
    def effective(self) -> list[tuple[str | None, authz.Rule, str]]:
        """(namespace or None, rule, via) of every rule that reaches the principal."""
        return [(g.namespace, r, g.via) for g in self.grants for r in g.rules]


def matrix(state: authz.State) -> dict[str, PrincipalAccess]:
    out = {}
    for key, ident in sorted(state.identities.items()):
        grants = tuple(state.grants_for(ident))
        admin = any(
            g.namespace is None
            and "*" in r.get("verbs", [])
            and "*" in r.get("resources", [])
            and "*" in r.get("apiGroups", [])
            for g in grants
            for r in g.rules
        )
        out[key] = PrincipalAccess(ident, admin, grants)
    return out


def namespaces_of(config: StackConfig) -> set[str]:
    return {ns for t in config.teams for ns in t.namespaces} | {
        ns for t in config.teams for ap in t.access_policies for ns in ap.namespaces
    }


def decisions(
    m: dict[str, PrincipalAccess], questions: list[authz.Request]
) -> dict[str, dict[authz.Request, bool]]:
    return {k: {q: a.allows(q) for q in questions} for k, a in m.items()}


def counts(config: StackConfig) -> Counter[str]:
    c: Counter[str] = Counter()
    users = iam_users(config)
    c["IAM users"] = len(users)
    c["access keys"] = sum(len(u.keys) for u, _ in users.values())
    c["IAM groups"] = len(config.teams)
    c["mapped principals"] = sum(
        not p.is_node for p in principals.principals(config, arns.PLACEHOLDER_ACCOUNT)
    )
    c["access entries"] = len(access_entries.entries(config, arns.PLACEHOLDER_ACCOUNT))
    for o in rbac.all_objects(config.teams):
        c[o.kind + "s"] += 1
    return c


@dataclass(frozen=True, order=True)
class Permission:
    """One normalized permission: a verb on a resource (or non-resource URL), in a namespace
    or cluster-wide (``*``), optionally on one named object. Wildcards stay as written."""

    scope: str  # namespace, or "*" for cluster-wide
    verb: str
    group: str = ""
    resource: str = ""  # resource or resource/subresource; "" for a URL
    name: str = ""  # "" for every name
    url: str = ""  # a non-resource URL, or ""

    def covers(self, other: Permission) -> bool:
        """Whether this permission allows everything ``other`` allows (RBAC's own matching)."""
        if (self.scope != "*" and self.scope != other.scope) or bool(self.url) != bool(other.url):
            return False
        if self.verb != "*" and self.verb != other.verb:
            return False
        if self.url:
            # RBAC: "*" is every URL and a trailing "*" a prefix; "/healthz" is not "/healthz*"
            if self.url in ("*", other.url):
                return True
            return self.url.endswith("*") and other.url.startswith(self.url[:-1])
        if self.group != "*" and self.group != other.group:
            return False
        sub = other.resource.partition("/")[2]
        resource_ok = self.resource in ("*", other.resource) or (
            self.resource.startswith("*/") and sub and self.resource[2:] == sub
        )
        return bool(resource_ok) and (not self.name or self.name == other.name)

    def describe(self) -> str:
        if self.verb == authz.UNKNOWN_VERB:
            where = "cluster-wide" if self.scope == "*" else f"in namespace {self.scope}"
            return f"{self.resource} {where}"
        if self.url:
            return f"{self.verb} {self.url}"
        res = self.resource + (f".{self.group}" if self.group else "")
        where = "cluster-wide" if self.scope == "*" else f"in namespace {self.scope}"
        return f"{self.verb} {res}{f' {self.name}' if self.name else ''} {where}"

    def request(self) -> authz.Request:
        """The request this permission answers (for risk scoring)."""
        if self.url:
            return authz.Request(self.verb, path=self.url)
        resource, _, sub = self.resource.partition("/")
        scope = None if self.scope == "*" else self.scope
        return authz.Request(self.verb, resource, self.group, sub, self.name, scope)


def permissions(state: authz.State, ident: authz.Identity) -> dict[Permission, str]:
    """Every permission a principal holds, from its normalized rules, with the grant it comes
    from. Non-resource URLs count only through cluster-wide grants, as in RBAC."""
    out: dict[Permission, str] = {}
    for g in state.grants_for(ident):
        scope = g.namespace or "*"
        for rule in g.rules:
            for verb in rule.get("verbs", []):
                for url in rule.get("nonResourceURLs", []) if g.namespace is None else []:
                    out.setdefault(Permission(scope, verb, url=url), g.via)
                for group in rule.get("apiGroups", []):
                    for res in rule.get("resources", []):
                        for name in rule.get("resourceNames", []) or [""]:
                            out.setdefault(Permission(scope, verb, group, res, name), g.via)
    return out


def _uncovered(
    mine: dict[Permission, str], theirs: dict[Permission, str]
) -> list[tuple[Permission, str]]:
    """The permissions in ``mine`` that nothing in ``theirs`` allows."""
    others = list(theirs)
    return sorted(
        (p, via)
        for p, via in mine.items()
        if p not in theirs and not any(o.covers(p) for o in others)
    )


def rule_changes(base: authz.State, head: authz.State) -> list[RuleChange]:
    """Every permission any principal gains or loses, named objects, URLs and custom resources
    included: each principal's effective rules compared, not a fixed grid of questions."""
    out: list[RuleChange] = []
    for key in sorted(base.identities.keys() | head.identities.keys()):
        before = base.identities.get(key)
        after = head.identities.get(key)
        old = permissions(base, before) if before else {}
        new = permissions(head, after) if after else {}
        ident = after or before
        assert ident is not None
        changed: tuple[tuple[Change, list[tuple[Permission, str]]], ...] = (
            ("gains", _uncovered(new, old)),
            ("loses", _uncovered(old, new)),
        )
        for change, found in changed:
            for p, via in found:
                score, risk = danger(p.request())
                out.append(
                    RuleChange(
                        principal=ident.arn,
                        username=ident.username,
                        change=change,
                        permission=p.describe(),
                        namespace=None if p.scope == "*" else p.scope,
                        verb=p.verb,
                        api_group=p.group,
                        resource=p.resource,
                        name=p.name,
                        url=p.url,
                        via=via,
                        risk=risk,
                        score=score,
                    )
                )
    out.sort(key=lambda c: (-c.score, c.change, c.principal, c.permission))
    return out


def review(base: StackConfig, head: StackConfig) -> ReviewDocument:
    """Who gains and loses what between two configs (no words, warnings or operations yet:
    ``changes.review_document`` adds them)."""
    questions = grid(namespaces_of(base) | namespaces_of(head))
    old, new = matrix(authz.state_of(base)), matrix(authz.state_of(head))  # the grid's view
    before, after = decisions(old, questions), decisions(new, questions)
    names = {**{k: a.identity for k, a in old.items()}, **{k: a.identity for k, a in new.items()}}
    admins_old = {k for k, a in old.items() if a.cluster_admin}
    admins_new = {k for k, a in new.items() if a.cluster_admin}
    changes: list[PermissionChange] = []
    for key in sorted(before.keys() | after.keys()):
        b, a = before.get(key, {}), after.get(key, {})
        for q in questions:
            was, now = b.get(q, False), a.get(q, False)
            if was != now:
                score, why = danger(q)
                changes.append(
                    PermissionChange(
                        principal=names[key].arn,
                        username=names[key].username,
                        change="gains" if now else "loses",
                        permission=q.describe(),
                        risk=why,
                        score=score,
                    )
                )
    changes.sort(key=lambda c: (-c.score, c.change, c.principal, c.permission))
    cb, ch = counts(base), counts(head)
    return ReviewDocument(
        changes=tuple(changes),
        rule_changes=tuple(rule_changes(authz.state_of(base), authz.state_of(head))),
        admins_gained=tuple(sorted(names[k].arn for k in admins_new - admins_old)),
        admins_lost=tuple(sorted(names[k].arn for k in admins_old - admins_new)),
        resource_counts={k: CountChange(cb[k], ch[k]) for k in sorted(cb | ch) if cb[k] != ch[k]},
    )


def access_markdown(config: StackConfig, state: authz.State | None = None) -> str:
    """Who holds what: the config's state, or ``state`` (the cluster's, ``access --live``)."""
    lines = ["| principal | username | groups | cluster-admin | grants |", "|---|---|---|---|---|"]
    for a in matrix(state or authz.state_of(config)).values():
        vias = sorted({v for _, _, v in a.effective if "(built in)" not in v})
        groups = ", ".join(sorted(g for g in a.identity.groups if g != authz.AUTHENTICATED))
        lines.append(
            f"| `{a.identity.arn}` | {a.identity.username} | {groups} | "
            f"{'yes' if a.cluster_admin else 'no'} | {'<br>'.join(vias) or '(none)'} |"
        )
    return "\n".join(lines) + "\n"


def access_json(config: StackConfig, state: authz.State | None = None) -> list[dict[str, Any]]:
    return [
        {
            "principal": a.identity.arn,
            "username": a.identity.username,
            "groups": sorted(a.identity.groups),
            "clusterAdmin": a.cluster_admin,
            "grants": [
                {"namespace": ns, "rule": dict(r), "via": via} for ns, r, via in a.effective
            ],
        }
        for a in matrix(state or authz.state_of(config)).values()
    ]
