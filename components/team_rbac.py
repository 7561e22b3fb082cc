"""TeamRbac: a team's Roles, ClusterRoles and bindings, from the core's manifests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from eks_access.rbac import RbacObject

_RESOURCE = {
    "Role": k8s.rbac.v1.Role,
    "RoleBinding": k8s.rbac.v1.RoleBinding,
    "ClusterRole": k8s.rbac.v1.ClusterRole,
    "ClusterRoleBinding": k8s.rbac.v1.ClusterRoleBinding,
}


@dataclass(frozen=True)
class TeamRbacArgs:
    objects: Sequence[RbacObject]
    """The team's RBAC objects (``eks_access.rbac.team_objects``)."""
    namespaces: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    """Namespaces this stack creates, so objects inside them wait for them."""


class TeamRbac(pulumi.ComponentResource):
    """Kubernetes RBAC objects for one team; the provider comes in through ``opts``."""

    names: pulumi.Output[list[str]]
    """``Kind/namespace/name`` of every object, for reviews."""

    def __init__(self, name: str, args: TeamRbacArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("eks-access:index:TeamRbac", name, None, opts)
        names = []
        for obj in args.objects:
            ns = obj.namespace
            depends = [args.namespaces[ns]] if ns is not None and ns in args.namespaces else []
            body = {k: v for k, v in obj.manifest.items() if k not in ("apiVersion", "kind")}
            _RESOURCE[obj.kind](
                f"{name}-{obj.key}",
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
                **_snake(body),
            )
            names.append(f"{obj.kind}/{ns + '/' if ns else ''}{obj.manifest['metadata']['name']}")
        self.names = pulumi.Output.from_input(names)
        self.register_outputs({"names": self.names})


def _snake(body: Mapping[str, object]) -> dict[str, object]:
    """Top-level manifest keys to the SDK's keyword names (``roleRef`` -> ``role_ref``)."""
    return {"role_ref" if k == "roleRef" else k: v for k, v in body.items()}
