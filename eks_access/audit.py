"""The access audit: what the config grants against what the cluster grants, per principal.

Three answers a quarterly access review needs (SOC 2, ISO 27001): what the cluster grants that
the config does not (with where it comes from: an aws-auth line, an access entry or policy made
outside the stack, a hand-made binding), what the config grants that the cluster lacks (drift),
and who holds what. Every binding subject counts: groups, users (session usernames of roles
mapped as ``team:{{SessionName}}`` included) and service accounts (listed, out of scope).
Platform access is labelled, not flagged: node entries, the cluster creator's entry, Kubernetes'
and EKS's own bindings of ``system:`` and ``eks:`` subjects. Reviewed exceptions come from an
allow-list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eks_access import authz, rbac, review
from eks_access.cluster_view import ClusterState, is_bootstrap
from eks_access.config import StackConfig
from eks_access.documents import (
    AuditDocument,
    AuditPrincipal,
    AuditStatus,
    Finding,
    MatrixRow,
    NodeRoleUse,
    RuleChange,
    ServiceAccountBinding,
)
from eks_access.kinds.permission_set import permission_set_of
from eks_access.live import mapping_key

PLATFORM_PREFIXES = ("system:", "eks:")
SESSION = "{{SessionName}}"


class AllowError(ValueError):
    """The allow-list does not parse."""


@dataclass(frozen=True)
class Allowance:
    """A reviewed exception: this principal's access beyond the config is known."""

    principal: str
    """An IAM ARN (compared as the authenticator compares) or a Kubernetes username."""
    reason: str


def allowances(doc: Any, where: str) -> list[Allowance]:
    """``--allow FILE``: a YAML list of ``{principal: ARN-or-username, reason: why}``."""
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise AllowError(f"{where}: expected a list of {{principal, reason}} items")
    out = []
    for i, item in enumerate(doc):
        if not isinstance(item, Mapping) or set(item) != {"principal", "reason"}:
            raise AllowError(
                f"{where}: item {i}: give exactly 'principal' (an IAM ARN or a Kubernetes "
                "username) and 'reason' (who reviewed it, and why)"
            )
        principal, reason = item["principal"], item["reason"]
        if not isinstance(principal, str) or not isinstance(reason, str) or not reason.strip():
            raise AllowError(f"{where}: item {i}: principal and a non-empty reason, as text")
        out.append(Allowance(principal, reason.strip()))
    return out


def _session(ident: authz.Identity, username: str, session: str) -> authz.Identity:
    return authz.Identity(
        f"{ident.key}#{username}",
        ident.arn,
        ident.kind,
        username,
        frozenset(g.replace(SESSION, session) for g in ident.groups),
        ident.teams,
    )


def _user_subjects(objects: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """User subject name -> the bindings naming it."""
    out: dict[str, list[str]] = {}
    for o in objects:
        if not str(o.get("kind", "")).endswith("Binding"):
            continue
        for s in o.get("subjects") or []:
            if s.get("kind") == "User":
                out.setdefault(str(s.get("name")), []).append(_describe(o))
    return out


def _describe(o: Mapping[str, Any]) -> str:
    meta = o.get("metadata") or {}
    ns = f"{meta['namespace']}/" if meta.get("namespace") else ""
    ref = o.get("roleRef") or {}
    return f"{o.get('kind')} {ns}{meta.get('name')} -> {ref.get('kind')} {ref.get('name')}"


ANYONE = frozenset(
    {"system:authenticated", "system:unauthenticated", "system:anonymous", "system:serviceaccounts"}
)
"""Subjects that are everyone (or anyone at all): never the platform's by their name alone."""
DEFAULT_ANYONE = frozenset(
    {
        ("system:basic-user", "system:authenticated"),
        ("system:discovery", "system:authenticated"),
        ("system:public-info-viewer", "system:authenticated"),
        ("system:public-info-viewer", "system:unauthenticated"),
        ("system:service-account-issuer-discovery", "system:serviceaccounts"),
    }
)
"""The defaults that bind them (Kubernetes' bootstrap policy, ClusterRoleBindings): only these,
and only as Kubernetes labels them (rbac-defaults)."""
SHIPPED_FOR_EVERYONE = ("system:basic-user", "system:discovery")
"""Default roles bound to every caller whose rules the tool ships (data/builtin_rbac.yaml): the
config's side uses these, so a rule added to the cluster's copy is access beyond the config."""


def _platform_part(o: Mapping[str, Any]) -> dict[str, Any] | None:
    """Of Kubernetes' or EKS's own binding, the part that binds their own subjects: the
    platform's access. A person someone added to a default binding is not part of it, nor is
    everyone, unless it is one of the defaults that bind everyone."""
    if not is_bootstrap(o):
        return None
    meta = o.get("metadata") or {}
    labelled = (meta.get("labels") or {}).get("kubernetes.io/bootstrapping") == "rbac-defaults"
    own = []
    for s in o.get("subjects") or []:
        name = str(s.get("name", ""))
        if name in ANYONE:
            if labelled and (meta.get("name"), name) in DEFAULT_ANYONE:
                own.append(s)
        elif name.startswith(PLATFORM_PREFIXES) or (
            s.get("kind") == "ServiceAccount" and s.get("namespace") == "kube-system"
        ):
            own.append(s)
    return {**o, "subjects": own}


def _config_state(config: StackConfig, cluster: ClusterState) -> authz.State:
    """What the config grants on this cluster: its own objects, on top of the platform's own
    bindings; its bindings name built-in ClusterRoles (view, edit, admin), so those grant what
    the cluster's copies say (aggregated rules included), not this tool's approximation."""
    state = authz.state_of(config, people=False)  # as the cluster maps: the team roles
    own = [o.manifest for o in rbac.all_objects(config.teams)]
    defined = {o["metadata"]["name"] for o in own if o["kind"] == "ClusterRole"}
    live_roles = [
        o
        for o in cluster.objects
        if o.get("kind") == "ClusterRole"
        and (o.get("metadata") or {}).get("name") not in {*defined, *SHIPPED_FOR_EVERYONE}
    ]
    platform = [
        part
        for o in cluster.objects
        if str(o.get("kind", "")).endswith("Binding") and (part := _platform_part(o)) is not None
    ]
    state.grants = authz.rbac_grants([*own, *live_roles, *platform]) + [
        g for g in state.grants if g.principal is not None
    ]
    return state


EVERYONE = (
    ("system:anonymous", frozenset({"system:unauthenticated"})),
    ("(any authenticated caller)", frozenset({authz.AUTHENTICATED})),
)
"""Callers no mapping names: a binding to them is access for everyone (or anyone at all)."""


def _align_permission_sets(config_state: authz.State, live: authz.State) -> None:
    """A permission set's role is a placeholder offline; the cluster has the real one. The same
    set (by name, in the same account) is one principal."""
    for name, key in list(config_state.permission_sets.items()):
        account = key.split(":")[4]
        real = next(
            (
                k
                for k in live.identities
                if k.split(":")[4] == account
                and (permission_set_of(k.rsplit("/", 1)[-1]) or "").lower() == name
            ),
            None,
        )
        if real and real != key and key in config_state.identities:
            ident = config_state.identities.pop(key)
            config_state.identities[real] = authz.Identity(
                real, live.identities[real].arn, ident.kind, ident.username, ident.groups,
                ident.teams,
            )  # fmt: skip
            config_state.grants = [
                authz.Grant(g.via, g.rules, g.namespace, g.users, g.groups, real)
                if g.principal == key
                else g
                for g in config_state.grants
            ]


def audit(
    config: StackConfig,
    cluster: ClusterState,
    allowed: Sequence[Allowance] = (),
    not_read: Sequence[str] = (),
) -> AuditDocument:
    """The audit document: per principal, config against cluster."""
    mine = _config_state(config, cluster)
    theirs = cluster.state
    _align_permission_sets(mine, theirs)
    notes = list(cluster.notes)
    out_of_scope: list[ServiceAccountBinding] = []
    for o in cluster.objects:
        for s in o.get("subjects") or [] if str(o.get("kind", "")).endswith("Binding") else []:
            if s.get("kind") == "ServiceAccount":
                name = f"{s.get('namespace', '')}/{s.get('name')}"
                out_of_scope.append(ServiceAccountBinding(name, _describe(o)))
    for username, groups in EVERYONE:
        for state in (mine, theirs):
            state.identities[f"subject:{username}"] = authz.Identity(
                f"subject:{username}", username, "subject", username, groups
            )
    configured_accounts = set(config.cluster.map_accounts)
    literal = {i.username for i in theirs.identities.values()}
    for user, vias in sorted(_user_subjects(cluster.objects).items()):
        if user in literal or user.startswith(PLATFORM_PREFIXES):
            continue
        matched = False
        for ident in list(theirs.identities.values()):
            pattern = authz.session_pattern(ident.username)
            found = pattern.match(user) if pattern else None
            if not found:
                continue
            matched = True
            session = found.groupdict().get("s") or ""
            theirs.identities[f"{ident.key}#{user}"] = _session(ident, user, session)
            if (own := mine.identities.get(ident.key)) is not None:
                filled = own.username.replace(SESSION, session)
                mine.identities[f"{ident.key}#{user}"] = _session(own, filled, session)
        account = user.split(":")[4] if user.count(":") >= 5 else ""
        if not matched and account in theirs.accounts:
            # mapAccounts: any IAM identity of that account logs in as its own ARN
            ident = authz.Identity(f"account:{user}", user, "account", user,
                                   frozenset({authz.AUTHENTICATED}))  # fmt: skip
            theirs.identities[ident.key] = ident
            if account in configured_accounts:
                mine.identities[ident.key] = ident
            matched = True
        if not matched:
            notes.append(
                f"User {user} is bound ({'; '.join(vias)}), but no principal EKS maps logs in "
                "as that user"
            )
    for o in cluster.objects:  # what widens a built-in role for everyone bound to it
        meta = o.get("metadata") or {}
        into = sorted(
            k.rsplit("aggregate-to-", 1)[-1]
            for k, v in (meta.get("labels") or {}).items()
            if k.startswith("rbac.authorization.k8s.io/aggregate-to-") and str(v) == "true"
        )
        if o.get("kind") == "ClusterRole" and into and not is_bootstrap(o):
            notes.append(
                f"ClusterRole {meta.get('name')} is aggregated into {', '.join(into)}: every "
                "binding of those roles, the config's included, grants its rules too"
            )
    allow = {a.principal.lower(): a.reason for a in allowed}
    changes = review.rule_changes(mine, theirs)
    principals: list[AuditPrincipal] = []
    flagged = 0
    for key in sorted(mine.identities.keys() | theirs.identities.keys()):
        ident = theirs.identities.get(key) or mine.identities[key]
        base_key = key.split("#", 1)[0]
        held = [c for c in changes if (c.principal, c.username) == (ident.arn, ident.username)]
        gains = [c for c in held if c.change == "gains"]
        loses = [c for c in held if c.change == "loses"]
        in_config, in_cluster = key in mine.identities, key in theirs.identities
        platform = cluster.platform.get(base_key)
        reason = (
            allow.get(base_key) or allow.get(ident.arn.lower()) or allow.get(ident.username.lower())
        )
        status: AuditStatus = (
            "platform" if platform
            else "allowed" if reason
            else "beyond config" if (in_cluster and not in_config) or gains
            else "drift" if (in_config and not in_cluster) or loses
            else "as configured"
        )  # fmt: skip
        flagged += status == "beyond config"
        principals.append(
            AuditPrincipal(
                principal=ident.arn,
                username=ident.username,
                groups=tuple(sorted(ident.groups - {authz.AUTHENTICATED})),
                in_config=in_config,
                in_cluster=in_cluster,
                mapped_by=cluster.sources.get(base_key) if in_cluster else None,
                status=status,
                platform=platform,
                allowed_because=reason,
                beyond_config=tuple(_short(c) for c in gains),
                missing_from_cluster=tuple(_short(c) for c in loses),
            )
        )
    for account in sorted(set(theirs.accounts) - configured_accounts):
        reason = allow.get(account)
        flagged += reason is None
        principals.append(
            AuditPrincipal(
                principal=f"account {account}",
                username="(the caller's ARN)",
                groups=(),
                in_config=False,
                in_cluster=True,
                mapped_by="aws-auth mapAccounts: every IAM user and role of the account",
                status="allowed" if reason else "beyond config",
                platform=None,
                allowed_because=reason,
                beyond_config=(),
                missing_from_cluster=(),
            )
        )
    return AuditDocument(
        node_roles=tuple(_node_roles(cluster)),
        cluster=config.cluster.name,
        mode=cluster.mode,
        not_read=tuple(not_read),
        flagged=flagged,
        principals=tuple(principals),
        service_accounts=tuple(sorted(out_of_scope, key=lambda s: (s.service_account, s.via))),
        bootstrap_objects=sum(1 for o in cluster.objects if is_bootstrap(o)),
        notes=tuple(notes),
    )


def _node_roles(cluster: ClusterState) -> list[NodeRoleUse]:
    """The node and Fargate roles the cluster maps, labelled with what uses them (the node
    groups' and Fargate profiles' roles from the export): platform access, not people's."""
    users: dict[str, list[str]] = {}
    for group in cluster.export_nodegroups:
        if isinstance(role := group.get("nodeRole"), str):
            users.setdefault(mapping_key(role), []).append(
                f"node group {group.get('nodegroupName')}"
            )
    for profile in cluster.export_fargate:
        if isinstance(role := profile.get("podExecutionRoleArn"), str):
            users.setdefault(mapping_key(role), []).append(
                f"Fargate profile {profile.get('fargateProfileName')}"
            )

    def _unused(kind: str) -> str:
        if kind in ("auto", "hybrid", "hyperpod"):  # no node group or profile names these
            return f"{kind} nodes (the export names no node group or profile for them)"
        return "no node group or Fargate profile in the export (self-managed nodes, or gone)"

    return [
        NodeRoleUse(
            node.arn.arn, node.username, ", ".join(users.get(key, [])) or _unused(node.kind)
        )
        for key, node in sorted(cluster.state.nodes.items())
    ]


def _short(change: RuleChange) -> Finding:
    return Finding(change.permission, change.via, change.risk)


# --- as Markdown ----------------------------------------------------------------------------------

SHOWN = 10


def markdown(doc: AuditDocument, title: str) -> str:
    """A short headline, the flagged principals in words, the rest folded."""
    from eks_access.comment import cell

    by = {s: [p for p in doc.principals if p.status == s] for s in
          ("beyond config", "drift", "allowed", "platform", "as configured")}  # fmt: skip
    lines = [
        f"## Access audit: {cell(title)}",
        f"**{len(by['beyond config'])} principals have access the config does not grant; "
        f"{len(by['drift'])} lack access the config grants (drift); "
        f"{len(by['platform'])} platform, {len(by['allowed'])} allowed, "
        f"{len(by['as configured'])} as configured.**",
    ]
    if doc.not_read:
        lines.append(f"> not read: {', '.join(doc.not_read)} (their grants are not counted)")
    for p in by["beyond config"][:SHOWN]:
        what = (
            f"mapped by {p.mapped_by}, not by the config"
            if not p.in_config
            else f"{len(p.beyond_config)} permissions beyond the config"
        )
        vias = list(dict.fromkeys(c.via for c in p.beyond_config))  # riskiest first
        lines.append(
            f"- {cell(p.username)} ({cell(p.principal)}): {what}"
            + (f"; via {cell('; '.join(vias[:3]))}" if vias else "")
        )
    if len(by["beyond config"]) > SHOWN:
        lines.append(f"- and {len(by['beyond config']) - SHOWN} more (audit.json)")
    lines.append("")
    lines.append("<details><summary>Every principal</summary>\n")
    lines.append("| principal | username | status | mapped by | beyond config | missing |")
    lines.append("|---|---|---|---|---|---|")
    for p in doc.principals:
        status = (
            p.status
            + (f" ({p.platform})" if p.platform else "")
            + (f" ({p.allowed_because})" if p.allowed_because else "")
        )
        lines.append(
            f"| {cell(p.principal)} | {cell(p.username)} | {cell(status)} | "
            f"{cell(p.mapped_by or '-')} | {len(p.beyond_config)} | "
            f"{len(p.missing_from_cluster)} |"
        )
    lines.append("\n</details>")
    if doc.node_roles:
        lines.append(
            f"\n<details><summary>{len(doc.node_roles)} node and Fargate roles (platform)"
            "</summary>\n"
        )
        lines += [f"- {cell(n.role)}: {cell(n.used_by)}" for n in doc.node_roles]
        lines.append("\n</details>")
    if doc.service_accounts:
        lines.append(
            f"\n<details><summary>{len(doc.service_accounts)} service account bindings "
            "(out of scope: not IAM principals)</summary>\n"
        )
        lines += [f"- {cell(s.service_account)}: {cell(s.via)}" for s in doc.service_accounts]
        lines.append("\n</details>")
    if doc.notes:
        lines.append("\n<details><summary>Notes</summary>\n")
        lines += [f"- {cell(n)}" for n in doc.notes]
        lines.append("\n</details>")
    return "\n".join(lines) + "\n"


def html_sections(doc: AuditDocument, prefix: str = "") -> list[tuple[str, str]]:
    """For ``report.page``: every permission beyond the config or missing from the cluster,
    as the review's changes are shown (the grant in the "where" column)."""
    from eks_access import report

    rows = [
        MatrixRow(who=p.username, where=c.via, resource=c.permission,
                  gains="beyond config" if beyond else "", loses="" if beyond else "missing",
                  risk=c.risk)
        for p in doc.principals
        for beyond, found in ((True, p.beyond_config), (False, p.missing_from_cluster))
        for c in found
    ]  # fmt: skip
    return [(f"{prefix}Audit: permissions beyond the config, and drift", report._changes(rows))]
