"""AwsAuth: the stack's one writer of the aws-auth ConfigMap, by server-side-apply patch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from eks_access import awsauth, live
from eks_access.principals import Principal


@dataclass(frozen=True)
class AwsAuthArgs:
    principals: pulumi.Input[Sequence[Principal]]
    """Every mapped principal, node roles included (``eks_access.principals.principals``)."""
    accounts: Sequence[str] = ()
    """aws-auth ``mapAccounts`` (``cluster.mapAccounts``)."""
    field_manager: str = awsauth.FIELD_MANAGER
    """Server-side-apply field manager; keep it stable or ownership of the keys is lost."""


class AwsAuth(pulumi.ComponentResource):
    """Owns ``data.mapRoles`` and ``data.mapUsers`` of ``kube-system/aws-auth``, nothing else.

    The patch updates the existing ConfigMap in place; it never creates, replaces or deletes
    it, and is retained if the stack lets go of it, so nodes keep their mapping.
    """

    data: pulumi.Output[dict[str, str]]
    """The patched keys, as rendered (visible in previews: ARNs are known before apply)."""

    def __init__(self, name: str, args: AwsAuthArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("eks-access:index:AwsAuth", name, None, opts)
        self.data = pulumi.Output.from_input(args.principals).apply(
            lambda ps: awsauth.render(ps, args.accounts)
        )
        fixed = {
            "pulumi.com/patchFieldManager": args.field_manager,
            # mapRoles was written by EKS or eksctl: take the key over (its node roles are in
            # our rendering) instead of failing on the conflict.
            "pulumi.com/patchForce": "true",
        }

        def annotations(principals: Sequence[Principal], data: dict[str, str]) -> dict[str, str]:
            out = dict(fixed)
            # What this stack maps, so the next run's preflight can tell its own lines from
            # lines EKS or a person added (eks_access.live).
            out[live.RECORD_ANNOTATION] = live.record(data)
            if note := awsauth.entry_only_nodes(principals):
                out[awsauth.ENTRY_ONLY_ANNOTATION] = note  # the policy pack reads it
            return out

        k8s.core.v1.ConfigMapPatch(
            f"{name}-patch",
            metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                name=awsauth.NAME,
                namespace=awsauth.NAMESPACE,
                annotations=pulumi.Output.all(args.principals, self.data).apply(
                    lambda both: annotations(both[0], both[1])
                ),
            ),
            data=self.data,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.register_outputs({"data": self.data})
