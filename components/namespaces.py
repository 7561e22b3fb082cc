"""Namespaces: the namespaces teams ask the stack to create, kept when the stack lets go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from eks_access.rbac import RbacObject


@dataclass(frozen=True)
class NamespacesArgs:
    objects: Sequence[RbacObject]
    """Namespace manifests (``eks_access.rbac.namespace_objects``), keyed by namespace name."""


class Namespaces(pulumi.ComponentResource):
    """Creates namespaces; never deletes one (that would delete every workload inside)."""

    resources: dict[str, k8s.core.v1.Namespace]
    """The Namespace resources by name, for others to depend on."""

    def __init__(self, name: str, args: NamespacesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("eks-access:index:Namespaces", name, None, opts)
        self.resources = {
            obj.key: k8s.core.v1.Namespace(
                f"{name}-{obj.key}",
                metadata=obj.manifest["metadata"],
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            for obj in args.objects
        }
        self.register_outputs({"names": sorted(self.resources)})
