"""Who can do what: Kubernetes RBAC evaluated offline over the program's desired state.

Semantics follow Kubernetes' RBAC authorizer (pkg/registry/rbac/validation, rbac.go):
a RoleBinding grants its Role or ClusterRole inside its own namespace only; a
ClusterRoleBinding grants everywhere; ``*`` matches any group, resource or verb;
``*/sub`` matches a subresource of any resource; ``pods/log`` is not ``pods``;
``resourceNames`` match the request's name, for every verb; non-resource URLs match exactly or
by a trailing ``*``, and only through ClusterRoleBindings. Identities come from EKS: aws-auth
(the ARN as written, lower-cased; assumed-role sessions canonicalised to their path-less role)
and/or access entries, whose access policies count too (as documented approximations, see
data/builtin_rbac.yaml).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import yaml

from eks_access import access_entries, arns, kinds, rbac, rules, team_roles
from eks_access.config import StackConfig
from eks_access.fields import session_pattern as session_pattern  # kept here for its readers
from eks_access.kinds import PERMISSION_SETS
from eks_access.kinds.permission_set import permission_set_of
from eks_access.principals import Principal, principals

Rule = Mapping[str, Any]
AUTHENTICATED = "system:authenticated"


@functools.cache
def builtin() -> dict[str, Any]:
    text = resources.files("eks_access").joinpath("data/builtin_rbac.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


@functools.cache
def access_policies() -> dict[str, Any]:
    """EKS access policies as the EKS user guide publishes them (data/access_policies.yaml,
    generated from the guide's source at a pinned commit by scripts/access_policies.py)."""
    text = resources.files("eks_access").joinpath("data/access_policies.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def access_policy_rules(name: str) -> tuple[Rule, ...] | None:
    """The published rules of an access policy (``AmazonEKSEditPolicy``), or None when the
    guide publishes none (EKS's own components' policies, described in words) or does not
    list the policy (one newer than the pinned guide)."""
    spec = access_policies()["policies"].get(name)
    if spec is None or spec.get("rules") is None:
        return None
    return tuple(spec["rules"])


def builtin_rules(role: str) -> list[Rule]:
    spec = builtin()["clusterRoles"].get(role)
    if spec is None:
        return []
    rules = list(spec.get("rules", []))
    for included in spec.get("includes", []):
        rules += builtin_rules(included)
    return rules


@dataclass(frozen=True)
class Request:
    """One request, as `kubectl auth can-i` takes it."""

    verb: str
    resource: str = ""  # plural, e.g. "pods"
    group: str = ""  # API group, "" for core
    subresource: str = ""
    name: str = ""
    namespace: str | None = None  # None: cluster-scoped (or all namespaces)
    path: str | None = None  # a non-resource URL instead of a resource

    def describe(self) -> str:
        if self.path is not None:
            return f"{self.verb} {self.path}"
        res = self.resource + (f".{self.group}" if self.group else "")
        res += f"/{self.subresource}" if self.subresource else ""
        res += f" {self.name}" if self.name else ""
        where = f" in namespace {self.namespace}" if self.namespace else " (cluster-wide)"
        return f"{self.verb} {res}{where}"


def parse_request(
    verb: str, target: str, namespace: str | None = None, subresource: str = ""
) -> Request:
    """kubectl's argument forms: ``TYPE[.GROUP][/NAME]`` or a non-resource URL ``/healthz``.
    The type is resolved as kubectl resolves it (:func:`resolve_type`); the verb is kept as
    written (a ``GET`` reaches RBAC as ``GET`` and matches no rule)."""
    if target.startswith("/"):
        return Request(verb, path=target)
    kind, _, name = target.partition("/")
    resource, group, _ = resolve_type(kind)
    return Request(verb, resource, group, subresource, name, namespace)


# kubectl v1.37.2, pkg/cmd/auth/cani.go: resourceVerbs, nonResourceURLVerbs and
# nonStandardResourceNames; kubectl warns on a verb outside these (make e2e compares).
KUBECTL_RESOURCE_VERBS = frozenset(
    ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "use",
     "bind", "impersonate", "*", "approve", "sign", "escalate", "attest")
)  # fmt: skip
KUBECTL_URL_VERBS = frozenset(("get", "put", "post", "head", "options", "delete", "patch", "*"))
_NON_STANDARD = frozenset(("users", "groups"))


@functools.cache
def api_resource_names() -> frozenset[str]:
    """Every type a Kubernetes v1.37.2 API server serves, as ``kubectl api-resources -o name``
    prints them (recorded from the real server; make e2e checks it)."""
    return frozenset(row[0] for row in _served())


_VERSION = re.compile(r"^v\d+((alpha|beta)\d+)?$")


def resolve_type(arg: str) -> tuple[str, str, bool | None]:
    """(resource, group, namespaced) of a type argument as kubectl's REST mapper resolves it
    against the served types: lower-cased, then a plural, singular, short name or kind
    (``po``, ``pod``, ``Pods`` are pods; ``deploy`` is deployments.apps); ``TYPE.VERSION.GROUP``
    names the group. An unknown type stays as written, lower-cased, ``namespaced`` None."""
    resource, _, group = arg.lower().partition(".")
    first, _, rest = group.partition(".")
    if _VERSION.match(first) and rest:  # deployments.v1.apps
        group = rest
    for name, short, singular, kind, namespaced in _served():
        plural, _, row_group = name.partition(".")
        if group and group != row_group:
            continue
        if resource in (plural, singular, kind.lower(), *short):
            return plural, row_group, namespaced
    return resource, group, None


@functools.cache
def _served() -> tuple[tuple[str, tuple[str, ...], str, str, bool], ...]:
    """Rows of data/api_resources.txt (name, short names, singular, kind, namespaced), core
    types first: kubectl's mapper prefers the core group for a bare name."""
    text = resources.files("eks_access").joinpath("data/api_resources.txt").read_text()
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, short, singular, kind, namespaced = line.split("\t")
        shorts = tuple(s for s in short.split(",") if s)
        rows.append((name, shorts, singular, kind, namespaced == "true"))
    return tuple(sorted(rows, key=lambda r: ("." in r[0], r[0])))


def request_warnings(req: Request, rules: Iterable[Rule] = ()) -> list[str]:
    """kubectl's warnings for `auth can-i` (same words, same order): a type the server does
    not have, a cluster-scoped type asked in a namespace, a verb it does not know. Offline the
    server is Kubernetes' built-in types and whatever the stack's own rules name (a custom
    resource's)."""
    out = []
    if req.path is None and req.resource not in ("*", "") and req.resource not in _NON_STANDARD:
        full = f"{req.resource}.{req.group}" if req.group else req.resource
        named = {(str(r), str(g)) for rule in rules for r in rule.get("resources", [])
                 for g in rule.get("apiGroups", [])}  # fmt: skip
        where = f" in group '{req.group}'" if req.group else ""
        if full in api_resource_names():
            if req.namespace and not resolve_type(full)[2]:
                out.append(f"resource '{req.resource}' is not namespace scoped{where}")
        elif not any(r.split("/")[0] == req.resource and g in (req.group, "*") for r, g in named):
            out.append(
                f"the server doesn't have a resource type '{req.resource}'{where} (not a "
                "Kubernetes type, nor named by a rule of this stack)"
            )
    known = KUBECTL_URL_VERBS if req.path is not None else KUBECTL_RESOURCE_VERBS
    if req.verb not in known:
        lower = (
            f" (RBAC verbs are lower-case: {req.verb.lower()!r})"
            if req.verb.lower() in known
            else ""
        )
        out.append(f"verb '{req.verb}' is not a known verb{lower}")
    return out


_BINDINGS = ("rolebindings", "clusterrolebindings")


def escalation_note(state: State, ident: Identity, req: Request, grants: Sequence[Grant]) -> str:
    """What the API server adds to a yes on writing a binding when only EKS access policies
    grant it: RBAC's escalation check counts RBAC alone (access policies are a webhook), so the
    binding is refused unless RBAC already grants every permission of the role it names, or
    the principal may ``bind`` that role (an access policy may grant ``bind``, as
    AmazonEKSClusterAdminPolicy's ``*`` does). Empty when it does not apply."""
    if not grants or req.group != "rbac.authorization.k8s.io" or req.resource not in _BINDINGS:
        return ""
    if req.verb not in ("create", "update", "patch") or any(
        not g.via.startswith("EKS access policy") for g in grants
    ):
        return ""
    kind = "clusterroles" if req.resource == "clusterrolebindings" else "roles"
    bind = Request("bind", kind, "rbac.authorization.k8s.io", namespace=req.namespace)
    if state.matching(ident, bind):
        return ""
    return (
        "only EKS access policies grant this, and the API server's escalation check counts "
        "RBAC alone: a binding is refused unless RBAC already grants every permission of the "
        "role it names (or the principal may bind that role)"
    )


def url_matches(pattern: str, path: str) -> bool:
    """A rule's non-resource URL against a request path: ``*``, exact, or a prefix ending in
    ``*`` (rbac/v1 helpers ``NonResourceURLMatches``: the trailing stars are trimmed)."""
    return (
        pattern == "*"
        or pattern == path
        or (pattern.endswith("*") and path.startswith(pattern.rstrip("*")))
    )


def rule_allows(rule: Rule, req: Request) -> bool:
    """Kubernetes' RBAC rule match (pkg/apis/rbac/v1/evaluation_helpers.go): verb, then
    non-resource URL, or API group, resource (``*``, exact, ``*/sub``) and resource name.
    ``resourceNames`` is compared for every verb: a list or watch filtered to one name, or a
    create on a named subresource (``pods/web-0/exec``), carries the name."""
    verbs = rule.get("verbs", [])
    if UNKNOWN_VERB in verbs:
        return False  # an access policy whose rules are not known here: never a guessed yes
    if "*" not in verbs and req.verb not in verbs:
        return False
    if req.path is not None:
        return any(url_matches(u, req.path) for u in rule.get("nonResourceURLs", []))
    groups = rule.get("apiGroups", [])
    if not rule.get("resources") or ("*" not in groups and req.group not in groups):
        return False
    combined = f"{req.resource}/{req.subresource}" if req.subresource else req.resource
    if not any(
        r == "*" or r == combined or (req.subresource and r == f"*/{req.subresource}")
        for r in rule.get("resources", [])
    ):
        return False
    names = rule.get("resourceNames", [])
    return not names or req.name in names


@dataclass(frozen=True)
class Grant:
    """Rules given to some subjects, in a namespace or cluster-wide, by a named object."""

    via: str  # e.g. "RoleBinding payments/eks-access:payments:edit -> ClusterRole edit"
    rules: tuple[Rule, ...]
    namespace: str | None  # None: cluster-wide
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    principal: str | None = None  # an access-policy grant belongs to one principal

    def applies(self, req: Request) -> bool:
        if self.namespace is not None and (req.path is not None or not self.in_scope(req)):
            return False
        return any(rule_allows(r, req) for r in self.rules)

    def in_scope(self, req: Request) -> bool:
        """The request's namespace is this grant's; an access-policy scope may end in ``*``
        (EKS: a prefix, ``dev-*``)."""
        ns = self.namespace or ""
        if req.namespace is None:
            return False
        return req.namespace == ns or (ns.endswith("*") and req.namespace.startswith(ns[:-1]))


@dataclass(frozen=True)
class Identity:
    """A principal as Kubernetes sees it."""

    key: str  # authenticator match key
    arn: str
    kind: str
    username: str
    groups: frozenset[str]
    teams: tuple[str, ...] = ()


@dataclass
class State:
    """The desired state: identities and every grant, ready to answer questions."""

    identities: dict[str, Identity] = field(default_factory=dict)
    grants: list[Grant] = field(default_factory=list)
    permission_sets: dict[str, str] = field(default_factory=dict)
    """Permission set name (lower-cased) -> the identity key of its role."""
    accounts: frozenset[str] = frozenset()
    """Accounts mapped whole (aws-auth ``mapAccounts``): any other IAM user or role of theirs
    logs in as its own ARN, with no group but ``system:authenticated``."""
    nodes: dict[str, Principal] = field(default_factory=dict)
    """Node and Fargate roles: mapped as ``system:node:...``; the Node authorizer decides what
    they may do, which is not modelled here."""
    team_roles: dict[str, Identity] = field(default_factory=dict)
    """``access: role`` teams' roles (their username a template). ``identities`` lists their
    members instead, one per person as each session shows (keyed ``<role key>#<user>``), so
    who-can and the review name people."""
    people: set[str] = field(default_factory=set)
    """Keys of ``identities`` that are a role team's members (no mapping of their own)."""
    assumes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """An IAM user (match key) -> the STS session ARNs it reaches the cluster with: its team
    roles, assumed under its own name."""

    def node(self, caller: str) -> Principal | None:
        """The node role an IAM or STS ARN logs in as, if it is one."""
        return self.nodes.get(arns.caller_key(caller))

    def resolve(self, caller: str) -> Identity | None:
        """The identity an IAM or STS ARN logs in as, templates filled in; None if unmapped."""
        key = arns.caller_key(caller)
        own = self.identities.get(key) if key not in self.people else None
        ident = own or self.team_roles.get(key)
        if ident is None:
            # A session of a permission set's role, whatever the suffix IAM Identity Center
            # gave it (offline, the role's ARN is a placeholder).
            # Only in the account and partition the role lives in, as the authenticator's
            # ARN match would.
            found = permission_set_of(key.rsplit("/", 1)[-1])
            role = self.permission_sets.get((found or "").lower(), "")
            if role.split(":")[1:5:3] == key.split(":")[1:5:3]:
                ident = self.identities.get(role)
        if ident is None and key not in self.nodes and key.split(":")[4] in self.accounts:
            # the authenticator's own rule, after its mappings (node roles among them) found
            # nothing: username the canonical ARN, no group
            arn = arns.caller_arn(caller)
            kind = arn.split(":")[5].split("/")[0]
            return Identity(key, arn, kind, arn, frozenset({AUTHENTICATED}))
        if ident is None:
            return None
        session = arns.session_name(caller) or "SESSION"
        account = caller.split(":")[4]

        def fill(text: str) -> str:
            return (
                text.replace("{{SessionName}}", session.replace("@", "-"))
                .replace("{{SessionNameRaw}}", session)
                .replace("{{AccountID}}", account)
            )

        return Identity(
            ident.key,
            ident.arn,
            ident.kind,
            fill(ident.username),
            frozenset(fill(g) for g in ident.groups),
            ident.teams,
        )

    def grants_for(self, ident: Identity) -> list[Grant]:
        """Every grant whose subjects include this identity (by username, group or entry)."""
        return [
            g
            for g in self.grants
            if (
                g.principal == ident.key
                if g.principal is not None
                else ident.username in g.users or bool(ident.groups & g.groups)
            )
        ]

    def matching(self, ident: Identity, req: Request) -> list[Grant]:
        return [g for g in self.grants_for(ident) if g.applies(req)]

    def unknown(self, ident: Identity, req: Request) -> list[str]:
        """The access policies whose rules are unknown here that could allow ``req``: held by
        the principal in the request's scope (a namespace-scoped one never allows a
        cluster-scoped request)."""
        out = []
        for g in self.grants_for(ident):
            for rule in g.rules:
                policy = rule.get("policy") if UNKNOWN_VERB in rule.get("verbs", ()) else None
                in_scope = g.namespace is None or (req.path is None and g.in_scope(req))
                if policy and in_scope and policy not in out:
                    out.append(str(policy))
        return out

    def can(self, caller: str, req: Request) -> bool:
        ident = self.resolve(caller)
        return ident is not None and bool(self.matching(ident, req))


def _subjects(manifest: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    subs = manifest.get("subjects") or []
    return (
        frozenset(s["name"] for s in subs if s["kind"] == "User"),
        frozenset(s["name"] for s in subs if s["kind"] == "Group"),
    )


def rbac_grants(objects: Iterable[Mapping[str, Any]]) -> list[Grant]:
    """Grants from RBAC manifests plus the built-in roles and default bindings."""
    objs = list(objects)
    roles = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
        for o in objs
        if o["kind"] in ("Role", "ClusterRole")
    }

    def rules_of(kind: str, ns: str | None, name: str) -> tuple[Rule, ...]:
        if kind == "ClusterRole" and ("ClusterRole", None, name) not in roles:
            return tuple(builtin_rules(name))
        role = roles.get((kind, ns if kind == "Role" else None, name))
        return tuple(role.get("rules", [])) if role else ()

    out = []
    for o in objs:
        if o["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        ref, ns = o["roleRef"], o["metadata"].get("namespace")
        users, groups = _subjects(o)
        where = f"{ns}/" if o["kind"] == "RoleBinding" else ""
        out.append(
            Grant(
                f"{o['kind']} {where}{o['metadata']['name']} -> {ref['kind']} {ref['name']}",
                rules_of(ref["kind"], ns, ref["name"]),
                ns if o["kind"] == "RoleBinding" else None,
                users,
                groups,
            )
        )
    for b in builtin()["clusterRoleBindings"]:
        out.append(
            Grant(
                f"ClusterRoleBinding {b['name']} -> ClusterRole {b['role']} (built in)",
                tuple(builtin_rules(b["role"])),
                None,
                frozenset(),
                frozenset({b["group"]}),
            )
        )
    return out


UNKNOWN_VERB = rules.UNKNOWN_VERB
"""The verb of the one rule an access policy gets whose rules are not published in the guide
this version read: no request matches it (never a guessed yes), yet it is a permission the
review sees come and go, in its scope, and ``State.unknown`` answers "unknown" within it."""


def unknown_rules(policy: str) -> tuple[Rule, ...]:
    return ({"apiGroups": [""], "resources": [f"whatever {policy} allows (rules unknown here)"],
             "verbs": [UNKNOWN_VERB], "policy": policy},)  # fmt: skip


def policy_grants(entry: access_entries.EntrySpec) -> list[Grant]:
    out = []
    for g in entry.policies:
        name = g.eks_name
        published = access_policy_rules(name)
        rules = unknown_rules(name) if published is None else published
        via = f"EKS access policy {name}"
        key = entry.principal.arn.match_key
        if g.scope == "cluster":
            out.append(Grant(f"{via} (cluster)", rules, None, principal=key))
        else:
            out += [
                Grant(f"{via} (namespace {ns})", rules, ns, principal=key) for ns in g.namespaces
            ]
    return out


def state_of(
    config: StackConfig,
    account: str | None = None,
    partition: str | None = None,
    people: bool = True,
) -> State:
    """The desired state of a config: what EKS will map, and every RBAC grant.

    ``account`` is where the stack's IAM users live; by default what the config tells
    (``StackConfig.users_account``), as the offline plan assumes. ``people``: an ``access:
    role`` team's members listed as the people they are (who-can, the review); without, its
    role as the cluster maps it (the audit, which compares with the cluster's own mappings).
    """
    state = State(accounts=frozenset(config.cluster.map_accounts))
    everyone: Sequence[Principal] = principals(config, account, partition)
    for p in everyone:
        if p.is_node:
            state.nodes[p.arn.match_key] = p  # authorised by the Node authorizer
            continue
        if p.source == PERMISSION_SETS.config_key and (name := permission_set_of(p.arn.name)):
            state.permission_sets[name.lower()] = p.arn.match_key
        state.identities[p.arn.match_key] = Identity(
            p.arn.match_key,
            p.arn.arn,
            p.kind,
            p.username,
            frozenset((*p.groups, AUTHENTICATED)),
            p.teams,
        )
    if people:
        team_role_members(state, config, account, partition)
    state.grants = rbac_grants(o.manifest for o in rbac.all_objects(config.teams))
    for e in access_entries.entries(config, account, partition):
        state.grants += policy_grants(e)
    return state


def team_role_members(
    state: State,
    config: StackConfig,
    account: str | None = None,
    partition: str | None = None,
) -> None:
    """Each ``access: role`` team's role kept aside, and its members listed as the people
    they are: each assumes the role under its IAM user name. ``state`` may be the cluster's
    (``--live``): the role's mapping is then the cluster's, and its members those the config
    puts in the team's IAM group (the cluster cannot tell who may assume a role); a role the
    state does not map gives its members nothing."""
    ctx = config.context(account, partition)
    assumed: dict[str, list[str]] = {}
    for t, team in enumerate(config.teams):
        if team.access != "role":
            continue
        role = team_roles.role_arn(
            ctx.partition, ctx.cluster_account or ctx.account, config.cluster.name, team.name
        )
        template = state.identities.pop(role.match_key, None)
        if template is None:
            continue
        state.team_roles[role.match_key] = template
        for m in kinds.members(team, f"teams[{t}]", ctx):
            session = (
                f"arn:{role.partition}:sts::{role.account}:assumed-role/{role.name}/{m.item.name}"
            )
            person = state.resolve(session)
            assert person is not None
            # Keyed as the user when it is not mapped itself (a team switched to a role is the
            # same person before and after); beside its own mapping when it is.
            key = m.arn.match_key
            if key in state.identities and key not in state.people:
                key = f"{role.match_key}#{m.item.name.lower()}"
            state.people.add(key)
            state.identities[key] = Identity(
                person.key, m.arn.arn, "user", person.username, person.groups, person.teams
            )
            assumed.setdefault(m.arn.match_key, []).append(session)
    state.assumes = {k: tuple(v) for k, v in assumed.items()}


def live_team_role_members(state: State, config: StackConfig) -> None:
    """:func:`team_role_members` for a cluster's state (``--live``): the roles are looked for
    in the account the cluster maps them in, which a config without node roles or an identity
    stack cannot tell (its account is a placeholder)."""
    names = {
        team_roles.role_name(config.cluster.name, t.name).lower()
        for t in config.teams
        if t.access == "role"
    }
    if config.context().cluster_account is not None:  # the node roles say where it is
        team_role_members(state, config)
        return
    found = {
        key.split(":")[4]
        for key in state.identities
        if ":role/" in key and key.rsplit("/", 1)[-1].lower() in names
    }
    if len(found) == 1:  # in several accounts, none is known to be the stack's: no guess
        team_role_members(state, config, found.pop())


@dataclass(frozen=True)
class Answer:
    """can-i's answer for one caller and request, with everything a reader is told: one
    decision, whatever the output format."""

    caller: str
    request: Request
    identity: Identity | None
    grants: tuple[Grant, ...]
    unknown: tuple[str, ...]
    """Access policies of unknown rules that could allow it (only when nothing grants it)."""
    node: Principal | None
    note: str | None

    @property
    def allowed(self) -> bool | None:
        """True, False, or None when this tool cannot tell (a node role; unknown rules)."""
        if self.grants:
            return True
        return None if self.node is not None or self.unknown else False

    @property
    def word(self) -> str:
        return {True: "yes", False: "no", None: "unknown"}[self.allowed]

    def to_json(self, source: str) -> dict[str, Any]:
        ident = self.identity
        return {
            "answer": self.word,
            "allowed": self.allowed,
            "principal": self.caller,
            "username": ident.username if ident else None,
            "groups": sorted(ident.groups) if ident else [],
            "request": self.request.describe(),
            "via": [g.via for g in self.grants],
            "note": self.note,
            "source": source,
        }


def answer(state: State, caller: str, req: Request) -> Answer:
    """Whether ``caller`` may make ``req`` in ``state``, and why (can-i). An IAM user of an
    ``access: role`` team is not mapped itself: it is answered for through its team role,
    assumed under its own name, and told so."""
    own = _answer(state, caller, req)
    sessions = state.assumes.get(arns.caller_key(caller), ())
    if not sessions or own.allowed:
        return own
    found = [_answer(state, s, req) for s in sessions]
    best = next((a for a in found if a.allowed), found[0])
    if own.identity is not None and not best.allowed:
        return own
    assert best.identity is not None
    role = best.caller.split("/")[1]
    via = f"by assuming role {role} under its own name (as {best.identity.username})"
    said = (
        f"{caller} is not mapped itself: it reaches the cluster {via}"
        if own.identity is None
        else f"not as {own.identity.username}; {via}"
    )
    return replace(best, caller=caller, note=f"{said}; {best.note}" if best.note else said)


def _answer(state: State, caller: str, req: Request) -> Answer:
    ident = state.resolve(caller)
    node = state.node(caller) if ident is None else None
    grants = tuple(state.matching(ident, req)) if ident is not None else ()
    unknown = tuple(state.unknown(ident, req)) if ident is not None and not grants else ()
    if unknown:
        note: str | None = (
            f"{caller} also holds access policies whose rules this tool does not know "
            f"({', '.join(unknown)}); they may allow it"
        )
    elif node is not None:
        groups = f" in {', '.join(node.groups)}" if node.groups else ""
        note = (
            f"{caller} is a node role, mapped as {node.username}{groups} "
            f"({node.source or 'aws-auth'}); the Node authorizer (and for Auto Mode nodes "
            "AmazonEKSAutoNodePolicy) decides what nodes may do, and this tool does not model it"
        )
    elif ident is None:
        note = f"{caller} is not mapped: it would not be logged in"
    else:
        note = escalation_note(state, ident, req, list(grants)) or None
    return Answer(caller, req, ident, grants, unknown, node, note)


@dataclass(frozen=True)
class WhoCan:
    """who-can's answer for one request: who is granted it and through what, and who holds
    access policies of unknown rules that might grant it (never also in ``granted``)."""

    request: Request
    granted: tuple[tuple[Identity, Grant], ...]
    unknown: tuple[tuple[Identity, tuple[str, ...]], ...]

    def to_json(self, source: str) -> dict[str, Any]:
        return {
            "request": self.request.describe(),
            "principals": [
                {"principal": i.arn, "username": i.username, "via": g.via} for i, g in self.granted
            ],
            "unknown": [
                {"principal": i.arn, "username": i.username, "policies": list(policies)}
                for i, policies in self.unknown
            ],
            "source": source,
        }


def who_can(state: State, req: Request) -> WhoCan:
    """Every mapped principal ``req`` is granted to, with each grant; and the ones that only
    an access policy of unknown rules might allow."""
    granted = tuple((i, g) for i in state.identities.values() for g in state.matching(i, req))
    allowed = {i.arn for i, _ in granted}
    unknown = tuple(
        (i, tuple(policies))
        for i in state.identities.values()
        if i.arn not in allowed and (policies := state.unknown(i, req))
    )
    return WhoCan(req, granted, unknown)
