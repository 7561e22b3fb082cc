"""Checks across the stacks of a fleet: IAM users are account-wide, stacks are not.

Two stacks in one account that both create ``eks_user`` collide (EntityAlreadyExists) or, with
other settings, fight over its keys and path. A cluster stack that references an identity
stack must only map users that stack owns. Every problem names both places.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from eks_access import config as core
from eks_access import iam


@dataclass(frozen=True)
class FleetStack:
    """One stack of the fleet: its file (for messages), stack name and validated config."""

    where: str
    stack: str
    config: core.StackConfig | core.IdentityConfig


def _users(config: core.StackConfig | core.IdentityConfig) -> dict[str, tuple[str, core.User]]:
    """Each IAM user a stack defines, by lower-cased name (IAM names ignore case)."""
    out: dict[str, tuple[str, core.User]] = {}
    for t, team in enumerate(config.teams):
        for u, user in enumerate(team.users):
            out.setdefault(user.name.lower(), (f"teams[{t}].users[{u}]", user))
    for user in getattr(config, "ended_users", ()):  # still this stack's (its keys Inactive)
        out.setdefault(user.name.lower(), (f"a user whose grants have ended ({user.name})", user))
    return out


def _creates(config: core.StackConfig | core.IdentityConfig) -> bool:
    return isinstance(config, core.IdentityConfig) or config.creates_users


def problems(members: list[FleetStack]) -> list[str]:
    found: list[str] = []
    created: dict[tuple[str, str], list[tuple[FleetStack, str, core.User]]] = defaultdict(list)
    owners: dict[tuple[str, str], FleetStack] = {}  # (account, stack name) -> identity owner
    for m in members:
        account = m.config.users_account
        if m.config.identity is not None and m.config.identity.mode == "owner":
            owners[(account, m.stack)] = m
        if _creates(m.config):
            for name, (path, user) in _users(m.config).items():
                created[(account, name)].append((m, path, user))
    for (account, _), places in sorted(created.items()):
        if len(places) < 2:
            continue
        (m1, p1, u1), *rest = places
        name = u1.name
        for m2, p2, u2 in rest:
            both = f"{m1.where} ({p1}) and {m2.where} ({p2})"
            if u1.settings() != u2.settings():
                found.append(
                    f"IAM user {name!r} of account {account} is defined with different settings "
                    f"in {both}; an IAM user exists once per account: give it one definition"
                )
            else:
                found.append(
                    f"IAM user {name!r} of account {account} is created by both {both}; the "
                    "second `pulumi up` fails with EntityAlreadyExists. Let an identity stack "
                    "own it (eks-access:identity, docs/fleets.md)"
                )
    found += _group_limit(members)
    for m in members:
        identity = m.config.identity
        if identity is None or identity.mode != "reference" or identity.stack is None:
            continue
        owner = owners.get((identity.account, identity.stack.rsplit("/", 1)[-1]))
        if owner is None:
            continue  # the identity stack is not part of this run
        owned = _users(owner.config)
        for key, (path, user) in _users(m.config).items():
            if key not in owned:
                found.append(
                    f"{m.where} ({path}): IAM user {user.name!r} is not owned by identity stack "
                    f"{identity.stack} ({owner.where}); add it there"
                )
    return found


def _group_limit(members: list[FleetStack]) -> list[str]:
    """IAM's 10 groups per user, summed over the cluster stacks of one account: each stack
    adds the user to its own team groups."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for m in members:
        if not isinstance(m.config, core.StackConfig):
            continue
        account = m.config.users_account
        for name, (_, team_names) in core.iam_users(m.config).items():
            groups[(account, name.lower())] += [f"{m.where}: {t}" for t in team_names]
    return [
        f"IAM user {name!r} of account {account} would be in {len(teams)} team groups across "
        f"the fleet ({', '.join(teams)}), over IAM's limit of {iam.MAX_GROUPS_PER_USER}; merge "
        "teams or give this person a role"
        for (account, name), teams in sorted(groups.items())
        if len(teams) > iam.MAX_GROUPS_PER_USER
    ]


# Files whose change can change what any stack does.
PROGRAM_FILES = ("__main__.py", "Pulumi.yaml", "requirements.txt")
PROGRAM_DIRS = ("components/", "eks_access/")


def affected(changed: set[str], sources: dict[str, tuple[str, ...]]) -> list[str]:
    """The stacks a change touches: all when the program changed, else those whose stack file,
    ESC environment file or teams file changed. ``sources`` maps stack names to their files."""
    program = any(f in PROGRAM_FILES or f.startswith(PROGRAM_DIRS) for f in changed)
    return sorted(s for s, files in sources.items() if program or changed & set(files))
