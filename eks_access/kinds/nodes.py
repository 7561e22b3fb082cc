"""Node kinds: the roles nodes run as. Listed under the cluster, mapped to EKS's own node
identity. Sources: EKS user guide ("Apply the aws-auth ConfigMap"; "Create access entries", its
table of entry types and usernames; "Prepare cluster access for hybrid nodes"; "Review access
policy permissions" for AmazonEKSAutoNodePolicy), and botocore's EKS service model, whose
CreateAccessEntry ``type`` lists every type (tests/unit/test_node_kinds.py reads it)."""

from __future__ import annotations

from eks_access.kinds.base import NodeKind

NODE_USERNAME = "system:node:{{EC2PrivateDNSName}}"
NODE_GROUPS = ("system:bootstrappers", "system:nodes")
WINDOWS_NODE_GROUPS = (*NODE_GROUPS, "eks:kube-proxy-windows")
FARGATE_USERNAME = "system:node:{{SessionName}}"
FARGATE_GROUPS = ("system:bootstrappers", "system:nodes", "system:node-proxier")
HYBRID_USERNAME = "system:node:{{SessionName}}"
"""The guide: "With this access entry type, the username is automatically set to
system:node:{{SessionName}}"; its aws-auth line has the two node groups."""
SET_BY_EKS = "(set by EKS)"
"""Shown for Auto Mode and HyperPod nodes: the guide does not publish the identity EKS gives
these entry types, and the program never writes one."""
AUTO_NODE_POLICY = "AmazonEKSAutoNodePolicy"

LINUX = NodeKind("node", "node_role_arns", "nodeRoleArns", NODE_USERNAME, NODE_GROUPS, "EC2_LINUX")
WINDOWS = NodeKind(
    "windows",
    "windows_node_role_arns",
    "windowsNodeRoleArns",
    NODE_USERNAME,
    WINDOWS_NODE_GROUPS,
    "EC2_WINDOWS",
)
FARGATE = NodeKind(
    "fargate",
    "fargate_role_arns",
    "fargateRoleArns",
    FARGATE_USERNAME,
    FARGATE_GROUPS,
    "FARGATE_LINUX",
)
AUTO = NodeKind(
    "auto",
    "auto_node_role_arns",
    "autoNodeRoleArns",
    SET_BY_EKS,
    (),
    "EC2",
    aws_auth=False,
    config_map_mode=False,
    policy=AUTO_NODE_POLICY,
    username_published=False,
)
"""EKS Auto Mode nodes of a NodeClass with its own node role: an ``EC2`` entry with
AmazonEKSAutoNodePolicy at cluster scope (the guide, "Create a Node Class": "The Node IAM Role
requires the AmazonEKSAutoNodePolicy EKS Access Policy")."""
HYBRID = NodeKind(
    "hybrid",
    "hybrid_node_role_arns",
    "hybridNodeRoleArns",
    HYBRID_USERNAME,
    NODE_GROUPS,
    "HYBRID_LINUX",
    config_map_mode=False,
)
"""EKS Hybrid Nodes: a ``HYBRID_LINUX`` entry, or an aws-auth line in API_AND_CONFIG_MAP; "The
CONFIG_MAP-only authentication mode is not supported for hybrid nodes-enabled Amazon EKS
clusters"."""
HYPERPOD = NodeKind(
    "hyperpod",
    "hyperpod_node_role_arns",
    "hyperpodNodeRoleArns",
    SET_BY_EKS,
    (),
    "HYPERPOD_LINUX",
    aws_auth=False,
    config_map_mode=False,
    username_published=False,
)
"""SageMaker HyperPod nodes: a ``HYPERPOD_LINUX`` entry (botocore's model lists the type; the
EKS guide at the pinned commit does not describe it, SageMaker's supports the API modes only)."""
