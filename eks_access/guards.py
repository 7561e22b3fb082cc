"""Plans that would lock people out: stopped unless the user says they mean it.

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

from eks_access.config import NAMESPACE, IdentityConfig, StackConfig
from eks_access.principals import principals

ACK_KEY = f"{NAMESPACE}:acknowledgeLockout"
ACK_FLAG = "--acknowledge-lockout"
ACK_HOW = f"set {ACK_KEY}: true in the stack file (or pass {ACK_FLAG} to plan) if you mean it"


def no_principals(config: StackConfig | IdentityConfig) -> str | None:
    """Why a config that maps nobody but the nodes must not be applied (None: it maps someone,
    or is an identity stack's, which maps nobody by design)."""
    if isinstance(config, IdentityConfig) or config.acknowledge_lockout:
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
        "them to the identity stack (README 'Fleets'); " + ACK_HOW
    )
