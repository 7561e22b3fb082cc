"""Arguments for a cluster the stack creates with pulumi-eks (`cluster.create`).

pulumi-eks writes the whole aws-auth itself (and the access entries it is given), so in this
mode every mapping goes into its arguments and the program adds no second aws-auth writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eks_access import awsauth
from eks_access.access_entries import EntrySpec
from eks_access.config import StackConfig
from eks_access.principals import Principal


def cluster_args(
    config: StackConfig, principals: Sequence[Principal], entries: Sequence[EntrySpec]
) -> dict[str, Any]:
    """Keyword arguments for ``pulumi_eks.Cluster`` (snake_case, as the Python SDK takes them)."""
    create = config.cluster.create
    assert create is not None, "only for cluster.create"
    mapped = awsauth.in_aws_auth(principals) if config.cluster.writes_aws_auth else []
    args: dict[str, Any] = {
        "name": config.cluster.name,
        "authentication_mode": config.cluster.authentication_mode,
        "instance_type": create.instance_type,
        "desired_capacity": create.node_count,
        "min_size": create.node_count,
        "max_size": max(create.node_count, 1),
        "role_mappings": [
            {"role_arn": p.arn.aws_auth_arn, "username": p.username, "groups": list(p.groups)}
            for p in mapped
            if p.arn.kind == "role"
        ],
        "user_mappings": [
            {"user_arn": p.arn.aws_auth_arn, "username": p.username, "groups": list(p.groups)}
            for p in mapped
            if p.arn.kind == "user"
        ],
        "access_entries": {
            e.key: {
                "principal_arn": e.principal_arn,
                "type": e.type,
                **({"kubernetes_groups": list(e.kubernetes_groups)} if e.kubernetes_groups else {}),
                **({"username": e.username} if e.username else {}),
                "tags": e.tags,
                "access_policies": {
                    g.policy: {
                        "policy_arn": g.arn,
                        "access_scope": {"type": g.scope, "namespaces": list(g.namespaces)}
                        if g.scope == "namespace"
                        else {"type": "cluster"},
                    }
                    for g in e.policies
                },
            }
            for e in entries
        },
    }
    if create.version:
        args["version"] = create.version
    return args
