"""Plans that would lock people out: stopped unless the user says they mean it.

A third stop, lifted by ``eks-access:acknowledgeClusterChange: <cluster name>``: a plan that
moves the stack's Kubernetes objects to another cluster (``cluster_change``).

Two stops, both lifted by ``eks-access:acknowledgeLockout: true`` in the stack config (read by
`pulumi up` too) or ``--acknowledge-lockout`` on the command line:

- a config that maps no principal besides the node roles: every person loses access to the
  cluster (an emptied team list, a misspelt ``eks-access:teams`` key);
- a plan that, compared with the base plan, stops mapping more than half of the principals the
  base maps, or deletes an IAM user that the new config still maps (a cluster stack switched to
  ``identity: {mode: reference}`` without handing its users over first).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from eks_access import arns
from eks_access.config import NAMESPACE, IdentityConfig, StackConfig
from eks_access.operations import PROVIDER_KEY, Operation, Registration
from eks_access.principals import principals

ACK_KEY = f"{NAMESPACE}:acknowledgeLockout"
ACK_FLAG = "--acknowledge-lockout"
ACK_HOW = f"set {ACK_KEY}: true in the stack file (or pass {ACK_FLAG} to plan) if you mean it"


def no_principals(config: StackConfig | IdentityConfig) -> str | None:
    """Why a config that maps nobody but the nodes must not be applied (None: it maps someone,
    or is an identity stack's, which maps nobody by design)."""
    if isinstance(config, IdentityConfig) or config.acknowledge_lockout:
        return None
    if config.ended_memberships:  # nobody left because their grants ended: carry it out
        return None
    if any(not p.is_node for p in principals(config)):
        return None
    return (
        "this config maps no principal besides the node roles, so everyone who can reach the "
        f"cluster through this stack today would lose access (is {NAMESPACE}:teams empty, "
        f"missing or misspelt?); {ACK_HOW}"
    )


def mass_removal(
    base: Collection[str], head: Collection[str], acknowledged: bool = False
) -> str | None:
    """Why removing more than half of the base's mapped principals must not be applied."""
    gone = sorted(set(base) - set(head))
    if acknowledged or not base or len(gone) * 2 <= len(base):
        return None
    shown = ", ".join(gone[:10]) + (f" and {len(gone) - 10} more" if len(gone) > 10 else "")
    return (
        f"this plan stops mapping {len(gone)} of the {len(base)} principals the base maps "
        f"(more than half): {shown}; {ACK_HOW}"
    )


def users_deleted_while_mapped(
    deleted_users: Sequence[str], mapped_users: Collection[str], acknowledged: bool = False
) -> str | None:
    """Why deleting IAM users the new config still maps must not be applied."""
    still = sorted(set(deleted_users) & set(mapped_users))
    if acknowledged or not still:
        return None
    return (
        f"this plan deletes IAM users {', '.join(still)} (and their keys) while the new config "
        "still maps them: switching a cluster stack to identity mode 'reference' drops the users "
        "it created. Set eks-access:identity mode 'handover' and `pulumi up` first, then move "
        "them to the identity stack (docs/fleets.md); " + ACK_HOW
    )


CLUSTER_ACK_KEY = f"{NAMESPACE}:acknowledgeClusterChange"
K8S_PROVIDER = "pulumi:providers:kubernetes"


def cluster_change(
    ops: Sequence[Operation], cluster: str, acknowledged: str | None = None
) -> str | None:
    """Why a plan that replaces the Kubernetes provider must not be applied unacknowledged.

    ``cluster`` is the new cluster's ARN. The program gives the provider ``clusterIdentifier``
    (the cluster's ARN and creation time), so pulumi-kubernetes replaces it only for another
    cluster; the engine then replaces every object the provider manages, create-first, in the
    new cluster, and deletes (or, retained, leaves) them in the old one. Moving a stack between
    clusters is rarely meant: it stops unless ``eks-access:acknowledgeClusterChange`` is that
    ARN.
    """
    if not any(o.op == "replace" and o.type == K8S_PROVIDER for o in ops):
        return None
    if acknowledged == cluster:
        return None
    moved = sorted(o.name for o in ops if o.op == "replace" and PROVIDER_KEY in o.replace_keys)
    shown = ", ".join(moved[:10]) + (f" and {len(moved) - 10} more" if len(moved) > 10 else "")
    aws = [o for o in ops if o.op in ("replace", "delete") and o.type.startswith("aws:")]
    also = (
        f"; {len(aws)} AWS resources go with it (replaced or deleted: "
        + ", ".join(sorted({o.type.rsplit(":", 1)[-1] for o in aws}))
        + "), so the old cluster loses what the stack granted there"
        if aws
        else ""
    )
    return (
        f"this plan points the stack at another cluster ({cluster}): the Kubernetes provider "
        f"is replaced, and with it the {len(moved)} objects it manages ({shown}), created anew "
        f"in that cluster and deleted from the old one (or left there, where retained){also}; "
        f"if you mean it, set {CLUSTER_ACK_KEY}: {cluster} in the stack file"
    )


IAM_USER = "aws:iam/user:User"


@dataclass(frozen=True)
class PlanFacts:
    """What the guards read from one plan: its registrations, and the principals it maps to a
    person (lower-cased ARNs as written; ``offline.plan.mapped_principals`` reads them from the
    aws-auth it renders, its access entries and a created cluster's arguments)."""

    resources: Sequence[Registration]
    mapped: Collection[str]

    def iam_users(self) -> dict[str, str]:
        """URN -> name of each IAM user the plan registers."""
        return {r.urn: str(r.inputs.get("name")) for r in self.resources if r.type == IAM_USER}

    def cluster(self) -> str:
        """The cluster its Kubernetes provider points at (ARN; "" when it has none)."""
        providers = [r for r in self.resources if r.type == K8S_PROVIDER]
        return arns.cluster_of_instance(
            str(providers[0].inputs.get("clusterIdentifier") or "") if providers else ""
        )


def plan_stops(
    before: PlanFacts,
    after: PlanFacts,
    ops: Sequence[Operation],
    acknowledged: bool = False,
    cluster_acknowledged: str | None = None,
) -> list[str]:
    """Every guard's verdict on going from ``before`` (the base plan, standing for the stack's
    state) to ``after`` through ``ops``: what stops the plan, and the review's warnings."""
    base_users = before.iam_users()
    deleted = [
        base_users[o.urn].lower()
        for o in ops
        if o.op == "delete" and not o.retained and o.urn in base_users
    ]
    still_mapped = {m.rsplit("/", 1)[-1] for m in after.mapped if ":user/" in m}
    found = [
        mass_removal(before.mapped, after.mapped, acknowledged),
        users_deleted_while_mapped(deleted, still_mapped, acknowledged),
        cluster_change(ops, after.cluster(), cluster_acknowledged),
    ]
    return [f for f in found if f]
