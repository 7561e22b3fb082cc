"""The cluster as it is: an export folder (``eks-access export``, or the commands the docs give)
read into the same :class:`authz.State` the config's answers come from, with where each mapping
and grant comes from.

The folder (``--live DIR``) holds, each file optional:

- ``aws-auth.yaml``: ``kubectl get configmap aws-auth -n kube-system -o yaml``;
- ``rbac.yaml``: ``kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml``;
- ``cluster.json``: ``aws eks describe-cluster --name NAME`` (the authentication mode);
- ``access-entries.json``: a list with, per entry, ``accessEntry`` (``aws eks
  describe-access-entry``) and ``associatedAccessPolicies`` (``aws eks
  list-associated-access-policies``);
- ``nodegroups.json`` and ``fargate-profiles.json``: lists of ``describe-nodegroup``'s
  ``nodegroup`` and ``describe-fargate-profile``'s ``fargateProfile`` (their roles).

What EKS reads follows the mode: aws-auth in ``CONFIG_MAP`` and ``API_AND_CONFIG_MAP``, access
entries in the two API modes, an entry winning over aws-auth for the same principal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eks_access import arns, authz, awsauth
from eks_access.kinds import NODE_KIND, NODE_KINDS
from eks_access.live import AWS_AUTH_FILE, LiveAwsAuth, LiveError
from eks_access.principals import Principal

RBAC_FILE = "rbac.yaml"
CLUSTER_FILE = "cluster.json"
ENTRIES_FILE = "access-entries.json"
NODEGROUPS_FILE = "nodegroups.json"
FARGATE_FILE = "fargate-profiles.json"
FILES = (AWS_AUTH_FILE, RBAC_FILE, CLUSTER_FILE, ENTRIES_FILE, NODEGROUPS_FILE, FARGATE_FILE)
RBAC_KINDS = ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping"
NODE_GROUPS = frozenset(
    {"system:bootstrappers", "system:nodes", "system:node-proxier", "eks:kube-proxy-windows"}
)
"""What a node line may hold; a line with more (system:masters...) is a person's, evaluated."""
_POLICY_PREFIX = "cluster-access-policy/"
EXPORT_COMMANDS = {
    AWS_AUTH_FILE: "kubectl get configmap aws-auth -n kube-system -o yaml",
    RBAC_FILE: "kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml",
    CLUSTER_FILE: "aws eks describe-cluster --name NAME",
    ENTRIES_FILE: "eks-access export (describe-access-entry and "
    "list-associated-access-policies of every entry)",
    NODEGROUPS_FILE: "eks-access export (describe-nodegroup of every node group)",
    FARGATE_FILE: "eks-access export (describe-fargate-profile of every profile)",
}


@dataclass
class Export:
    """What one export folder holds; None for a file that was not there."""

    folder: str
    aws_auth: LiveAwsAuth | None = None
    rbac: list[dict[str, Any]] | None = None
    cluster: dict[str, Any] | None = None
    entries: list[dict[str, Any]] | None = None
    nodegroups: list[dict[str, Any]] | None = None
    fargate_profiles: list[dict[str, Any]] | None = None

    @property
    def not_read(self) -> list[str]:
        """The files that were not there (but one the cluster's mode does not use)."""
        have = {
            AWS_AUTH_FILE: self.aws_auth,
            RBAC_FILE: self.rbac,
            CLUSTER_FILE: self.cluster,
            ENTRIES_FILE: self.entries,
            NODEGROUPS_FILE: self.nodegroups,
            FARGATE_FILE: self.fargate_profiles,
        }
        unused = {"CONFIG_MAP": ENTRIES_FILE, "API": AWS_AUTH_FILE}.get(self.mode or "")
        return [name for name, value in have.items() if value is None and name != unused]

    @property
    def mode(self) -> str | None:
        if self.cluster is None:
            return None
        mode = (self.cluster.get("accessConfig") or {}).get("authenticationMode")
        return str(mode) if mode else "CONFIG_MAP"


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise LiveError(
            f"{path}: does not parse as YAML or JSON ({e.__class__.__name__})"
        ) from None


def _objects(doc: Any, path: Path) -> list[dict[str, Any]]:
    """Kubernetes objects of a kubectl export: a List (``-o yaml`` / ``-o json``) or one."""
    if isinstance(doc, Mapping) and str(doc.get("kind", "")).endswith("List"):
        items = doc.get("items")
        if not isinstance(items, list):
            raise LiveError(f"{path}: a List without items")
        doc_items: list[Any] = items
    elif isinstance(doc, Mapping):
        doc_items = [doc]
    else:
        raise LiveError(f"{path}: not Kubernetes objects; export with {EXPORT_COMMANDS[RBAC_FILE]}")
    out = []
    for i, item in enumerate(doc_items):
        if not isinstance(item, Mapping) or not isinstance(item.get("metadata"), Mapping):
            raise LiveError(f"{path}: item {i} is not a Kubernetes object")
        if item.get("kind") not in RBAC_KINDS:
            continue  # kubectl lists may hold other kinds; they grant nothing
        out.append(_checked(dict(item), f"{path}: item {i} ({item['kind']})"))
    return out


def _checked(obj: dict[str, Any], where: str) -> dict[str, Any]:
    """An RBAC object with the fields evaluation reads, of the types the API server gives
    (``rules: null`` of an aggregated role is no rules)."""
    meta = dict(obj["metadata"])
    if not isinstance(meta.get("name"), str):
        raise LiveError(f"{where}: metadata.name is missing")
    obj["metadata"] = meta
    if obj["kind"].endswith("Role"):
        rules = obj.get("rules") or []
        if not isinstance(rules, list) or not all(isinstance(r, Mapping) for r in rules):
            raise LiveError(f"{where}: rules is not a list of rules")
        obj["rules"] = rules
        return obj
    ref = obj.get("roleRef")
    if not isinstance(ref, Mapping) or not all(
        isinstance(ref.get(k), str) for k in ("kind", "name")
    ):
        raise LiveError(f"{where}: roleRef needs kind and name")
    subjects = obj.get("subjects") or []
    if not isinstance(subjects, list) or not all(
        isinstance(s, Mapping) and isinstance(s.get("kind"), str) and isinstance(s.get("name"), str)
        for s in subjects
    ):
        raise LiveError(f"{where}: every subject needs a kind and a name")
    obj["subjects"] = subjects
    return obj


def _listed(doc: Any, path: Path, key: str) -> list[dict[str, Any]]:
    """A list of AWS objects, written bare or wrapped as the AWS CLI prints one (``key``)."""
    if isinstance(doc, Mapping) and key in doc:
        doc = doc[key]
    if isinstance(doc, Mapping):
        doc = [doc]
    if not isinstance(doc, list) or not all(isinstance(d, Mapping) for d in doc):
        raise LiveError(f"{path}: expected a JSON list of objects; write it with eks-access export")
    return [dict(d) for d in doc]


def read(folder: Path) -> Export:
    """Every file of an export folder that is there; LiveError naming the file otherwise."""
    if not folder.is_dir():
        raise LiveError(f"--live {folder}: not a folder; write one with `eks-access export`")
    out = Export(str(folder))
    path = folder / AWS_AUTH_FILE
    if path.is_file():
        out.aws_auth = LiveAwsAuth.from_object(_load(path), str(path))
    path = folder / RBAC_FILE
    if path.is_file():
        out.rbac = _objects(_load(path), path)
    path = folder / CLUSTER_FILE
    if path.is_file():
        doc = _load(path)
        doc = doc.get("cluster", doc) if isinstance(doc, Mapping) else doc
        if not isinstance(doc, Mapping) or "name" not in doc:
            raise LiveError(f"{path}: not describe-cluster output; write it with eks-access export")
        out.cluster = dict(doc)
    path = folder / ENTRIES_FILE
    if path.is_file():
        out.entries = _listed(_load(path), path, "accessEntries")
        for i, e in enumerate(out.entries):
            entry = e.get("accessEntry")
            if not isinstance(entry, Mapping) or not isinstance(entry.get("principalArn"), str):
                raise LiveError(f"{path}: item {i} has no accessEntry.principalArn")
            groups = entry.get("kubernetesGroups") or []
            policies = e.get("associatedAccessPolicies") or []
            if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                raise LiveError(f"{path}: item {i}: kubernetesGroups is not a list of names")
            if not isinstance(policies, list) or not all(isinstance(p, Mapping) for p in policies):
                raise LiveError(f"{path}: item {i}: associatedAccessPolicies is not a list")
    path = folder / NODEGROUPS_FILE
    if path.is_file():
        out.nodegroups = _listed(_load(path), path, "nodegroups")
    path = folder / FARGATE_FILE
    if path.is_file():
        out.fargate_profiles = _listed(_load(path), path, "fargateProfiles")
    return out


# --- the cluster's state --------------------------------------------------------------------------


@dataclass
class ClusterState:
    """The cluster's identities and grants (``state``), with where each comes from."""

    state: authz.State
    mode: str
    sources: dict[str, str] = field(default_factory=dict)
    """Identity key -> where it is mapped (an aws-auth line, an access entry)."""
    platform: dict[str, str] = field(default_factory=dict)
    """Identity key -> why it is the platform's (the cluster creator's entry, EKS's own)."""
    objects: list[dict[str, Any]] = field(default_factory=list)
    """The live RBAC objects."""
    notes: list[str] = field(default_factory=list)
    """Identity key -> access policies whose rules this tool does not know (not counted)."""
    export_nodegroups: list[dict[str, Any]] = field(default_factory=list)
    export_fargate: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Entry:
    """One access entry of an export, read once for every consumer."""

    arn: arns.IamArn
    text: str
    """The principal ARN as EKS has it."""
    type: str
    username: str
    """As EKS applies it: the entry's, or EKS's default for it."""
    groups: tuple[str, ...]
    policies: tuple[Mapping[str, Any], ...]


def entries_of(export: Export, notes: list[str]) -> list[Entry]:
    """The export's access entries; one that names no IAM user or role is a note, left out."""
    out = []
    for item in export.entries or []:
        entry = item["accessEntry"]
        text = str(entry["principalArn"])
        try:
            arn = arns.parse_iam_arn(text)
        except arns.ArnError:
            notes.append(f"access entry {text}: not an IAM user or role ARN; left out")
            continue
        out.append(
            Entry(
                arn,
                text,
                str(entry.get("type") or "STANDARD"),
                str(entry.get("username") or default_username(text)),
                tuple(str(g) for g in entry.get("kubernetesGroups") or ()),
                tuple(item.get("associatedAccessPolicies") or ()),
            )
        )
    return out


def policy_name(policy_arn: str) -> str:
    """``AmazonEKSViewPolicy`` of ``arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy``."""
    return policy_arn.rsplit(_POLICY_PREFIX, 1)[-1]


def policy_rules(policy_arn: str) -> tuple[authz.Rule, ...] | None:
    """The rules EKS publishes for an access policy (data/access_policies.yaml), or None."""
    return authz.access_policy_rules(policy_name(policy_arn))


def default_username(arn: str) -> str:
    """The username EKS gives an access entry without one (EKS user guide, "Create access
    entries"): an IAM user's ARN; a role's assumed-role session ARN with the session name."""
    parsed = arns.parse_iam_arn(arn)
    if parsed.kind == "user":
        return parsed.arn
    sts = f"arn:{parsed.partition}:sts::{parsed.account}"
    return f"{sts}:assumed-role/{parsed.name}/{{{{SessionName}}}}"


def _node(
    arn: str, username: str, groups: Sequence[str], entry_type: str | None = None
) -> Principal | None:
    """A node role as the cluster maps it, its kind from its entry type or aws-auth shape."""
    try:
        parsed = arns.parse_iam_arn(arn)
    except arns.ArnError:
        return None
    kind = next(
        (k for k in NODE_KINDS
         if (k.entry_type == entry_type if entry_type else k.recognize(username, groups))),
        NODE_KIND["node"],
    )  # fmt: skip
    return Principal(kind.name, parsed, username, tuple(groups), source=kind.config_key)


def state_of(export: Export, mode: str, creator: str | None = None) -> ClusterState:
    """What the cluster grants: aws-auth (modes that read it), access entries and their
    policies (modes that have them), and every live RBAC binding."""
    out = ClusterState(authz.State(), mode)
    state = out.state
    creator_key = arns.parse_iam_arn(creator).match_key if creator else None
    if mode != "API" and export.aws_auth is not None:
        parsed = awsauth.parse(export.aws_auth.data)
        out.notes += [f"aws-auth: {d}" for d in parsed.dropped]
        state.accounts = frozenset(parsed.accounts)
        for key, m in parsed.mappings.items():
            section = "mapRoles" if m.kind == "role" else "mapUsers"
            if m.username.startswith("system:node:") and set(m.groups) <= NODE_GROUPS:
                if (node := _node(m.arn, m.username, m.groups)) is not None:
                    state.nodes[key] = node
                continue
            state.identities[key] = authz.Identity(
                key, m.arn, m.kind, m.username, frozenset((*m.groups, authz.AUTHENTICATED))
            )
            out.sources[key] = f"aws-auth {section} line"
    if mode != "CONFIG_MAP" and export.entries is not None:
        for e in entries_of(export, out.notes):
            key = e.arn.match_key
            if e.type != "STANDARD":
                if (node := _node(e.text, e.username, e.groups, e.type)) is not None:
                    state.nodes[key] = node
                out.platform[key] = f"{e.type} access entry (nodes)"
                continue
            state.identities.pop(key, None)  # the entry wins over aws-auth
            state.identities[key] = authz.Identity(
                key, e.arn.arn, e.arn.kind, e.username,
                frozenset((*e.groups, authz.AUTHENTICATED)),
            )  # fmt: skip
            out.sources[key] = "access entry"
            if key == creator_key:
                out.platform[key] = "the cluster creator's access entry"
            arn = e.text
            for policy in e.policies:
                state.grants += _policy_grants(policy, key, out.notes, arn)
    out.objects = list(export.rbac or [])
    out.export_nodegroups = list(export.nodegroups or [])
    out.export_fargate = list(export.fargate_profiles or [])
    state.grants += authz.rbac_grants(out.objects)
    return out


def _policy_grants(
    policy: Mapping[str, Any], key: str, notes: list[str], arn: str
) -> list[authz.Grant]:
    policy_arn = str(policy.get("policyArn", ""))
    rules = policy_rules(policy_arn)
    if rules is None:
        notes.append(
            f"access entry {arn}: access policy {policy_name(policy_arn)} is not one this tool "
            "knows the rules of; can-i answers 'unknown' where it could allow a request"
        )
        rules = authz.unknown_rules(policy_name(policy_arn))
    scope = policy.get("accessScope") or {}
    via = f"EKS access policy {policy_name(policy_arn)}"
    if scope.get("type") == "namespace":
        return [
            authz.Grant(f"{via} (namespace {ns})", rules, str(ns), principal=key)
            for ns in scope.get("namespaces") or []
        ]
    return [authz.Grant(f"{via} (cluster)", rules, None, principal=key)]


def is_bootstrap(obj: Mapping[str, Any]) -> bool:
    """Kubernetes' own default RBAC objects, and EKS's (``eks:`` names)."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    name = str(meta.get("name", ""))
    return labels.get(BOOTSTRAP_LABEL) == "rbac-defaults" or name.startswith(("system:", "eks:"))
