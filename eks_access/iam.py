"""IAM names and policy documents for the program's users and team groups."""

from __future__ import annotations

import json
from typing import Any, TypeVar

T = TypeVar("T")
PolicyDocument = dict[str, Any]
MAX_GROUP_NAME = 128
MAX_GROUPS_PER_USER = 10  # IAM quotas: groups an IAM user can be a member of
MAX_GROUP_POLICY = 5120  # IAM quotas: characters of a group's inline policies
GROUP_POLICY_NAME = "eks-access-describe-cluster"


def group_name(cluster: str, team: str) -> str:
    """The team's IAM group; the cluster is in the name because IAM groups are account-wide.

    Never truncated (two teams could collide): the config check refuses names that are too long.
    """
    return f"eks-access-{cluster}-{team}"


def describe_cluster_policy(cluster_arn: T) -> PolicyDocument:
    """Allow `aws eks update-kubeconfig` on this one cluster, nothing else.

    ``cluster_arn`` may be a plain string or a Pulumi Output (then serialise with
    ``pulumi.Output.json_dumps``): the document is built the same way for both.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DescribeThisCluster",
                "Effect": "Allow",
                "Action": "eks:DescribeCluster",
                "Resource": cluster_arn,
            }
        ],
    }


def policy_size(document: PolicyDocument) -> int:
    """Characters IAM counts for an inline policy (whitespace does not count)."""
    return len(json.dumps(document, separators=(",", ":")))
