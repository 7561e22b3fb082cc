"""The operations `pulumi up` would perform to go from one plan to the next.

Both plans are lists of :class:`Registration` (``plan.json``'s ``resources``: urn, type, name,
parent, custom, inputs, options, read from JSON at the edges); the old one stands for the
stack's state after the previous `pulumi up`. Each resource of the new plan is matched with its
old self (by URN, then by alias) and diffed with the rules of :mod:`eks_access.lifecycle`; what
the new plan no longer registers is deleted, or only dropped from the state when it was
registered with ``retainOnDelete``. Reads (a ``StackReference``) are not operations.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from eks_access import lifecycle

Op = Literal["create", "update", "replace", "delete", "same"]
ROOT_STACK = "pulumi:pulumi:Stack"
ORDER: dict[str, int] = {"replace": 0, "delete": 1, "create": 2, "update": 3, "same": 4}
SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " "}


@dataclass(frozen=True)
class Registration:
    """One resource the program registered: what `pulumi up` would be asked to create."""

    urn: str
    type: str
    name: str
    parent: str
    """The parent's URN, or "" (the root stack's children)."""
    custom: bool
    inputs: dict[str, Any]
    options: dict[str, Any]
    """The resource options as the engine gets them (camelCase keys, as in ``plan.json``)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "urn": self.urn,
            "parent": self.parent or None,
            "custom": self.custom,
            "inputs": self.inputs,
            "options": self.options,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Registration:
        return cls(
            urn=doc["urn"],
            type=doc["type"],
            name=doc["name"],
            parent=doc.get("parent") or "",
            custom=bool(doc.get("custom", True)),
            inputs=dict(doc.get("inputs") or {}),
            options=dict(doc.get("options") or {}),
        )


@dataclass(frozen=True)
class Operation:
    """What the engine does to one resource."""

    urn: str
    type: str
    name: str
    op: Op
    diffs: tuple[str, ...] = ()
    replace_keys: tuple[str, ...] = ()
    delete_before_replace: bool = False
    retained: bool = False
    old_urn: str | None = None
    """The URN in the old state, when the resource was found there by an alias."""
    why: str | None = None
    """A word on a replacement forced by something other than an input (trigger, dependency)."""
    step: int = 0
    """When the engine runs it: the program's resources in the order they are registered
    (dependencies first: creates, updates, replacements), then deletes, dependents first."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "op": self.op,
            "diffs": list(self.diffs),
            "replaceKeys": list(self.replace_keys),
            "deleteBeforeReplace": self.delete_before_replace,
            "retained": self.retained,
            "step": self.step,
        }
        if self.old_urn:
            out["oldUrn"] = self.old_urn
        if self.why:
            out["why"] = self.why
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Operation:
        return cls(
            urn=doc["urn"],
            type=doc["type"],
            name=doc["name"],
            op=doc["op"],
            diffs=tuple(doc.get("diffs") or ()),
            replace_keys=tuple(doc.get("replaceKeys") or ()),
            delete_before_replace=bool(doc.get("deleteBeforeReplace")),
            retained=bool(doc.get("retained")),
            old_urn=doc.get("oldUrn"),
            why=doc.get("why"),
            step=int(doc.get("step", 0)),
        )


def qualified_type(urn: str) -> str:
    return urn.split("::")[2]


def urn_name(urn: str) -> str:
    return urn.split("::", 3)[3]


def make_urn(stack: str, project: str, parent: str | None, type_: str, name: str) -> str:
    """A URN as the engine builds it: the parent's qualified type chain, minus the root stack."""
    qualified = type_
    if parent and qualified_type(parent) != ROOT_STACK:
        qualified = f"{qualified_type(parent)}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def _stack_and_project(urn: str) -> tuple[str, str]:
    head = urn.removeprefix("urn:pulumi:").split("::")
    return head[0], head[1]


def _alias_urns(
    reg: Registration, matched_parent: str | None, stack: str, project: str
) -> list[str]:
    """Old URNs the resource may be known by: its own aliases, then the one inherited from the
    alias its parent was matched by (the engine's ``generateAliases``)."""
    out: list[str] = []
    parent = reg.parent or None
    for alias in reg.options.get("aliases") or []:
        if isinstance(alias, str):
            out.append(alias)
            continue
        spec = alias.get("spec", alias)
        if "urn" in spec:
            out.append(spec["urn"])
            continue
        alias_parent = spec.get("parentUrn") or parent
        if spec.get("noParent"):
            alias_parent = None
        out.append(
            make_urn(
                spec.get("stack") or stack,
                spec.get("project") or project,
                alias_parent,
                spec.get("type") or reg.type,
                spec.get("name") or reg.name,
            )
        )
    if parent and matched_parent:
        name = reg.name
        parent_name = urn_name(parent)
        if name.startswith(parent_name):
            name = urn_name(matched_parent) + name[len(parent_name) :]
        out.append(make_urn(stack, project, matched_parent, reg.type, name))
    return list(dict.fromkeys(out))


def _deps(reg: Registration) -> dict[str, list[str]]:
    return dict(reg.options.get("propertyDependencies") or {})


def compute(old: Sequence[Registration], new: Sequence[Registration]) -> list[Operation]:
    """Every resource's operation going from ``old`` (the state) to ``new`` (the program).

    ``new`` must be in registration order (parents before children), as the program ran.
    """
    olds = {r.urn: r for r in old if not r.options.get("read")}
    news = [r for r in new if not r.options.get("read")]
    claimed: dict[str, str] = {}  # old URN -> new URN
    matched_by_alias: dict[str, str] = {}  # new URN -> old URN it was found by
    ops: dict[str, Operation] = {}
    for reg in news:
        urn = reg.urn
        stack, project = _stack_and_project(urn)
        found = urn if urn in olds else None
        if found is None:
            parent_old = matched_by_alias.get(reg.parent)
            for alias in _alias_urns(reg, parent_old, stack, project):
                if alias in olds and alias not in claimed:
                    found = alias
                    matched_by_alias[urn] = alias
                    break
        if found is None:
            ops[urn] = Operation(urn, reg.type, reg.name, "create")
            continue
        claimed[found] = urn
        ops[urn] = _compare(olds[found], reg)
        if found != urn:
            ops[urn] = replace(ops[urn], old_urn=found)
    _provider_replacements(ops, news)
    _dependent_replacements(ops, olds, claimed)
    by_urn = {r.urn: r for r in news}
    # dependencies first: the reverse of "dependents first" over the new program's graph
    for step, urn in enumerate(reversed(_dependents_first(list(by_urn), by_urn))):
        ops[urn] = replace(ops[urn], step=step)
    gone = [urn for urn in olds if urn not in claimed]
    early = _deleted_with_replacements(gone, ops, olds, claimed)
    for step, urn in enumerate(_dependents_first(gone, olds), start=len(news)):
        reg = olds[urn]
        ops[urn] = Operation(
            urn,
            reg.type,
            reg.name,
            "delete",
            retained=bool(reg.options.get("retainOnDelete")),
            why=DELETED_EARLY if urn in early else None,
            step=step,
        )
    if early:
        _run_early(ops, early, claimed)
    return sorted(ops.values(), key=lambda o: o.urn)


DELETED_EARLY = "deleted first, before a resource it depends on is replaced (delete first)"
"""The ``why`` of a delete the engine runs early: a resource leaving the program that takes an
input from a delete-first replacement, which must go before that resource is deleted (the
engine's ``calculateDependentReplacements`` gives it a delete-replaced step with no
replacement), not at the end of the update."""


def _deleted_with_replacements(
    gone: Sequence[str],
    ops: Mapping[str, Operation],
    olds: Mapping[str, Registration],
    claimed: Mapping[str, str],
) -> dict[str, set[str]]:
    """Resources leaving the program whose inputs come from a delete-first replacement, or from
    a resource so deleted, and would force their own replacement: the engine deletes them
    before it, as its dependents (transitively, as ``calculateDependentReplacements`` walks
    them). Each with the old URNs it waits on."""
    replaced = _replaced_first(ops, claimed)
    early: dict[str, set[str]] = {}
    changed = True
    while changed:
        changed = False
        for urn in gone:
            reg = olds[urn]
            if urn in early or not reg.custom:
                continue
            rule = lifecycle.rule(reg.type, True)
            on = {
                d
                for prop, deps in _deps(reg).items()
                if rule.forces_replacement(prop)
                for d in deps
                if d in replaced or d in early
            }
            if on:
                early[urn] = on
                changed = True
    return early


def _run_early(
    ops: dict[str, Operation], early: Mapping[str, set[str]], claimed: Mapping[str, str]
) -> None:
    """Steps renumbered so that each early delete runs just before what it waits on (the
    replacement it depends on, or another early delete): dependents first."""
    new_of = {**claimed, **{u: u for u in early}}
    ranked = sorted(ops.values(), key=lambda o: (o.step, o.urn))
    order = [o.urn for o in ranked if o.urn not in early]
    pending = dict(early)
    while pending:  # what it waits on placed first, so that it can go before it
        free = [u for u, on in pending.items() if not on & pending.keys()] or list(pending)
        urn = min(free)
        waits = [new_of[d] for d in pending.pop(urn) if new_of.get(d) in order]
        order.insert(min((order.index(w) for w in waits), default=len(order)), urn)
    for step, urn in enumerate(order):
        ops[urn] = replace(ops[urn], step=step)


def _dependents_first(urns: Sequence[str], olds: Mapping[str, Registration]) -> list[str]:
    """``urns`` in the order the engine deletes them: a resource after everything that depends
    on it (its children, whatever names it in dependsOn or takes one of its outputs), ties by
    URN (the SDK's registration order varies between runs; this does not)."""
    wanted = set(urns)
    waiting: dict[str, int] = dict.fromkeys(urns, 0)  # u -> dependents not yet placed
    unblocks: dict[str, list[str]] = {u: [] for u in urns}  # u -> what u was holding back
    for u in urns:
        reg = olds[u]
        property_deps = reg.options.get("propertyDependencies", {}).values()
        named = {reg.parent, *reg.options.get("dependsOn", [])}
        for dep in named.union(*property_deps):
            if dep in wanted and dep != u:
                waiting[dep] += 1  # u depends on dep: u goes first
                unblocks[u].append(dep)
    ready = [u for u in urns if not waiting[u]]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        u = heapq.heappop(ready)
        out.append(u)
        for dep in unblocks[u]:
            waiting[dep] -= 1
            if not waiting[dep]:
                heapq.heappush(ready, dep)
    return out + sorted(wanted - set(out))  # a cycle cannot happen; kept whole if it did


def _compare(old: Registration, new: Registration) -> Operation:
    rule = lifecycle.rule(new.type, new.custom)
    options = new.options
    old_inputs, new_inputs = old.inputs, new.inputs
    paths = lifecycle.changes(rule, old_inputs, new_inputs, options.get("ignoreChanges") or [])
    same = Operation(new.urn, new.type, new.name, "same", diffs=tuple(paths))
    if not new.custom:
        return replace(same, op="update") if paths else same
    forced = [p for p in paths if rule.forces(p, old_inputs, new_inputs)]
    forced += [
        p
        for p in paths
        if p not in forced
        and any(lifecycle.within(p, k) for k in options.get("replaceOnChanges") or [])
    ]
    # The engine's shouldTriggerReplace: a null on either side is "no trigger".
    before, after = old.options.get("replacementTrigger"), options.get("replacementTrigger")
    trigger_changed = before is not None and after is not None and before != after
    if forced or trigger_changed:
        return replace(
            same,
            op="replace",
            replace_keys=tuple(forced),
            why="replacementTrigger changed" if trigger_changed and not forced else None,
            # the provider asks for delete-first only when its own diff replaces (not a trigger)
            delete_before_replace=bool(options.get("deleteBeforeReplace"))
            or (bool(forced) and rule.deletes_first(new_inputs, paths)),
        )
    return replace(same, op="update") if paths else same


PROVIDER_KEY = "provider"


def _provider_replacements(ops: dict[str, Operation], news: Sequence[Registration]) -> None:
    """A resource whose explicit provider is replaced is replaced too, create-first unless its
    own options say otherwise: the engine's ``providerChanged`` (pulumi/pulumi
    pkg/resource/deploy/step_generator.go) answers the diff with the replace key ``provider``
    without asking the provider, so the provider's own delete-before-replace never applies."""
    replaced = {urn for urn, op in ops.items() if op.op == "replace" and "providers:" in urn}
    for reg in news:
        ref = reg.options.get("provider") or ""
        op = ops[reg.urn]
        if ref.rsplit("::", 1)[0] in replaced and op.op != "create":
            ops[reg.urn] = replace(
                op,
                op="replace",
                replace_keys=(PROVIDER_KEY,),  # the engine's providerChanged: this key alone
                delete_before_replace=bool(reg.options.get("deleteBeforeReplace")),
                why=op.why or "its provider is replaced (another cluster)",
            )


def _replaced_first(ops: Mapping[str, Operation], claimed: Mapping[str, str]) -> set[str]:
    """The old URNs of the delete-before-replace replacements."""
    return {
        old
        for old, new in claimed.items()
        if ops[new].op == "replace" and ops[new].delete_before_replace
    }


def _dependent_replacements(
    ops: dict[str, Operation], olds: Mapping[str, Registration], claimed: Mapping[str, str]
) -> None:
    """Dependents of a delete-before-replace replacement whose inputs come from it and would
    force their own replacement are replaced too (the engine deletes them first). The engine
    names the dependency's properties as the replace keys, even for a resource its own diff
    replaces too (``calculateDependentReplacements``: its keys are used for the dependent)."""
    replaced_old = _replaced_first(ops, claimed)
    dependent: set[str] = set()
    changed = True
    while changed:
        changed = False
        for old_urn, new_urn in claimed.items():
            op = ops[new_urn]
            reg = olds[old_urn]
            if old_urn in dependent or not reg.custom:
                continue
            rule = lifecycle.rule(reg.type, True)
            hit = sorted(
                prop
                for prop, deps in _deps(reg).items()
                if set(deps) & (replaced_old - {old_urn}) and rule.forces_replacement(prop)
            )
            if hit:
                ops[new_urn] = replace(
                    op,
                    op="replace",
                    delete_before_replace=True,
                    replace_keys=tuple(hit),
                    why=op.why or "a resource it depends on is deleted before it is replaced",
                )
                replaced_old.add(old_urn)
                dependent.add(old_urn)
                changed = True


def counts(ops: Sequence[Operation]) -> Counter[str]:
    return Counter(o.op for o in ops)


def summary(ops: Sequence[Operation], stack: str) -> str:
    """The operations as `pulumi preview --diff` lays them out: the changes, riskiest first,
    each with what forced it, then the counts."""
    changes = sorted((o for o in ops if o.op != "same"), key=lambda o: (ORDER[o.op], o.type, o.urn))
    lines = [f"Previewing update ({stack}), offline against the base plan:", ""]
    if changes:
        width = max(len(o.type) for o in changes)
        for o in changes:
            info = []
            if o.op == "replace":
                what = ", ".join(o.replace_keys) or o.why or ""
                info.append(f"[replace: {what}]")
                info.append(
                    "delete before replace" if o.delete_before_replace else "create before delete"
                )
            elif o.op == "update":
                info.append(f"[diff: ~{', ~'.join(o.diffs)}]")
            elif o.op == "delete" and o.retained:
                info.append("[retain: leaves the state, kept in the cluster or account]")
            if o.old_urn:
                info.append(f"(was {urn_name(o.old_urn)}, found by alias)")
            row = f" {SYMBOL[o.op]:<2} {o.type:<{width}}  {o.name:<40} {o.op:<8} {' '.join(info)}"
            lines.append(row.rstrip())
        lines.append("")
    c = counts(ops)
    lines.append("Resources:")
    for op, label in (
        ("create", "to create"),
        ("update", "to update"),
        ("replace", "to replace"),
        ("delete", "to delete"),
    ):
        if c[op]:
            retained = sum(1 for o in ops if o.op == "delete" and o.retained)
            extra = f" ({retained} retained)" if op == "delete" and retained else ""
            lines.append(f"    {SYMBOL[op]}{'' if op == 'replace' else ' '}{c[op]} {label}{extra}")
    changed = sum(c[o] for o in ("create", "update", "replace", "delete"))
    lines.append(f"    {changed} changes. {c['same']} unchanged")
    return "\n".join(lines)


def to_json(ops: Sequence[Operation]) -> dict[str, Any]:
    return {"operations": [o.to_json() for o in sorted(ops, key=lambda o: o.urn)]}
