"""Access presets: the one table of named access levels, read by the config (which names are
valid where), RBAC (the built-in ClusterRole a preset binds), access entries (the EKS access
policy of the same name), ``import`` (bindings it can express as a preset) and, through a test
that keeps its copy equal, the policy pack (which presets read secrets).

Sources: the Kubernetes user-facing roles (RBAC docs, "User-facing roles"), and the EKS access
policies (EKS user guide, "Review access policy permissions").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    """What the config writes: ``namespaceAccess: edit``."""
    cluster_role: str | None
    """The built-in ClusterRole it binds (RBAC presets), or None (access policies only)."""
    access_policy: str | None
    """The EKS access policy of that name, or None."""
    in_namespaces: bool
    """Allowed as ``namespaceAccess`` (bound per namespace)."""
    cluster_wide: bool
    """Allowed as ``clusterAccess``."""
    reads_secrets: bool
    """Grants reading Secrets (the policy pack's advisory)."""


PRESETS: tuple[Preset, ...] = (
    Preset("view", "view", "AmazonEKSViewPolicy", True, True, False),
    Preset("edit", "edit", "AmazonEKSEditPolicy", True, True, True),
    Preset("admin", "admin", "AmazonEKSAdminPolicy", True, True, True),
    Preset("cluster-admin", "cluster-admin", "AmazonEKSClusterAdminPolicy", False, True, True),
    Preset("admin-view", None, "AmazonEKSAdminViewPolicy", False, False, True),
    # Its rules are not in the guide this version read (data/access_policies.yaml): associated
    # as asked, and can-i answers "unknown" where only it could allow a request.
    Preset("secret-reader", None, "AmazonEKSSecretReaderPolicy", False, False, True),
)
BY_NAME = {p.name: p for p in PRESETS}
NAMESPACE_ACCESS = tuple(p.name for p in PRESETS if p.in_namespaces)
CLUSTER_ACCESS = tuple(p.name for p in PRESETS if p.cluster_wide)
ACCESS_POLICIES = tuple(p.name for p in PRESETS if p.access_policy)
BOUND_ROLES = tuple(p.cluster_role for p in PRESETS if p.cluster_role)
"""Built-in ClusterRoles that are presets: a binding to one of these is expressible as one."""
ADMIN = "cluster-admin"


def policy_arn(name: str, partition: str = "aws") -> str:
    """The ARN of a preset's access policy."""
    return access_policy_arn(str(BY_NAME[name].access_policy), partition)


def access_policy_arn(eks_name: str, partition: str = "aws") -> str:
    """The ARN of an access policy by EKS's name (``AmazonEKSAutoNodePolicy``)."""
    return f"arn:{partition}:eks::aws:cluster-access-policy/{eks_name}"
