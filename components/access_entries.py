"""AccessEntries: one EKS access entry per principal, plus its access-policy associations."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from eks_access.access_entries import EntrySpec


@dataclass(frozen=True)
class AccessEntriesArgs:
    cluster_name: pulumi.Input[str]
    """The cluster the entries belong to."""
    entries: Sequence[EntrySpec]
    """The entries (``eks_access.access_entries.entries``)."""
    principal_arns: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """ARNs by entry key for principals this stack creates, so entries wait for them."""
    region: pulumi.Input[str] | None = None
    """Set on every entry and association as pulumi-aws v7 fills it from the provider: in the
    inputs, so a plan shows that another region replaces them."""
    replacement_triggers: Mapping[str, pulumi.Input[Any]] = field(default_factory=dict)
    """Per entry key, a value that changes when the principal is re-created (its unique ID):
    EKS binds an entry to the principal's unique ID, so the entry must be re-created with it."""


def _with_groups(grouped: bool) -> Callable[[Any], str]:
    """The trigger of a principal this stack creates: its unique ID, marked when it has no
    groups (unchanged for one with groups, so stacks made before the mark see no change)."""
    return lambda unique_id: f"{unique_id}" if grouped else f"{unique_id}/no-kubernetes-groups"


class AccessEntries(pulumi.ComponentResource):
    """Access entries keyed by principal: adding one user adds exactly one entry."""

    principal_arns: pulumi.Output[list[str]]
    """The principals that have an entry."""

    def __init__(
        self, name: str, args: AccessEntriesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("eks-access:index:AccessEntries", name, None, opts)
        arns = []
        for spec in args.entries:
            principal_arn = args.principal_arns.get(spec.key, spec.principal_arn)
            # EKS keeps an entry's groups when the provider is sent none (Optional+Computed), so
            # a principal losing its last group would keep it: the trigger changes instead, and
            # the entry (and, as dependents, its associations) is re-made without groups.
            grouped = bool(spec.kubernetes_groups)
            base = args.replacement_triggers.get(spec.key)
            trigger: pulumi.Input[Any] = (
                ("kubernetes-groups" if grouped else "no-kubernetes-groups")
                if base is None
                else pulumi.Output.from_input(base).apply(_with_groups(grouped))
            )
            entry = aws.eks.AccessEntry(
                f"{name}-{spec.key}",
                cluster_name=args.cluster_name,
                region=args.region,
                principal_arn=principal_arn,
                type=spec.type,
                kubernetes_groups=list(spec.kubernetes_groups) or None,
                user_name=spec.username,
                tags=spec.tags,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    replacement_trigger=trigger,
                    # One entry per principal: the new one can exist only once the old is gone.
                    delete_before_replace=True,
                ),
            )
            for grant in spec.policies:
                scope: dict[str, Any] = {"type": grant.scope}
                if grant.scope == "namespace":
                    scope["namespaces"] = list(grant.namespaces)
                # The SDK types these optional inputs as Output[str | None]; ours are Output[str].
                aws.eks.AccessPolicyAssociation(  # type: ignore[call-overload]
                    f"{name}-{spec.key}-{grant.policy}",
                    cluster_name=args.cluster_name,
                    region=args.region,
                    principal_arn=entry.principal_arn,
                    policy_arn=grant.arn,
                    access_scope=scope,
                    opts=pulumi.ResourceOptions(
                        parent=entry,
                        # Associating is an upsert of the scope and disassociating removes it:
                        # create-then-delete would end with no association at all.
                        delete_before_replace=True,
                        # Until eks-access 0.2 the association's parent was this component.
                        aliases=[pulumi.Alias(parent=self)],
                    ),
                )
            arns.append(spec.principal_arn)
        self.principal_arns = pulumi.Output.from_input(arns)
        self.register_outputs({"principalArns": self.principal_arns})
