"""Adopting a live cluster: an exported aws-auth (and RBAC) in, a stack config out.

The import must not lose a mapping. So it reads aws-auth the way aws-iam-authenticator does
(``awsauth.parse``), turns every mapping it can into config, and lists everything else with
what the cluster does with it today. :func:`compare` then judges the offline plan of the
written config against the import: same (ARN, username, groups) for every principal, same
``mapAccounts``, and the same grants for the imported bindings.

RBAC objects are never deleted by this program, so a binding the import cannot express
stays in the cluster exactly as it is; it is listed, not taken over.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from eks_access import arns, authz, awsauth, cluster_view, fields, iam, presets, team_roles
from eks_access.config import NAMESPACE, RESERVED_PREFIXES
from eks_access.kinds import NODE_KINDS, TEAM_KINDS
from eks_access.kinds.nodes import HYBRID
from eks_access.kinds.permission_set import permission_set_of

MASTERS = "system:masters"
_LABEL = re.compile(r"[^a-z0-9-]+")

Identity = tuple[str, str, tuple[str, ...]]  # (match key, username, sorted groups)
GrantKey = tuple[str, str, str]  # (group, namespace or "*", role: "preset:NAME" or rules JSON)


class AdoptError(ValueError):
    """The exported files cannot be read."""


def documents(text: str, where: str) -> list[dict[str, Any]]:
    """Objects of a `kubectl get -o yaml` export: one object, a List, or several documents."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise AdoptError(f"{where}: not YAML: {e}") from None
    out: list[dict[str, Any]] = []
    for d in docs:
        if not isinstance(d, dict):
            raise AdoptError(f"{where}: expected Kubernetes objects, found {type(d).__name__}")
        if str(d.get("kind", "")).endswith("List"):
            out.extend(i for i in d.get("items") or [] if isinstance(i, dict))
        else:
            out.append(d)
    return out


def aws_auth_data(objects: Sequence[Mapping[str, Any]], where: str) -> dict[str, Any]:
    for o in objects:
        meta = o.get("metadata") or {}
        if o.get("kind") == "ConfigMap" and meta.get("name") == awsauth.NAME:
            return dict(o.get("data") or {})
    raise AdoptError(
        f"{where}: no ConfigMap named aws-auth; export it with "
        "`kubectl get configmap aws-auth -n kube-system -o yaml`"
    )


@dataclass
class Imported:
    """The stack config written, what it should reproduce, and what could not be expressed."""

    config: dict[str, Any]
    identities: set[Identity]
    accounts: tuple[str, ...]
    grants: set[GrantKey]
    notes: list[str] = field(default_factory=list)
    """Entries the cluster ignores today, lossy translations and left-alone objects."""
    unexpressed: list[str] = field(default_factory=list)
    """Grants to imported principals the config cannot hold (a binding of a session's
    username): each makes the import not equivalent."""
    mode: str | None = None
    """The cluster's authentication mode, when imported from an export folder."""
    export: cluster_view.Export | None = None


def team_name(group: str, taken: set[str]) -> str:
    base = _LABEL.sub("-", group.lower().removeprefix(f"{NAMESPACE}:")).strip("-")[:40] or "team"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def _team_for(
    teams: dict[str, dict[str, Any]], taken: set[str], group: str | None, admin: bool = False
) -> dict[str, Any]:
    """The team of a Kubernetes group; None: the team of principals mapped with none."""
    found = teams.get(group or "")
    if found is None:
        label = "cluster-admins" if admin else group or "ungrouped"
        found = {"name": team_name(label, taken)}
        if admin:
            found["clusterAccess"] = presets.ADMIN
        elif group is None:
            found["mapGroup"] = False
        else:
            found["group"] = group
        teams[group or ""] = found
    return found


def _is_node(m: awsauth.AuthMapping) -> str | None:
    """The node kind a mapping is (a role mapped to a node identity), if any."""
    if m.kind != "role":
        return None
    return next((k.name for k in NODE_KINDS if k.recognize(m.username, m.groups)), None)


def _reserved(name: str) -> bool:
    return name.lower().startswith(RESERVED_PREFIXES)


def from_aws_auth(
    data: Mapping[str, Any], cluster: str, region: str
) -> tuple[Imported, dict[str, dict[str, Any]]]:
    """The config for the mappings, and the teams by Kubernetes group (for the RBAC import)."""
    parsed = awsauth.parse(data)
    notes = [f"read by the authenticator today as: {d}" for d in parsed.dropped]
    notes += [f"duplicate ARN (the authenticator keeps the last one): {s}" for s in parsed.shadowed]
    reachable = parsed.mappings
    for m in parsed.roles.values():
        if m.key in parsed.users:
            notes.append(
                f"{m.arn} is in mapRoles and mapUsers; the authenticator looks in mapRoles first, "
                "so its mapUsers entry is never used and is not imported"
            )
    node_roles: dict[str, list[str]] = {k.name: [] for k in NODE_KINDS}
    teams: dict[str, dict[str, Any]] = {}  # by Kubernetes group
    taken: set[str] = set()
    identities: set[Identity] = set()

    def team_for(group: str | None, admin: bool = False) -> dict[str, Any]:
        return _team_for(teams, taken, group, admin)

    for m in [*reachable.values(), *parsed.unreachable]:
        try:
            arn = arns.parse_iam_arn(m.arn)
        except arns.ArnError:
            notes.append(
                f"{m.arn}: not an IAM user or role ARN; no caller matches it, not imported"
            )
            continue
        never_matched = m in parsed.unreachable
        if never_matched:
            notes.append(
                f"{m.arn}: never matched today (STS reports roles without their path, and the "
                "authenticator compares the ARN as written); the config maps it path-less, so "
                "the plan starts granting it"
            )
        kind = _is_node(m)
        if kind is not None:
            node_roles[kind].append(m.arn)
            if not never_matched:
                identities.add((m.key, m.username, tuple(sorted(m.groups))))
            continue
        groups: list[str | None] = list(m.groups) or [None]  # None: mapped with no group
        # The first kind that recognises the mapping takes it (kinds that cannot be imported,
        # such as users this stack would create, recognise nothing).
        key, entry = next(
            (k.config_key, found) for k in TEAM_KINDS if (found := k.recognize(arn, m.username))
        )
        if said := _team_role_note(arn, m.username, cluster, "aws-auth"):
            notes.append(f"{m.arn}: {said}")
        if arn.kind == "role" and permission_set_of(arn.name):
            notes.append(
                f"{m.arn}: an IAM Identity Center role, imported by ARN; `permissionSets: "
                f"[{{name: {permission_set_of(arn.name)}}}]` would find it by name, and survive a "
                "re-assignment of the permission set"
            )
        for g in groups:
            if g == MASTERS:
                notes.append(
                    f"{m.arn}: group system:masters cannot be configured (it bypasses RBAC); "
                    "imported into a team with clusterAccess: cluster-admin instead: the same "
                    "access through a ClusterRoleBinding, but a different group"
                )
                team = team_for(MASTERS, admin=True)
            elif g is not None and _reserved(g):
                notes.append(
                    f"{m.arn}: group {g!r} has a reserved prefix and cannot be configured; "
                    "the principal loses that group"
                )
                continue
            else:
                team = team_for(g)
            team.setdefault(key, []).append(dict(entry))  # a copy: no YAML aliases
        if not never_matched:
            identities.add((m.key, m.username, tuple(sorted(m.groups))))

    cluster_cfg: dict[str, Any] = {"name": cluster}
    for node_kind in NODE_KINDS:
        if node_roles[node_kind.name]:
            cluster_cfg[node_kind.config_key] = node_roles[node_kind.name]
    if node_roles[HYBRID.name]:
        # EKS user guide: "The CONFIG_MAP-only authentication mode is not supported for hybrid
        # nodes-enabled Amazon EKS clusters": a cluster with this line reads access entries too.
        cluster_cfg["authenticationMode"] = "API_AND_CONFIG_MAP"
        notes.append(
            "hybrid node roles (system:node:{{SessionName}}, no Fargate group) became "
            "hybridNodeRoleArns, and the mode API_AND_CONFIG_MAP, the only one with aws-auth that "
            "EKS allows hybrid nodes in; check it against `aws eks describe-cluster`"
        )
    if parsed.accounts:
        cluster_cfg["mapAccounts"] = list(parsed.accounts)
        notes.append(
            f"mapAccounts {', '.join(parsed.accounts)}: every IAM identity of these accounts is "
            "mapped; kept as cluster.mapAccounts. Prefer explicit entries"
        )
    if not any(node_roles.values()):
        notes.append("no node or Fargate role found: the program refuses to write aws-auth")
    config: dict[str, Any] = {
        "aws:region": region,
        f"{NAMESPACE}:cluster": cluster_cfg,
        f"{NAMESPACE}:teams": sorted(teams.values(), key=lambda t: str(t["name"])),
    }
    if not teams:
        # The cluster maps nobody but its nodes today, so the config takes nobody's access.
        config[f"{NAMESPACE}:acknowledgeLockout"] = True
        notes.append(
            "no principal besides the nodes is mapped today; the config says "
            "acknowledgeLockout: true, which lets `pulumi up` apply a config that maps nobody. "
            "Remove it once you add a team"
        )
    return Imported(config, identities, parsed.accounts, set(), notes), teams


def _rules_key(rules: Any) -> str:
    canon = [
        {k: sorted(v) if isinstance(v, list) else v for k, v in sorted(r.items())}
        for r in rules or []
    ]
    return json.dumps(sorted(canon, key=json.dumps), sort_keys=True)


def _role_ref(ref: Mapping[str, Any], ns: str | None, roles: Mapping[Any, Any]) -> str | None:
    """``preset:NAME`` for a built-in preset, the rules' JSON for a custom role, None if the
    role is not in the export."""
    name = ref.get("name", "")
    if ref.get("kind") == "ClusterRole" and name in presets.BOUND_ROLES:
        return f"preset:{name}"
    role = roles.get((ref.get("kind"), ns if ref.get("kind") == "Role" else None, name))
    if role is None or role.get("aggregationRule"):
        return None
    return _rules_key(role.get("rules"))


def add_rbac(
    imported: Imported, teams: dict[str, dict[str, Any]], objects: Iterable[Mapping[str, Any]]
) -> None:
    """Express group bindings of the imported teams as presets and rules; list the rest."""
    objs = list(objects)
    roles = {
        (
            o.get("kind"),
            (o.get("metadata") or {}).get("namespace"),
            (o.get("metadata") or {}).get("name"),
        ): o
        for o in objs
        if o.get("kind") in ("Role", "ClusterRole")
    }
    for o in objs:
        if o.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        meta = o.get("metadata") or {}
        ns = meta.get("namespace") if o["kind"] == "RoleBinding" else None
        what = f"{o['kind']} {ns + '/' if ns else ''}{meta.get('name')}"
        ref = o.get("roleRef") or {}
        for s in o.get("subjects") or []:
            if s.get("kind") == "User" and (who := _logs_in_as(imported, str(s.get("name")))):
                why = (
                    f"{what} -> {ref.get('kind')} {ref.get('name')} binds User {s.get('name')}, "
                    f"which {who} logs in as; a config binds teams' groups, not one principal's "
                    "username or session: give that access to a team, or keep the binding by hand"
                )
                imported.unexpressed.append(why)
                imported.notes.append(f"{why}; left in the cluster as is")
                continue
            group = s.get("name") if s.get("kind") == "Group" else None
            if group not in teams or group == MASTERS:
                continue  # not one of the imported principals' groups: not ours to take over
            team = teams[group]
            role = _role_ref(ref, ns, roles)
            if role is None:
                imported.notes.append(
                    f"{what} -> {ref.get('kind')} {ref.get('name')}: role not in the export or "
                    "aggregated; left in the cluster as is"
                )
                continue
            problem = _express(team, ns, role, ref, roles)
            if problem:
                imported.notes.append(
                    f"{what} for group {group}: {problem}; left in the cluster as is"
                )
                continue
            imported.grants.add((group, ns or "*", role))


def _logs_in_as(imported: Imported, username: str) -> str | None:
    """The imported principal that logs in as this username (a session of a template too): as
    EKS resolves them (entries over aws-auth) for an export folder, else aws-auth's."""
    known = sorted(imported.identities)
    if imported.export is not None and imported.mode is not None:
        resolved = cluster_view.state_of(imported.export, imported.mode).state.identities
        known = sorted((k, i.username, ()) for k, i in resolved.items())
    for key, name, _ in known:
        pattern = authz.session_pattern(name)
        if name == username or (pattern is not None and pattern.match(username)):
            return key if name == username else f"{key} (a session of {name})"
    return None


def _express(
    team: dict[str, Any],
    ns: str | None,
    role: str,
    ref: Mapping[str, Any],
    roles: Mapping[Any, Any],
) -> str | None:
    """Put one grant into the team's config; say why not when the model cannot hold it."""
    if ns is None:
        if role.startswith("preset:"):
            preset = role.removeprefix("preset:")
            if team.get("clusterAccess") not in (None, preset):
                return f"the team has clusterAccess {team['clusterAccess']} already"
            team["clusterAccess"] = preset
            return None
        if "clusterRules" in team and _rules_key(team["clusterRules"]) != role:
            return "the team has other cluster rules already"
        team["clusterRules"] = json.loads(role)
        return None
    namespaces = team.setdefault("namespaces", [])
    named = role.removeprefix("preset:") if role.startswith("preset:") else None
    if named in presets.NAMESPACE_ACCESS:
        if team.get("namespaceAccess") not in (None, named):
            return f"the team has namespaceAccess {team['namespaceAccess']} already"
        if team.get("namespaceAccess") is None and namespaces:
            return "the team's other namespaces have no such preset"
        team["namespaceAccess"] = named
    else:
        if named is not None:
            return f"{named} bound in one namespace has no preset here"
        if "rules" in team and _rules_key(team["rules"]) != role:
            return "the team has other rules in its namespaces"
        if "rules" not in team and namespaces:
            return "the team's other namespaces have no such rules"
        team["rules"] = json.loads(role)
    if ns not in namespaces:
        namespaces.append(ns)
    return None


# --- equivalence --------------------------------------------------------------------------------


def planned_identities(data: Mapping[str, Any]) -> tuple[set[Identity], tuple[str, ...]]:
    parsed = awsauth.parse(data)
    return (
        {(key, m.username, tuple(sorted(m.groups))) for key, m in parsed.mappings.items()},
        parsed.accounts,
    )


def planned_grants(objects: Iterable[Mapping[str, Any]], groups: set[str]) -> set[GrantKey]:
    objs = list(objects)
    roles = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
        for o in objs
        if o["kind"] in ("Role", "ClusterRole")
    }
    out: set[GrantKey] = set()
    for o in objs:
        if o["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        ns = o["metadata"].get("namespace") if o["kind"] == "RoleBinding" else None
        role = _role_ref(o["roleRef"], ns, roles)
        for s in o.get("subjects") or []:
            if s.get("kind") == "Group" and s["name"] in groups and role is not None:
                out.add((s["name"], ns or "*", role))
    return out


def compare(
    imported: Imported,
    planned_data: Mapping[str, Any],
    planned_rbac: Iterable[Mapping[str, Any]],
    planned_entries: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    """Every difference between what the cluster maps and grants today and what the plan does:
    in the API modes, who EKS resolves to whom (entries over aws-auth) and the entries' access
    policies; in CONFIG_MAP, aws-auth itself."""
    diffs: list[str] = []
    ids, accounts = planned_identities(planned_data)
    if imported.mode not in (None, "CONFIG_MAP"):
        diffs += effective_differences(imported, planned_export(planned_data, planned_entries))
    else:
        for key, username, groups in sorted(imported.identities - ids):
            diffs.append(
                f"today {key} is {username!r} in {list(groups)}; the plan does not map it so"
            )
        for key, username, groups in sorted(ids - imported.identities):
            diffs.append(f"the plan maps {key} as {username!r} in {list(groups)}; today it is not")
    diffs += [f"not expressible: {u}" for u in imported.unexpressed]
    if imported.mode != "API" and sorted(set(accounts)) != sorted(set(imported.accounts)):
        diffs.append(f"mapAccounts today {list(imported.accounts)}, planned {list(accounts)}")
    bound = {g for g, _, _ in imported.grants}
    planned = planned_grants(planned_rbac, bound)
    for g, ns, role in sorted(imported.grants - planned):
        diffs.append(f"group {g} has {_show(role)} in {ns} today; the plan does not grant it")
    for g, ns, role in sorted(planned - imported.grants):
        diffs.append(f"the plan grants group {g} {_show(role)} in {ns}; today it does not have it")
    return diffs


def _show(role: str) -> str:
    return role.removeprefix("preset:") if role.startswith("preset:") else f"rules {role}"


# --- access entries (API and API_AND_CONFIG_MAP clusters) ---------------------------------------

_NODE_TYPES = {k.entry_type: k for k in NODE_KINDS}
_POLICY_PRESETS = {p.access_policy: p.name for p in presets.PRESETS if p.access_policy}


def from_export(
    export: cluster_view.Export, cluster: str, region: str
) -> tuple[Imported, dict[str, dict[str, Any]]]:
    """The config for a cluster's export folder: aws-auth where the mode reads it, and every
    access entry with its groups, username and access policies in the API modes. EKS's own
    entries (nodes, Fargate) are recognised as node roles the cluster keeps (eks-managed)."""
    mode = export.mode
    if mode is None:
        raise AdoptError(
            f"{export.folder}: no cluster.json, so the authentication mode is unknown; "
            f"write it with `{cluster_view.EXPORT_COMMANDS[cluster_view.CLUSTER_FILE]}`"
        )
    if mode != "CONFIG_MAP" and export.entries is None:
        raise AdoptError(
            f"{export.folder}: the cluster is in {mode}, but access-entries.json is missing; "
            "write the folder with `eks-access export`"
        )
    if mode != "API" and export.aws_auth is None:
        raise AdoptError(f"{export.folder}: the cluster is in {mode}, but aws-auth.yaml is missing")
    data = dict(export.aws_auth.data) if export.aws_auth is not None and mode != "API" else {}
    imported, teams = from_aws_auth(data, cluster, region)
    imported.mode = mode
    imported.export = export
    cluster_cfg = imported.config[f"{NAMESPACE}:cluster"]
    if mode != "CONFIG_MAP":
        cluster_cfg["authenticationMode"] = mode
        _add_entries(imported, teams, export)
        imported.config[f"{NAMESPACE}:teams"] = sorted(
            {id(t): t for t in teams.values()}.values(), key=lambda t: str(t["name"])
        )
    if mode == "API_AND_CONFIG_MAP":
        entries = {str(e["accessEntry"]["principalArn"]).lower() for e in export.entries or []}
        for key, _, _ in sorted(imported.identities):
            name = key.rsplit("/", 1)[-1]
            if (
                ":role/" in key
                and permission_set_of(name)
                and not any(e.endswith("/" + name) for e in entries)
            ):
                why = (
                    f"{key}: aws-auth holds this IAM Identity Center role without its path, and "
                    "its access entry needs the real ARN (with /aws-reserved/sso.amazonaws.com/"
                    "...): list it under permissionSets by name, or as a role with its full ARN"
                )
                imported.unexpressed.append(why)
                imported.notes.append(why)
    if mode == "API":
        imported.notes = [n for n in imported.notes if "refuses to write aws-auth" not in n]
    if imported.config[f"{NAMESPACE}:teams"]:
        imported.config.pop(f"{NAMESPACE}:acknowledgeLockout", None)
        imported.notes = [n for n in imported.notes if "acknowledgeLockout" not in n]
    return imported, teams


def _policy_config(policy: Mapping[str, Any]) -> dict[str, Any] | str:
    """An associated access policy as a team's ``accessPolicies`` item, or why it cannot be."""
    name = cluster_view.policy_name(str(policy.get("policyArn", "")))
    preset = _POLICY_PRESETS.get(name)
    if preset is None:
        return f"access policy {name} has no preset here"
    scope = policy.get("accessScope") or {}
    if scope.get("type") != "namespace":
        return {"policy": preset, "scope": "cluster"}
    namespaces = sorted(str(n) for n in scope.get("namespaces") or [])
    for n in namespaces:
        try:
            fields.scope_namespace(n)
        except ValueError as e:
            return f"access policy {name}'s namespace {n!r} cannot be configured: {e}"
    return {"policy": preset, "scope": "namespace", "namespaces": namespaces}


def _team_role_note(arn: arns.IamArn, username: str, cluster: str, where: str) -> str | None:
    """What to say of the role of an ``access: role`` team (its name and username as the
    program makes them): who its members are is IAM's, which the cluster does not show."""
    owner = username.split(":", 1)[0]
    if not (
        arn.kind == "role"
        and arn.name == team_roles.role_name(cluster, owner)
        and username == team_roles.username(owner)
    ):
        return None
    return (
        f"the role of eks-access team {owner} (`access: role`): its members are the users of "
        f"IAM group {iam.group_name(cluster, owner)}, which {where} does not show; imported as "
        "this role, equivalent today. To manage it as a role team, list those users under the "
        "team's `users`, set `access: role` and drop this role from its `roles` (the program "
        "then maps it itself)"
    )


def _add_entries(
    imported: Imported, teams: dict[str, dict[str, Any]], export: cluster_view.Export
) -> None:
    cluster_cfg = imported.config[f"{NAMESPACE}:cluster"]
    taken = {str(t["name"]) for t in teams.values()}
    policy_teams: dict[str, dict[str, Any]] = {}
    with_entry: list[str] = []
    for e in cluster_view.entries_of(export, imported.notes):
        arn, text, kind_type = e.arn, e.text, e.type
        if kind_type != "STANDARD":
            node = _NODE_TYPES.get(kind_type)
            if node is None:
                imported.notes.append(
                    f"access entry {text} ({kind_type}): a type this version does not know; "
                    "the program never touches it, left as is"
                )
                continue
            listed = cluster_cfg.setdefault(node.config_key, [])
            if arn.match_key not in {arns.parse_iam_arn(a).match_key for a in listed}:
                listed.append(text)
            with_entry.append(text)  # EKS (or someone) made it; the program leaves it
            continue
        username, groups = e.username, list(e.groups)
        key, member = next(
            (k.config_key, found) for k in TEAM_KINDS if (found := k.recognize(arn, username))
        )
        _drop_aws_auth_member(imported, teams, arn)
        if role_note := _team_role_note(arn, username, cluster_cfg["name"], "an access entry"):
            imported.notes.append(f"access entry {text}: {role_note}")
        policies: list[dict[str, Any]] = []
        for policy in e.policies:
            said = _policy_config(policy)
            if isinstance(said, str):
                why = f"access entry {text}: {said}; keep it by hand (the program leaves it)"
                imported.unexpressed.append(why)
                imported.notes.append(why)
            else:
                policies.append(said)
        wanted: list[str | None] = list(groups) or ([None] if not policies else [])
        for g in wanted:
            if g is not None and _reserved(g):
                imported.notes.append(f"access entry {text}: group {g!r} is reserved; dropped")
                continue
            _team_for(teams, taken, g).setdefault(key, []).append(dict(member))
        if policies:
            signature = json.dumps(sorted(policies, key=json.dumps), sort_keys=True)
            team: dict[str, Any] | None = policy_teams.get(signature)
            if team is None:
                label = "access-" + "-".join(sorted({str(p["policy"]) for p in policies}))
                team = {"name": team_name(label, taken), "mapGroup": False,
                        "accessPolicies": sorted(policies, key=json.dumps)}  # fmt: skip
                policy_teams[signature] = team
                teams[f"\0policies:{signature}"] = team
            team.setdefault(key, []).append(dict(member))
    _node_entries(imported, with_entry)


def _node_entries(imported: Imported, with_entry: list[str]) -> None:
    """Who makes the node roles' entries: ``eks-managed`` when every listed node role has one
    (EKS made them; the program leaves them); else ``create``, naming those that exist in
    ``eksManagedNodeRoles`` (a hybrid role from aws-auth, a NodeClass's own role: theirs the
    program makes)."""
    cluster_cfg = imported.config[f"{NAMESPACE}:cluster"]
    listed = [a for k in NODE_KINDS for a in cluster_cfg.get(k.config_key) or []]
    have = {arns.parse_iam_arn(a).match_key for a in with_entry}
    missing = [a for a in listed if arns.parse_iam_arn(a).match_key not in have]
    if not with_entry:
        return
    if not missing:
        cluster_cfg["nodeAccessEntries"] = "eks-managed"
        return
    cluster_cfg["nodeAccessEntries"] = "create"
    cluster_cfg["eksManagedNodeRoles"] = list(with_entry)
    imported.notes.append(
        f"node roles without an access entry ({', '.join(missing)}): nodeAccessEntries: create "
        "makes theirs; those with one are listed in eksManagedNodeRoles and left alone"
    )


def _drop_aws_auth_member(
    imported: Imported, teams: dict[str, dict[str, Any]], arn: arns.IamArn
) -> None:
    """An entry wins over aws-auth for its principal: the aws-auth import of it goes."""
    for team in teams.values():
        for kind in TEAM_KINDS:
            members = team.get(kind.config_key)
            if not isinstance(members, list):
                continue
            kept = [
                m for m in members
                if not (isinstance(m, dict) and "arn" in m
                        and arns.parse_iam_arn(m["arn"]).match_key == arn.match_key)
            ]  # fmt: skip
            if len(kept) != len(members):
                imported.notes.append(
                    f"{arn.arn}: mapped by aws-auth and an access entry; EKS uses the entry, "
                    "so the import takes the entry's username and groups"
                )
                team[kind.config_key] = kept
    for group, team in list(teams.items()):
        empty = not any(team.get(k.config_key) for k in TEAM_KINDS)
        grants = any(k in team for k in ("clusterAccess", "namespaceAccess", "rules"))
        if empty and not grants and not group.startswith("\0"):
            del teams[group]


def effective_differences(imported: Imported, planned: cluster_view.Export) -> list[str]:
    """In the API modes: what EKS resolves today (entries over aws-auth) against what it
    resolves after the plan, the entries the program does not manage (EKS's node entries)
    kept: identities, node roles and access-policy grants."""
    assert imported.export is not None and imported.mode is not None
    today = cluster_view.state_of(imported.export, imported.mode)

    def principal(e: Mapping[str, Any]) -> str:
        try:
            return arns.parse_iam_arn(e["accessEntry"]["principalArn"]).match_key
        except arns.ArnError:  # not a user or role: left out of both states, noted on import
            return str(e["accessEntry"]["principalArn"]).lower()

    managed = {principal(e) for e in planned.entries or []}
    kept = [e for e in imported.export.entries or [] if principal(e) not in managed]
    after_export = cluster_view.Export(
        planned.folder, aws_auth=planned.aws_auth, entries=[*(planned.entries or []), *kept]
    )
    after = cluster_view.state_of(after_export, imported.mode)
    diffs = []
    for key in sorted(today.state.identities.keys() | after.state.identities.keys()):
        a, b = today.state.identities.get(key), after.state.identities.get(key)
        was = (a.username, sorted(a.groups)) if a else None
        will = (b.username, sorted(b.groups)) if b else None
        if was != will:
            diffs.append(
                f"{key}: today {was or 'not mapped'}; after the plan {will or 'not mapped'}"
            )
    if set(today.state.nodes) != set(after.state.nodes):
        diffs.append(
            f"node roles today {sorted(today.state.nodes)}, after {sorted(after.state.nodes)}"
        )

    def policy_grants(state: authz.State) -> set[tuple[str, str, str]]:
        return {
            (str(g.principal), g.via, g.namespace or "*")
            for g in state.grants if g.principal is not None
        }  # fmt: skip

    for p, via, ns in sorted(policy_grants(today.state) - policy_grants(after.state)):
        diffs.append(f"{p} has {via} in {ns} today; the plan does not grant it")
    for p, via, ns in sorted(policy_grants(after.state) - policy_grants(today.state)):
        diffs.append(f"the plan grants {p} {via} in {ns}; today it does not have it")
    return diffs


def planned_export(
    aws_auth_data: Mapping[str, str], entries: Sequence[Mapping[str, Any]]
) -> cluster_view.Export:
    """The plan's aws-auth and access entries (``offline.plan.access_entries``) as an export."""
    from eks_access.live import LiveAwsAuth

    return cluster_view.Export(
        "the plan",
        aws_auth=LiveAwsAuth(dict(aws_auth_data), {}, "the plan") if aws_auth_data else None,
        entries=[
            {
                "accessEntry": {
                    "principalArn": e["principalArn"],
                    "type": e["type"],
                    "kubernetesGroups": e["kubernetesGroups"],
                    "username": e.get("userName") or "",
                },
                "associatedAccessPolicies": [
                    {
                        "policyArn": p["policyArn"],
                        "accessScope": {"type": p["scope"], "namespaces": p.get("namespaces", [])},
                    }
                    for p in e["policies"]
                ],
            }
            for e in entries
        ],
    )
