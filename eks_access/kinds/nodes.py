"""Node kinds: the roles EC2 nodes (Linux or Windows) and Fargate pods run as. Listed under the
cluster, mapped to EKS's own node identity (EKS user guide, "Apply the aws-auth ConfigMap";
access-entry types EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX)."""

from __future__ import annotations

from eks_access.kinds.base import NodeKind

NODE_USERNAME = "system:node:{{EC2PrivateDNSName}}"
NODE_GROUPS = ("system:bootstrappers", "system:nodes")
WINDOWS_NODE_GROUPS = (*NODE_GROUPS, "eks:kube-proxy-windows")
FARGATE_USERNAME = "system:node:{{SessionName}}"
FARGATE_GROUPS = ("system:bootstrappers", "system:nodes", "system:node-proxier")

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
