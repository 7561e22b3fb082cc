"""The eks-access CrossGuard policies: what no config edit may do, checked on the resources
the program registers (``pulumi preview --policy-pack policy``).

Self-contained on purpose: the Pulumi CLI runs a policy pack in its own virtualenv, beside
any program, so this module needs only pulumi-policy and PyYAML, never ``eks_access``. Each
check is a plain function over resource properties (the engine's camelCase inputs) and
reports violations through the callback pulumi-policy passes in.
"""

from __future__ import annotations

import fnmatch
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

PACK_NAME = "eks-access-guardrails"
CLUSTER_ADMIN_TEAM = "eks-access.io/cluster-admin-team"
"""Annotation the program sets on a binding to ``cluster-admin`` made for a team whose config
says ``clusterAccess: cluster-admin``; tag on an access entry of such a team's principal."""
TEAM_LABEL = "eks-access.io/team"
MASTERS = "system:masters"
NODE_GROUPS = {"system:nodes", "system:bootstrappers"}
ENTRY_ONLY_ANNOTATION = "eks-access/entry-only-nodes"
"""Set by the program on the aws-auth patch when every node role joins through access entries
(EKS Auto Mode, HyperPod): aws-auth then rightly maps no node (kept equal by a test)."""
ESCALATING_VERBS = {"escalate", "bind", "impersonate"}
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
# Built-in ClusterRoles that can read Secrets or exec into pods (kubernetes bootstrap policy).
SECRET_READING_PRESETS = {"edit", "admin", "cluster-admin"}
MAX_KEYS = 2


# --- small readers -----------------------------------------------------------------------------


def _is_aws_auth(props: Mapping[str, Any]) -> bool:
    meta = props.get("metadata") or {}
    return meta.get("name") == "aws-auth" and meta.get("namespace", "default") == "kube-system"


def aws_auth_entries(props: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(key, entry)`` for each mapping in an aws-auth ConfigMap's mapRoles and mapUsers."""
    out: list[tuple[str, dict[str, Any]]] = []
    data = props.get("data") or {}
    for key, arn_field in (("mapRoles", "rolearn"), ("mapUsers", "userarn")):
        text = data.get(key)
        if not isinstance(text, str):
            continue
        try:
            parsed = yaml.safe_load(text) or []
        except yaml.YAMLError:
            parsed = []
        for entry in parsed if isinstance(parsed, list) else []:
            if isinstance(entry, dict):
                out.append((arn_field, entry))
    return out


def match_key(arn: str) -> str:
    """How aws-iam-authenticator compares ARNs: case-insensitive, roles without their path."""
    arn = arn.strip().lower()
    head, _, resource = arn.partition(":role/")
    if resource:
        return f"{head}:role/{resource.rsplit('/', 1)[-1]}"
    return arn


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


def no_system_masters(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props, kind = args.props, args.resource_type
    if kind in CONFIG_MAP_TYPES and _is_aws_auth(props):
        for field, entry in aws_auth_entries(props):
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
    mapped = {
        match_key(str(e.get("rolearn", ""))): set(_listed(e.get("groups")))
        for field, e in aws_auth_entries(props)
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
    for i, rule in enumerate(_rules(props)):
        verbs = set(_listed(rule.get("verbs")))
        resources = set(_listed(rule.get("resources")))
        groups = set(_listed(rule.get("apiGroups")))
        if not groups & {"", "*"}:
            continue
        if resources & {"secrets", "*"} and verbs & {"get", "list", "watch", "*"}:
            report(f"{_name(props)} rules[{i}] reads Secrets", None)
        if resources & {"pods/exec", "pods/attach", "*", "pods/*"} and verbs & {
            "create",
            "get",
            "*",
        }:
            report(f"{_name(props)} rules[{i}] allows exec/attach into pods", None)


# --- stack checks ------------------------------------------------------------------------------


def _binds_cluster_admin(props: Mapping[str, Any]) -> bool:
    ref = props.get("roleRef") or {}
    return ref.get("kind") == "ClusterRole" and ref.get("name") == "cluster-admin"


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

    entries = {
        match_key(str(r.props.get("principalArn", ""))): r
        for r in args.resources
        if r.resource_type == ACCESS_ENTRY
    }
    for r in args.resources:
        if r.resource_type in BINDING_TYPES and _binds_cluster_admin(r.props):
            annotations = (r.props.get("metadata") or {}).get("annotations") or {}
            check([annotations.get(CLUSTER_ADMIN_TEAM, "")], _name(r.props), r.urn)
        elif r.resource_type == POLICY_ASSOCIATION and str(r.props.get("policyArn", "")).endswith(
            "/" + CLUSTER_ADMIN_POLICY
        ):
            arn = str(r.props.get("principalArn", ""))
            entry = entries.get(match_key(arn))
            tags = (entry.props.get("tags") or {}) if entry else {}
            check(
                str(tags.get(CLUSTER_ADMIN_TEAM, "")).split(),
                f"access policy association for {arn}",
                r.urn,
            )


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
        for field, entry in aws_auth_entries(p.props):
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
        name="one-mapping-and-two-keys",
        description="No principal is mapped twice; no IAM user gets more than two access keys.",
        validate=one_mapping_and_two_keys,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
