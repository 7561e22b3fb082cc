"""A review in people's words: per principal, what it gains and loses, by namespace, named by
the access preset it equals ("gains edit in payments, payments-jobs"); and the risky changes a
reviewer must not miss (cluster-admin, Secrets, exec, RBAC escalation, wildcards, a lockout
acknowledgement)."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from eks_access import authz, expiring, operations, presets, review, rules
from eks_access import config as core
from eks_access.config import StackConfig, iam_users
from eks_access.documents import PrincipalChange, ReviewDocument
from eks_access.review import Permission, permissions

CLUSTER = "*"


@functools.cache
def _preset_permissions(scope: str) -> dict[str, frozenset[Permission]]:
    """Each preset's permissions granted in ``scope`` (a namespace, or ``*`` cluster-wide), as
    a binding of its ClusterRole (or an association of its access policy) would grant them."""
    out = {}
    for preset in presets.PRESETS:
        published = (
            authz.builtin_rules(preset.cluster_role)
            if preset.cluster_role
            else authz.access_policy_rules(str(preset.access_policy))
        )
        if published is None:
            continue  # rules not published here: no set of permissions is named after it
        rules = list(published)
        state = authz.State()
        ident = authz.Identity("k", "arn", "user", "u", frozenset({"g"}))
        state.identities["k"] = ident
        namespace = None if scope == CLUSTER else scope
        state.grants = [authz.Grant(preset.name, tuple(rules), namespace, groups=frozenset({"g"}))]
        out[preset.name] = frozenset(permissions(state, ident))
    return out


def _name(held: frozenset[Permission], scope: str) -> str | None:
    """The preset a scope's permissions equal, if any."""
    return next((n for n, ps in _preset_permissions(scope).items() if ps == held), None)


def _by_scope(state: authz.State, ident: authz.Identity | None) -> dict[str, frozenset[Permission]]:
    found: dict[str, set[Permission]] = defaultdict(set)
    if ident is not None:
        for p, via in permissions(state, ident).items():
            if not via.endswith("(built in)"):  # what every login has: not this change's
                found[p.scope].add(p)
    return {scope: frozenset(ps) for scope, ps in found.items()}


def _change_in_words(
    before: frozenset[Permission], after: frozenset[Permission], scope: str
) -> str | None:
    """What changes in one scope, in words; None when nothing does."""
    if before == after:
        return None
    was, now = _name(before, scope) if before else None, _name(after, scope) if after else None
    if not before and now:
        return f"gains {now}"
    if not after and was:
        return f"loses {was}"
    if was and now:
        return f"changes from {was} to {now}"
    gained = [p for p in after - before if not any(o.covers(p) for o in before)]
    lost = [p for p in before - after if not any(o.covers(p) for o in after)]
    words = []
    for verb, found in (("gains", gained), ("loses", lost)):
        if found:
            shown = ", ".join(p.describe().removesuffix(_where(scope)) for p in sorted(found)[:2])
            more = f" and {len(found) - 2} more" if len(found) > 2 else ""
            words.append(f"{verb} {shown}{more}")
    return "; ".join(words) or None


def _any_not_covered(these: frozenset[Permission], those: frozenset[Permission]) -> bool:
    """Whether any of ``these`` is not covered by one of ``those``."""
    return any(not any(o.covers(p) for o in those) for p in these - those)


def _where(scope: str) -> str:
    return " cluster-wide" if scope == CLUSTER else f" in namespace {scope}"


def display_name(arn: str, username: str) -> str:
    """How people know a principal: its username, or for a role whose username is a template
    (``team-a:{{SessionName}}``) the role's name."""
    return arn.rsplit("/", 1)[-1] if "{{" in username else username


def new_stack_base(raw: Mapping[str, Any]) -> StackConfig:
    """What a stack new in a change is reviewed against: its own cluster settings with no team
    from anywhere (no teams, teams file or overrides), so everything it grants is gained."""
    kept = {k: v for k, v in raw.items() if k not in (core.TEAMS_FILE, core.OVERRIDES)}
    return core.load({**kept, f"{core.NAMESPACE}:teams": []})


def review_document(
    base: StackConfig,
    head: StackConfig,
    before: Sequence[operations.Registration] | None = None,
    after: Sequence[operations.Registration] | None = None,
    ops: Sequence[operations.Operation] | None = None,
    stops: Sequence[str] | None = None,
    ends: Sequence[expiring.EndChange] = (),
) -> ReviewDocument:
    """The review (`review.review`) with what people read first: each principal's change in
    words and the risky changes; given the two plans' resources (or the operations already
    computed from them), what `pulumi up` would do; given ``stops``, what would stop it; given
    ``ends`` (``expiring.end_changes``), the ends it moves and those near."""
    doc = replace(review.review(base, head), principals=tuple(principal_changes(base, head)))
    late = [f"{e.words()}: it grants nothing; give a later expires or drop the line"
            for e in ends if e.change == "added already ended"]  # fmt: skip
    doc = replace(doc, warnings=(*late, *warnings(doc, head)), ends=tuple(ends))
    if ops is None and before is not None and after is not None:
        ops = operations.compute(before, after)
    if ops is not None:
        doc = replace(
            doc,
            operations=tuple(o for o in ops if o.op != "same"),
            operation_counts=dict(sorted(operations.counts(ops).items())),
        )
    return doc if stops is None else replace(doc, stops=tuple(stops))


def principal_changes(base: StackConfig, head: StackConfig) -> list[PrincipalChange]:
    """One entry per principal whose identity or access changes: its teams, whether it is new
    or gone, and its changes in words, namespaces with the same change grouped."""
    old, new = authz.state_of(base), authz.state_of(head)
    keyless = {name for name, (user, _) in iam_users(head).items() if not user.keys}
    out = []
    for key in sorted(old.identities.keys() | new.identities.keys()):
        before, after = old.identities.get(key), new.identities.get(key)
        ident = after or before
        assert ident is not None
        was, now = _by_scope(old, before), _by_scope(new, after)
        grouped: dict[str, list[str]] = defaultdict(list)
        for scope in sorted(was.keys() | now.keys(), key=lambda s: (s != CLUSTER, s)):
            phrase = _change_in_words(
                was.get(scope, frozenset()), now.get(scope, frozenset()), scope
            )
            if phrase:
                grouped[phrase].append("cluster-wide" if scope == CLUSTER else scope)
        words = [f"{phrase} in {', '.join(scopes)}".replace(" in cluster-wide", " cluster-wide")
                 for phrase, scopes in grouped.items()]  # fmt: skip
        identity_changed = (
            before is not None
            and after is not None
            and (before.username, before.groups) != (after.username, after.groups)
        )
        if identity_changed:
            assert before is not None and after is not None
            groups = ", ".join(sorted(after.groups - {authz.AUTHENTICATED})) or "no group"
            words.append(f"is now {after.username} in {groups}")
        if not words and before is not None and after is not None:
            # the same permissions, through other grants: a path that outlives the other
            words += _paths(_granted_by(old, before), _granted_by(new, after))
        if not words and (before is None) == (after is None):
            continue
        if before is None and ":user/" in ident.arn and ident.arn.rsplit("/", 1)[-1] in keyless:
            words.append(NO_KEY)
        held_before = frozenset().union(*was.values())
        held_after = frozenset().union(*now.values())
        out.append(
            PrincipalChange(
                principal=ident.arn,
                username=ident.username,
                name=display_name(ident.arn, ident.username),
                teams=tuple(ident.teams),
                status="new" if before is None else "removed" if after is None else "changed",
                # by permission, a wider one covering a narrower (edit to view only loses)
                gains=before is None or _any_not_covered(held_after, held_before),
                loses=after is None or _any_not_covered(held_before, held_after),
                words=tuple(
                    words
                    or (["is no longer mapped"] if after is None else ["is mapped, with no access"])
                ),
            )
        )
    out += _cluster_changes(base, head, old, new)
    # grouped by team, then by name: a team's changes read together
    return sorted(out, key=lambda p: (p.teams[:1], p.name, p.principal))


NODES, ACCOUNTS = "(nodes)", "(mapped accounts)"
NO_KEY = "no access key: cannot log in until one is added (keys: [...])"


def _cluster_changes(
    base: StackConfig, head: StackConfig, old: authz.State, new: authz.State
) -> list[PrincipalChange]:
    """Node roles and mapped accounts that come or go: not team members, but a node role
    removed takes its nodes out of the cluster, and a mapped account lets every IAM user and
    role in it log in (as its ARN, in system:authenticated)."""
    out = []
    for key in sorted(old.nodes.keys() ^ new.nodes.keys()):
        gone = key not in new.nodes
        node = old.nodes[key] if gone else new.nodes[key]
        out.append(PrincipalChange(
            principal=node.arn.arn, username=node.username, name=node.arn.name,
            teams=(NODES,), status="removed" if gone else "new", gains=not gone, loses=gone,
            words=("node role removed: its nodes can no longer join the cluster" if gone
                   else "node role added: its nodes can join the cluster",),
        ))  # fmt: skip
    for key in sorted(old.nodes.keys() & new.nodes.keys()):
        before, after = old.nodes[key], new.nodes[key]
        if before.kind == after.kind:
            continue
        out.append(PrincipalChange(
            principal=after.arn.arn, username=after.username, name=after.arn.name,
            teams=(NODES,), status="changed", gains=False, loses=True,
            words=(f"node role moves from {before.source} to {after.source}: its nodes log "
                   f"in as {after.username} in {', '.join(after.groups) or 'no group'} (was "
                   f"{before.username}); an access entry's type cannot change, so it is "
                   "deleted and made again",),
        ))  # fmt: skip
    was, now = set(base.cluster.map_accounts), set(head.cluster.map_accounts)
    for account in sorted(was ^ now):
        gone = account not in now
        out.append(PrincipalChange(
            principal=account, username="", name=f"account {account}",
            teams=(ACCOUNTS,), status="removed" if gone else "new", gains=not gone, loses=gone,
            words=("is no longer mapped: its principals can no longer log in" if gone
                   else "is mapped: every IAM user and role in it can log in",),
        ))  # fmt: skip
    return out


def _granted_by(state: authz.State, ident: authz.Identity) -> set[str]:
    return {g.via for g in state.grants_for(ident) if not g.via.endswith("(built in)")}


_IN_NAMESPACE = re.compile(
    r"^(?P<what>.+) \(namespace (?P<ns>[^)]+)\)$"  # an access policy's association
    r"|^(?P<kind>RoleBinding) (?P<ns2>[^/]+)/(?P<rest>.+)$"
)


def _grouped(vias: set[str]) -> str:
    """Grants in words, one per grant with its namespaces together:
    "EKS access policy AmazonEKSEditPolicy in payments, payments-jobs"."""
    found: dict[str, list[str]] = defaultdict(list)
    for via in sorted(vias):
        m = _IN_NAMESPACE.match(via)
        if m and m["what"]:
            found[m["what"]].append(m["ns"])
        elif m:
            found[f"{m['kind']} {m['rest']}"].append(m["ns2"])
        else:
            found[via] = []
    return "; ".join(f"{w} in {', '.join(sorted(ns))}" if ns else w for w, ns in found.items())


def _paths(before: set[str], after: set[str]) -> list[str]:
    words = []
    if after - before and before - after:
        return [f"same access, now through {_grouped(after - before)} instead of "
                f"{_grouped(before - after)}"]  # fmt: skip
    if after - before:
        words.append(f"same access, now also through {_grouped(after - before)}")
    if before - after:
        words.append(f"same access, no longer through {_grouped(before - after)}")
    return words


RISKS = rules.RISKS
"""The risks of ``review.danger`` that get a warning line when gained, with their words."""


WARNING_NAMES = 10
"""Names on one warning line; the matrix and review.json name everyone."""


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:WARNING_NAMES])
    more = len(names) - WARNING_NAMES
    return f"{shown} and {more} more" if more > 0 else shown


def warnings(doc: ReviewDocument, head: StackConfig) -> list[str]:
    """One line per kind of risky change, naming who: gains only (losing is never risky)."""
    who: dict[str, set[str]] = defaultdict(set)
    for c in doc.rule_changes:
        if c.change == "gains" and c.risk in dict(RISKS):
            who[c.risk].add(display_name(c.principal, c.username))
    admins = [a.rsplit("/", 1)[-1] for a in doc.admins_gained]
    lines = [f"becomes cluster-admin: {_names(admins)}"] if admins else []
    cluster = [p for p in doc.principals if p.teams[:1] in ((NODES,), (ACCOUNTS,))]
    nodes = [p for p in cluster if p.teams == (NODES,) and p.loses]
    if gone := [p.name for p in nodes if p.status == "removed"]:
        lines.append(f"node role removed, its nodes leave the cluster: {_names(gone)}")
    if moved := [p.name for p in nodes if p.status == "changed"]:
        lines.append(
            f"node role moved to another node list (its nodes log in differently; its entry is "
            f"made again): {_names(moved)}"
        )
    if mapped := [p.name for p in cluster if p.teams == (ACCOUNTS,) and p.gains]:
        lines.append(f"every IAM user and role can log in from {_names(mapped)}")
    lines += [f"{label}: {_names(sorted(who[k]))}" for k, label in RISKS if who.get(k)]
    if head.acknowledge_lockout:
        lines.append(
            "eks-access:acknowledgeLockout is set: this stack may apply a config that maps nobody"
        )
    return lines
