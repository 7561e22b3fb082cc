"""What each authentication mode needs (docs/config.md)."""

from __future__ import annotations

from eks_access import arns, kinds
from eks_access.config.models import StackConfig
from eks_access.fields import ENTRY_TEMPLATES, NAMESPACE, disallowed_templates, fmt
from eks_access.problems import Problem


def mode_checks(config: StackConfig) -> list[Problem]:
    """What each authentication mode needs; see docs/config.md."""
    problems: list[Problem] = []
    cluster = config.cluster
    mode = cluster.authentication_mode
    if mode == "API" and cluster.create is None and cluster.node_access_entries is None:
        problems.append(
            Problem(
                "cluster.nodeAccessEntries",
                "required in API mode: EKS stops reading aws-auth, where node roles were mapped; "
                "set `create` to have this program create the node roles' access entries "
                "(EC2_LINUX for nodeRoleArns, ...; list in cluster.eksManagedNodeRoles those EKS "
                "made itself), or `eks-managed` if EKS made them all (managed node groups and "
                "Fargate profiles get them when the cluster leaves CONFIG_MAP)",
            )
        )
    if cluster.node_access_entries == "create" and not cluster.node_roles:
        problems.append(
            Problem(
                "cluster.nodeAccessEntries",
                "`create` needs the node roles; list them in cluster.nodeRoleArns (or another "
                "node list: windowsNodeRoleArns, fargateRoleArns, autoNodeRoleArns, "
                "hybridNodeRoleArns, hyperpodNodeRoleArns)",
            )
        )
    if cluster.node_access_entries is not None and not cluster.writes_access_entries:
        problems.append(
            Problem(
                "cluster.nodeAccessEntries",
                "only used with access entries; "
                "remove it or set authenticationMode: API_AND_CONFIG_MAP",
            )
        )
    problems.extend(_node_kind_checks(config))
    listed = {arns.parse_iam_arn(a).match_key for a in cluster.node_roles}
    for i, arn in enumerate(cluster.eks_managed_node_roles):
        path = f"cluster.eksManagedNodeRoles[{i}]"
        if cluster.node_access_entries != "create":
            problems.append(
                Problem(
                    path,
                    "only used with nodeAccessEntries: create (the roles whose entries EKS made, "
                    "which the program leaves alone); remove it, or set nodeAccessEntries: create",
                )
            )
            break
        if arns.parse_iam_arn(arn).match_key not in listed:
            problems.append(
                Problem(path, f"{arn} is not in a node list; add it to the list of its kind")
            )
    if cluster.map_accounts and not cluster.writes_aws_auth:
        problems.append(
            Problem(
                "cluster.mapAccounts",
                "an aws-auth setting, and EKS does not read aws-auth in API mode; list the "
                "principals in teams (they get access entries), or set authenticationMode: "
                "API_AND_CONFIG_MAP",
            )
        )
    if config.remove_live_mappings and (not cluster.writes_aws_auth or cluster.create):
        problems.append(
            Problem(
                f"{NAMESPACE}:removeLiveMappings",
                "acknowledges removals from a live aws-auth this stack writes, and it writes "
                "none here (API mode) or owns it whole (a cluster it creates); remove the key",
            )
        )
    creator = (
        arns.parse_iam_arn(cluster.creator_principal_arn).match_key
        if cluster.creator_principal_arn
        else None
    )
    ctx = config.context()
    for t, team in enumerate(config.teams):
        tp = f"teams[{t}]"
        if team.access_policies and not cluster.writes_access_entries:
            problems.append(
                Problem(
                    f"{tp}.accessPolicies",
                    "EKS access policies need access "
                    "entries; set cluster.authenticationMode: API_AND_CONFIG_MAP "
                    "(or API), or grant the same through namespaceAccess",
                )
            )
        seen: set[str] = set()
        for a, policy in enumerate(team.access_policies):
            ap = f"{tp}.accessPolicies[{a}]"
            if policy.policy in seen:
                problems.append(
                    Problem(
                        ap,
                        f"{policy.policy!r} is listed twice; EKS takes each "
                        "policy once per principal, so merge the two",
                    )
                )
            seen.add(policy.policy)
            if policy.scope == "namespace" and not (policy.namespaces or team.namespaces):
                problems.append(
                    Problem(
                        f"{ap}.namespaces",
                        "namespace scope needs namespaces; "
                        "list them here or in the team, or use scope: cluster",
                    )
                )
            if policy.scope == "cluster" and policy.namespaces:
                problems.append(
                    Problem(
                        f"{ap}.namespaces",
                        "cluster scope takes no namespaces; remove them or use scope: namespace",
                    )
                )
        if cluster.writes_access_entries:
            for m in kinds.members(team, tp, ctx):
                if creator and m.arn.match_key == creator:
                    problems.append(
                        Problem(
                            f"{m.path}.arn" if m.kind.principal == "role" else m.path,
                            f"{m.arn.arn} is the cluster creator (cluster.creatorPrincipalArn), "
                            "which already has an access entry; a second one fails with "
                            "ResourceInUseException. Remove it from the team",
                        )
                    )
                if m.kind.principal == "role" and (
                    bad := disallowed_templates(m.username, ENTRY_TEMPLATES)
                ):
                    problems.append(
                        Problem(
                            f"{m.path}.username",
                            f"{{{{{bad[0]}}}}} is not substituted in access-entry usernames; use "
                            f"{fmt(ENTRY_TEMPLATES)}",
                        )
                    )
                elif m.kind.principal == "role" and _session_without_colon(m.username):
                    problems.append(
                        Problem(
                            f"{m.path}.username",
                            f"{m.username!r}: in an access entry, a colon must come before "
                            '{{SessionName}} or {{SessionNameRaw}} (EKS user guide, "Set a custom '
                            "username\"); for example 'team:{{SessionName}}'",
                        )
                    )
    return problems


_NODE_NAMES = {
    "auto": "EKS Auto Mode nodes",
    "hybrid": "EKS Hybrid Nodes",
    "hyperpod": "SageMaker HyperPod nodes",
}


def _node_kind_checks(config: StackConfig) -> list[Problem]:
    """Node kinds the mode cannot map: hybrid, Auto Mode and HyperPod nodes need access entries
    (an API mode); Auto Mode and HyperPod nodes never go in aws-auth, so someone must give
    them entries (``nodeAccessEntries``)."""
    problems: list[Problem] = []
    cluster = config.cluster
    for kind in kinds.NODE_KINDS:
        listed = getattr(cluster, kind.model_field)
        if not listed:
            continue
        path = f"cluster.{kind.config_key}"
        if not kind.config_map_mode and not cluster.writes_access_entries:
            problems.append(
                Problem(
                    path,
                    f"{_NODE_NAMES[kind.name]} ({kind.entry_type} entries) cannot join a cluster "
                    "in CONFIG_MAP mode: EKS requires access entries for them; set "
                    "cluster.authenticationMode: API_AND_CONFIG_MAP"
                    + ("" if kind.aws_auth else " and nodeAccessEntries")
                    + ", or remove the list",
                )
            )
        elif not kind.aws_auth and cluster.node_access_entries is None:
            problems.append(
                Problem(
                    path,
                    f"{_NODE_NAMES[kind.name]} ({kind.entry_type} entries) have no aws-auth form: "
                    "set cluster.nodeAccessEntries: create to have this program make their "
                    "entries"
                    + (f" (with {kind.policy})" if kind.policy else "")
                    + ", listing in cluster.eksManagedNodeRoles those EKS made itself (Auto "
                    "Mode's default node role), or eks-managed if EKS made them all",
                )
            )
    return problems


def _session_without_colon(username: str) -> bool:
    at = min((i for i in (username.find("{{SessionName}}"), username.find("{{SessionNameRaw}}"))
              if i >= 0), default=-1)  # fmt: skip
    return at >= 0 and ":" not in username[:at]
