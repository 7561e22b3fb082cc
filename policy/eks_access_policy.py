"""The eks-access CrossGuard policies: what no config edit may do, checked on the resources
the program registers (``pulumi preview --policy-pack policy``).

The Pulumi CLI runs a policy pack in its own virtualenv, beside any program, where
``eks_access`` is not installed: the rules the pack shares with the core (risk classes,
escalating verbs, the roles that read Secrets, the key limit, the authenticator's ARN matching
and YAML reading) come from ``eks_access/rules.py``, loaded here by path. Each check is a plain
function over resource properties (the engine's camelCase inputs) and reports violations
through the callback pulumi-policy passes in.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)


def _shared_rules() -> ModuleType:
    """``eks_access/rules.py``, by path: the one rule set of the core and the pack. Where the
    core is already loaded (the offline plan runs the pack in its own process), its module:
    the same file, and one cache of what it has read."""
    if "eks_access.rules" in sys.modules:
        return sys.modules["eks_access.rules"]
    name = "eks_access_shared_rules"
    if name not in sys.modules:
        path = Path(__file__).resolve().parent.parent / "eks_access" / "rules.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


rules = _shared_rules()

PACK_NAME = "eks-access-guardrails"
CLUSTER_ADMIN_TEAM = "eks-access.io/cluster-admin-team"
"""Annotation the program sets on a binding to ``cluster-admin`` made for a team whose config
says ``clusterAccess: cluster-admin``; tag on an access entry of such a team's principal."""
TEAM_LABEL = "eks-access.io/team"
MASTERS = rules.MASTERS
NODE_GROUPS = set(rules.NODE_GROUPS)
ENTRY_ONLY_ANNOTATION = "eks-access/entry-only-nodes"
"""Set by the program on the aws-auth patch when every node role joins through access entries
(EKS Auto Mode, HyperPod): aws-auth then rightly maps no node (kept equal by a test)."""
ESCALATING_VERBS = set(rules.ESCALATING_VERBS)
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"

K8S = "kubernetes:"
ROLE_TYPES = {
    "kubernetes:rbac.authorization.k8s.io/v1:Role",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
}
BINDING_TYPES = {
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
}
CONFIG_MAP_TYPES = {"kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:ConfigMapPatch"}
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ACCESS_KEY = "aws:iam/accessKey:AccessKey"
IAM_POLICY_TYPES = {
    "aws:iam/groupPolicy:GroupPolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/policy:Policy",
}
SECRET_READING_PRESETS = set(rules.SECRET_READING_ROLES)
MAX_KEYS = rules.MAX_ACCESS_KEYS


# --- small readers -----------------------------------------------------------------------------


def _is_aws_auth(props: Mapping[str, Any]) -> bool:
    meta = props.get("metadata") or {}
    return meta.get("name") == "aws-auth" and meta.get("namespace", "default") == "kube-system"


class UnreadableAwsAuthError(ValueError):
    """aws-auth text the authenticator cannot parse: it maps nobody from that key."""


def aws_auth_entries(props: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(key, entry)`` for each mapping in an aws-auth ConfigMap's mapRoles and mapUsers, read
    as the authenticator reads them (YAML 1.1). Raises ``UnreadableAwsAuthError`` for a key it
    cannot parse, never reading it as "no mappings"."""
    out: list[tuple[str, dict[str, Any]]] = []
    data = props.get("data") or {}
    for key, arn_field in (("mapRoles", "rolearn"), ("mapUsers", "userarn")):
        text = data.get(key)
        if not isinstance(text, str):
            continue
        try:
            parsed = rules.load_yaml11(text) or []
        except Exception as e:  # ruamel's YAMLError and its scanner errors
            raise UnreadableAwsAuthError(
                f"aws-auth {key} does not parse ({type(e).__name__})"
            ) from e
        for entry in parsed if isinstance(parsed, list) else []:
            if isinstance(entry, Mapping):
                out.append((arn_field, dict(entry)))
    return out


match_key = rules.match_key


def _rules(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    # Mapping, not dict: the engine hands policies its read-only proxies of the inputs.
    return [r for r in props.get("rules") or [] if isinstance(r, Mapping)]


def _name(props: Mapping[str, Any]) -> str:
    meta = props.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta.get('name')}" if ns else str(meta.get("name"))


def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    if not isinstance(document, dict):
        return []
    stmts = document.get("Statement") or []
    return [s for s in (stmts if isinstance(stmts, list) else [stmts]) if isinstance(s, dict)]


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [v for v in value or [] if isinstance(v, str)]


def _action_matches(pattern: str, action: str) -> bool:
    """IAM action wildcards (``*``, ``eks:*``, ``eks:Describe*``), case-insensitive."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


# --- resource checks ---------------------------------------------------------------------------


def _entries_or_none(props: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The mappings, or none when a key does not parse (aws-auth-keeps-node-roles reports it)."""
    try:
        return aws_auth_entries(props)
    except UnreadableAwsAuthError:
        return []


def no_system_masters(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props, kind = args.props, args.resource_type
    if kind in CONFIG_MAP_TYPES and _is_aws_auth(props):
        for field, entry in _entries_or_none(props):
            if MASTERS in _listed(entry.get("groups")):
                report(
                    f"aws-auth maps {entry.get(field)} to {MASTERS}: that group bypasses RBAC "
                    "and cannot be audited or revoked by binding; give the team "
                    "clusterAccess: cluster-admin instead",
                    None,
                )
    elif kind == ACCESS_ENTRY and MASTERS in _listed(props.get("kubernetesGroups")):
        report(f"access entry for {props.get('principalArn')} names {MASTERS}", None)
    elif kind in BINDING_TYPES:
        for s in props.get("subjects") or []:
            if isinstance(s, Mapping) and s.get("kind") == "Group" and s.get("name") == MASTERS:
                report(f"{_name(props)} binds the group {MASTERS}", None)


def no_wildcard_or_escalation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in ROLE_TYPES:
        return
    for i, rule in enumerate(_rules(args.props)):
        verbs = set(_listed(rule.get("verbs")))
        if "*" in verbs:
            report(f"{_name(args.props)} rules[{i}] allows every verb ('*'); list the verbs", None)
        if "*" in _listed(rule.get("resources")) or "*" in _listed(rule.get("apiGroups")):
            report(
                f"{_name(args.props)} rules[{i}] covers every resource ('*'), including ones "
                "added later (CRDs); list the resources",
                None,
            )
        if bad := sorted(verbs & ESCALATING_VERBS):
            report(
                f"{_name(args.props)} rules[{i}] grants {', '.join(bad)}: a holder can give "
                "itself any permission; use a preset or ask the cluster admins",
                None,
            )


def describe_cluster_not_on_star(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in IAM_POLICY_TYPES:
        return
    for stmt in _statements(args.props.get("policy")):
        if stmt.get("Effect") != "Allow":
            continue
        actions = _listed(stmt.get("Action"))
        if not any(_action_matches(a, "eks:DescribeCluster") for a in actions):
            continue
        resources = _listed(stmt.get("Resource"))
        if not resources or any(r == "*" or r.endswith(":cluster/*") for r in resources):
            shown = ", ".join(resources) or "no Resource"
            report(
                f"{args.name} allows eks:DescribeCluster on every cluster ({shown}); scope it "
                "to the cluster's ARN",
                None,
            )


def aws_auth_keeps_node_roles(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type not in CONFIG_MAP_TYPES or not _is_aws_auth(props):
        return
    data = props.get("data") or {}
    try:
        entries = aws_auth_entries(props)
    except UnreadableAwsAuthError as e:
        report(f"{e}: the authenticator maps nobody from it, every node included", None)
        return
    mapped = {
        match_key(str(e.get("rolearn", ""))): set(_listed(e.get("groups")))
        for field, e in entries
        if field == "rolearn"
    }
    if "mapRoles" not in data:
        report("the aws-auth patch does not set mapRoles: node roles would not be owned", None)
        return
    annotations = (props.get("metadata") or {}).get("annotations") or {}
    entry_only = annotations.get(ENTRY_ONLY_ANNOTATION)
    if not entry_only and not any(groups >= NODE_GROUPS for groups in mapped.values()):
        report(
            "aws-auth's mapRoles has no node role (groups system:bootstrappers and "
            "system:nodes): every node would be locked out of the cluster",
            None,
        )
    for arn in args.get_config().get("nodeRoleArns") or []:
        if not mapped.get(match_key(arn), set()) >= NODE_GROUPS:
            report(f"node role {arn} (policy config nodeRoleArns) is not mapped as a node", None)


def access_key_without_pgp(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == ACCESS_KEY and not args.props.get("pgpKey"):
        report(
            f"{args.name}: the secret access key is kept (as a Pulumi secret) in state; set "
            "eks-access:pgpKey or the user's pgpKey so only an encrypted copy exists",
            None,
        )


def secrets_and_exec(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    labels = (props.get("metadata") or {}).get("labels") or {}
    if labels.get(TEAM_LABEL) in set(args.get_config().get("ignoreTeams") or []):
        return
    if args.resource_type in BINDING_TYPES:
        ref = props.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole" and ref.get("name") in SECRET_READING_PRESETS:
            report(
                f"{_name(props)} grants the {ref['name']} preset, which reads Secrets and "
                "execs into pods",
                None,
            )
        return
    if args.resource_type not in ROLE_TYPES:
        return
    words = dict(rules.RISKS)
    namespaced = args.resource_type.endswith(":Role")
    for i, rule in enumerate(_rules(props)):
        # the core's classifier (eks_access/rules.py, as the review's warnings use it); the
        # wildcards are no-wildcard-or-escalation's, mandatory
        for label in rules.rule_risks(rule, namespaced):
            if label != "wildcard":
                report(f"{_name(props)} rules[{i}]: {words[label]}", None)


# --- stack checks ------------------------------------------------------------------------------


def _binds_cluster_admin(props: Mapping[str, Any]) -> bool:
    ref = props.get("roleRef") or {}
    return ref.get("kind") == "ClusterRole" and ref.get("name") == "cluster-admin"


def _entry_of(association: Any, resources: Iterable[Any]) -> Any:
    """The access entry an association belongs to: its parent, as the program registers it
    (a URN, known in a preview, where a new IAM user's ARN is not)."""
    parent = getattr(association.opts, "parent", None)
    for r in resources:
        if r.resource_type == ACCESS_ENTRY and parent and r.urn == parent:
            return r
    return None


def cluster_admin_only_for_marked_teams(args: StackValidationArgs, report: ReportViolation) -> None:
    allowed = set(args.get_config().get("clusterAdminTeams") or [])

    def check(marked: Iterable[str], what: str, urn: str) -> None:
        teams = {t for t in marked if t}
        if not teams:
            report(
                f"{what} grants cluster-admin but is not marked as made for a team with "
                "clusterAccess: cluster-admin; bind a narrower role",
                urn,
            )
        elif allowed and not teams & allowed:
            report(
                f"{what} grants cluster-admin to team(s) {', '.join(sorted(teams))}, which "
                f"the policy config clusterAdminTeams ({', '.join(sorted(allowed))}) does not list",
                urn,
            )

    for r in args.resources:
        if r.resource_type in BINDING_TYPES and _binds_cluster_admin(r.props):
            annotations = (r.props.get("metadata") or {}).get("annotations") or {}
            check([annotations.get(CLUSTER_ADMIN_TEAM, "")], _name(r.props), r.urn)
        elif r.resource_type == POLICY_ASSOCIATION and str(r.props.get("policyArn", "")).endswith(
            "/" + CLUSTER_ADMIN_POLICY
        ):
            entry = _entry_of(r, args.resources)
            tags = (entry.props.get("tags") or {}) if entry else {}
            check(
                str(tags.get(CLUSTER_ADMIN_TEAM, "")).split(),
                f"access policy association {r.name}",
                r.urn,
            )


ADMIN_POLICIES = set(rules.ADMIN_POLICIES)
ADMIN_ROLES = set(rules.ADMIN_LEVELS)


def admin_grants_end(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every admin-level grant (a binding to the cluster-admin or admin ClusterRole, an
    association of AmazonEKSClusterAdminPolicy or AmazonEKSAdminPolicy) ends, and within
    ``maxDays`` of now: read from the end the program writes on the binding and the entry."""
    max_days = float(args.get_config().get("maxDays", 30))
    at = rules.now()
    for r in args.resources:
        if r.resource_type in BINDING_TYPES:
            ref = r.props.get("roleRef") or {}
            if ref.get("kind") != "ClusterRole" or ref.get("name") not in ADMIN_ROLES:
                continue
            if not r.props.get("subjects"):
                continue  # binds nobody
            annotations = (r.props.get("metadata") or {}).get("annotations") or {}
            problem = rules.end_problem(annotations.get(rules.GRANTS_END), at, max_days)
            what = f"{_name(r.props)} (binds ClusterRole {ref.get('name')})"
        elif r.resource_type == POLICY_ASSOCIATION:
            policy = str(r.props.get("policyArn", "")).rsplit("/", 1)[-1]
            if policy not in ADMIN_POLICIES:
                continue
            entry = _entry_of(r, args.resources)
            tags = (entry.props.get("tags") or {}) if entry else {}
            problem = rules.end_problem(tags.get(rules.GRANTS_END), at, max_days)
            what = f"the {policy} association {r.name}"
        else:
            continue
        if problem:
            report(f"{what} {problem}", r.urn)


def one_mapping_and_two_keys(args: StackValidationArgs, report: ReportViolation) -> None:
    keys: Counter[str] = Counter()
    for r in args.resources:
        if r.resource_type == ACCESS_KEY:
            keys[str(r.props.get("user"))] += 1
    for user, n in sorted(keys.items()):
        if n > MAX_KEYS:
            report(f"IAM user {user} would have {n} access keys; IAM allows {MAX_KEYS}", None)

    seen: dict[str, list[str]] = defaultdict(list)
    patches = [
        r for r in args.resources if r.resource_type in CONFIG_MAP_TYPES and _is_aws_auth(r.props)
    ]
    if len(patches) > 1:
        report(
            f"{len(patches)} resources write aws-auth ({', '.join(p.name for p in patches)}); "
            "they would overwrite each other's mappings, keep one",
            None,
        )
    for p in patches:
        for field, entry in _entries_or_none(p.props):
            seen[f"aws-auth:{match_key(str(entry.get(field, '')))}"].append(p.name)
    for r in args.resources:
        if r.resource_type == ACCESS_ENTRY:
            key = f"access entry:{match_key(str(r.props.get('principalArn', '')))}"
            seen[key].append(r.name)
    for key, where in sorted(seen.items()):
        if len(where) > 1:
            mechanism, _, arn = key.partition(":")
            report(
                f"{arn} is mapped {len(where)} times in {mechanism}; the authenticator keeps "
                "only one, so one team's access silently wins",
                None,
            )


# --- the pack ----------------------------------------------------------------------------------

_STR_LIST = {"type": "array", "items": {"type": "string"}, "default": []}

POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy(
        name="no-system-masters",
        description="No principal or binding is given the system:masters group.",
        validate=no_system_masters,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="cluster-admin-only-for-marked-teams",
        description=(
            "cluster-admin (binding or EKS access policy) only for teams whose config says "
            "cluster-admin, and, when clusterAdminTeams is set, only for those teams."
        ),
        validate=cluster_admin_only_for_marked_teams,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(properties={"clusterAdminTeams": _STR_LIST}),
    ),
    ResourceValidationPolicy(
        name="no-wildcard-or-escalation-rules",
        description="Custom Roles and ClusterRoles list verbs and resources: no '*', and no "
        "escalate, bind or impersonate.",
        validate=no_wildcard_or_escalation,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="describe-cluster-not-on-star",
        description="eks:DescribeCluster is allowed on named clusters, never on '*'.",
        validate=describe_cluster_not_on_star,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="aws-auth-keeps-node-roles",
        description="Every aws-auth write keeps node-role mappings (and the listed node roles).",
        validate=aws_auth_keeps_node_roles,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(properties={"nodeRoleArns": _STR_LIST}),
    ),
    ResourceValidationPolicy(
        name="access-key-without-pgp",
        description="Access keys whose secret is stored unencrypted in state are reported.",
        validate=access_key_without_pgp,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
    ResourceValidationPolicy(
        name="secrets-and-exec-access",
        description="Roles and bindings that read Secrets or exec into pods are reported.",
        validate=secrets_and_exec,
        enforcement_level=EnforcementLevel.ADVISORY,
        config_schema=PolicyConfigSchema(properties={"ignoreTeams": _STR_LIST}),
    ),
    StackValidationPolicy(
        name="admin-grants-end",
        description=(
            "cluster-admin and admin grants (bindings, EKS access policies) have an expires, "
            "at most maxDays ahead. Off unless the stack's pack config enables it."
        ),
        validate=admin_grants_end,
        enforcement_level=EnforcementLevel.DISABLED,
        config_schema=PolicyConfigSchema(
            properties={"maxDays": {"type": "number", "minimum": 0, "default": 30}}
        ),
    ),
    StackValidationPolicy(
        name="one-mapping-and-two-keys",
        description="No principal is mapped twice; no IAM user gets more than two access keys.",
        validate=one_mapping_and_two_keys,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
