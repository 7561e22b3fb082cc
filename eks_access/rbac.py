"""The Kubernetes objects a team gets: Namespaces, Roles, ClusterRoles and their bindings.

Plain manifests (dicts in the API's own spelling), each with a stable ``key`` built from
config identities (namespace, preset), never from list positions: the component names its
resources by that key, so removing one namespace never renames another binding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eks_access import expiring, presets, rules
from eks_access.config import NAMESPACE, PolicyRule, Team
from eks_access.kinds import TEAM_KINDS

RBAC_API = "rbac.authorization.k8s.io"
MANAGED_BY = {"app.kubernetes.io/managed-by": NAMESPACE}
TEAM_LABEL = f"{NAMESPACE}.io/team"
CLUSTER_ADMIN_TEAM = f"{NAMESPACE}.io/cluster-admin-team"
"""Marks a grant of cluster-admin as asked for by this team's config (the policy pack checks
that every cluster-admin grant carries it)."""
_KIND_ORDER = {
    "Namespace": 0,
    "ClusterRole": 1,
    "Role": 2,
    "ClusterRoleBinding": 3,
    "RoleBinding": 4,
}

Manifest = dict[str, Any]


@dataclass(frozen=True)
class RbacObject:
    """One Kubernetes object and the stable key its Pulumi resource is named by."""

    key: str
    manifest: Manifest

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def namespace(self) -> str | None:
        ns = self.manifest["metadata"].get("namespace")
        return str(ns) if ns is not None else None


def rule_manifest(rule: PolicyRule) -> Manifest:
    out: Manifest = {}
    if rule.non_resource_urls:
        out["nonResourceURLs"] = list(rule.non_resource_urls)
    else:
        out["apiGroups"] = list(rule.api_groups)
        out["resources"] = list(rule.resources)
        if rule.resource_names:
            out["resourceNames"] = list(rule.resource_names)
    out["verbs"] = list(rule.verbs)
    return out


def subjects(team: Team) -> list[Manifest]:
    """Who the team's bindings name: its group, or (bindTo: users) each member by username."""
    if team.bind_to == "group":
        return [{"kind": "Group", "apiGroup": RBAC_API, "name": team.kubernetes_group}]
    names = {kind.username(item) for kind in TEAM_KINDS for item in kind.items(team)}
    return [{"kind": "User", "apiGroup": RBAC_API, "name": n} for n in sorted(names)]


def _meta(team: Team, name: str, namespace: str | None = None) -> Manifest:
    meta: Manifest = {"name": name, "labels": {**MANAGED_BY, TEAM_LABEL: team.name}}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def _binding(
    team: Team, kind: str, name: str, role_kind: str, role: str, namespace: str | None = None
) -> Manifest:
    return {
        "apiVersion": f"{RBAC_API}/v1",
        "kind": kind,
        "metadata": _meta(team, name, namespace),
        "roleRef": {"apiGroup": RBAC_API, "kind": role_kind, "name": role},
        "subjects": subjects(team),
    }


def namespace_objects(teams: tuple[Team, ...]) -> list[RbacObject]:
    """The Namespaces teams ask the program to create, keyed by namespace name alone.

    They are not keyed by team: moving ``createNamespaces`` from one team to another must
    never delete a namespace (and with it every workload inside).
    """
    return sorted(
        (
            RbacObject(ns, {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(team, ns)})
            for team in teams
            if team.create_namespaces
            for ns in team.namespaces
        ),
        key=lambda o: o.key,
    )


def team_objects(team: Team) -> list[RbacObject]:
    """The team's Roles, ClusterRoles and bindings, in apply order (roles before bindings)."""
    objs: list[RbacObject] = []
    for ns in team.namespaces:
        if team.namespace_access:
            preset = team.namespace_access
            objs.append(
                RbacObject(
                    f"binding-{ns}-{preset}",
                    _binding(
                        team,
                        "RoleBinding",
                        f"{NAMESPACE}:{team.name}:{preset}",
                        "ClusterRole",
                        preset,
                        ns,
                    ),
                )
            )
        if team.rules:
            name = team.custom_role_name
            objs.append(
                RbacObject(
                    f"role-{ns}",
                    {
                        "apiVersion": f"{RBAC_API}/v1",
                        "kind": "Role",
                        "metadata": _meta(team, name, ns),
                        "rules": [rule_manifest(r) for r in team.rules],
                    },
                )
            )
            objs.append(
                RbacObject(
                    f"binding-{ns}-custom",
                    _binding(
                        team,
                        "RoleBinding",
                        name,
                        "Role",
                        name,
                        ns,
                    ),
                )
            )
    if team.cluster_access:
        access = team.cluster_access
        binding = _binding(
            team, "ClusterRoleBinding", f"{NAMESPACE}:{team.name}:{access}", "ClusterRole", access
        )
        if access == presets.ADMIN:
            binding["metadata"]["annotations"] = {CLUSTER_ADMIN_TEAM: team.name}
        objs.append(RbacObject(f"clusterbinding-{access}", binding))
    for o in objs:  # how long admin-level access through a binding lasts: the pack's rule
        ref = o.manifest.get("roleRef", {})
        if ref.get("kind") == "ClusterRole" and ref.get("name") in rules.ADMIN_LEVELS:
            end = expiring.latest(expiring.member_ends(team))
            if end is not None:
                meta = o.manifest["metadata"]
                meta["annotations"] = {**meta.get("annotations", {}), rules.GRANTS_END: end}
    if team.cluster_rules:
        name = f"{NAMESPACE}:{team.name}"
        objs.append(
            RbacObject(
                "clusterrole-custom",
                {
                    "apiVersion": f"{RBAC_API}/v1",
                    "kind": "ClusterRole",
                    "metadata": _meta(team, name),
                    "rules": [rule_manifest(r) for r in team.cluster_rules],
                },
            )
        )
        objs.append(
            RbacObject(
                "clusterbinding-custom",
                _binding(
                    team,
                    "ClusterRoleBinding",
                    name,
                    "ClusterRole",
                    name,
                ),
            )
        )
    return sorted(objs, key=lambda o: (_KIND_ORDER[o.kind], o.namespace or "", o.key))


def all_objects(teams: tuple[Team, ...]) -> list[RbacObject]:
    return namespace_objects(teams) + [o for t in teams for o in team_objects(t)]
