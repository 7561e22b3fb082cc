"""What `pulumi up` does to a resource that already exists: update, replace, or leave it alone.

Pulumi's mock runtime only registers resources; it never diffs them. This module holds the rest,
as data: per resource type, which input changes force a replacement and how the provider asks
for it (``data/lifecycle.yaml``, each row with its source), and the engine's own rules, which
:mod:`eks_access.operations` applies to two plans:

- A resource is found in the old state by its URN, then by its aliases (explicit ones, and the
  one its parent was found by, with the parent's name prefix swapped as the engine does:
  pulumi/pulumi pkg/resource/deploy/step_generator.go ``generateAliases`` and
  ``inheritedChildAlias``). A change of name, type or parent without an alias is a delete of
  the old resource and a create of a new one.
- Changed inputs under ``ignoreChanges`` are not changes. A changed ``replacementTrigger``, or a
  changed input listed in ``replaceOnChanges``, replaces.
- A replacement creates the new resource before deleting the old one, unless the resource has
  ``deleteBeforeReplace`` or its provider asks for it (``step_generator.go`` ``generateSteps``).
  With delete-before-replace, every dependent whose inputs come from the replaced resource and
  would force its own replacement is replaced too, first (``calculateDependentReplacements``).
- A resource that leaves the program is deleted at the end of the update; with
  ``retainOnDelete`` (as registered before) it only leaves the state.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class TypeRule:
    """How one resource type's provider diffs it (a row of ``data/lifecycle.yaml``)."""

    type: str
    replace_on: tuple[str, ...] = ()
    update: bool = True
    sets: tuple[str, ...] = ()
    delete_before_replace_same_name: bool = False
    remote: bool = False
    source: str = ""
    computed: tuple[str, ...] = ()
    """Optional inputs the provider also computes: leaving one out keeps the stored value
    (Terraform's Optional+Computed), so removing it is no change at all."""
    auto_named: tuple[str, ...] = ()
    """Inputs the bridge auto-names: when the program sets one and the resource is replaced,
    the replacement deletes first (it would collide with the old name)."""
    provider_filled: tuple[str, ...] = ()
    """Inputs the provider fills from its own configuration when unset (pulumi-aws v7's
    ``region``): a side without one held the provider's value, which is no change."""
    onboarding: tuple[str, ...] = ()
    """Replace-forcing inputs whose adding or removing is an update; only a changed value
    replaces (pulumi-kubernetes' ``clusterIdentifier``)."""

    def forces(self, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        """Whether the change at ``path`` between these inputs needs a new resource."""
        if not self.forces_replacement(path):
            return False
        return not any(
            within(path, p) and (old.get(p) in (None, "") or new.get(p) in (None, ""))
            for p in self.onboarding
        )

    def deletes_first(self, new_inputs: Mapping[str, Any], paths: Sequence[str]) -> bool:
        """Whether the provider asks a replacement to delete first: pulumi-kubernetes when the
        name is kept; the bridge when an auto-named input is set explicitly."""
        if self.delete_before_replace_same_name:
            return not {"metadata.name", "metadata.namespace"} & set(paths)
        defaulted = new_inputs.get("__defaults") or ()  # what the bridge named itself
        return any(
            new_inputs.get(p) not in (None, "") and p not in defaulted for p in self.auto_named
        )

    def forces_replacement(self, path: str) -> bool:
        """Whether a change at ``path`` (a property path) needs a new resource."""
        return not self.update or any(within(path, p) for p in self.replace_on)


COMPONENT = TypeRule("component", source="ComponentResource: no provider, inputs compared whole")


@functools.cache
def model() -> dict[str, TypeRule]:
    """Every resource type the program registers, by type token. ``EKS_ACCESS_LIFECYCLE`` names
    another copy of the file (the e2e control flips a row in one, for every process)."""
    other = os.environ.get("EKS_ACCESS_LIFECYCLE")
    text = (
        Path(other).read_text()
        if other
        else resources.files("eks_access").joinpath("data/lifecycle.yaml").read_text()
    )
    rows: dict[str, Any] = yaml.safe_load(text)["types"]
    return {
        token: TypeRule(
            token,
            tuple(row.get("replaceOn") or ()),
            bool(row.get("update", True)),
            tuple(row.get("sets") or ()),
            row.get("deleteBeforeReplace") == "same-name",
            bool(row.get("remote", False)),
            str(row["source"]).strip(),
            tuple(row.get("computed") or ()),
            tuple(row.get("autoNamed") or ()),
            tuple(row.get("providerFilled") or ()),
            tuple(row.get("onboarding") or ()),
        )
        for token, row in rows.items()
    }


class UnknownTypeError(KeyError):
    """The program registered a resource type the lifecycle model has no row for."""


def rule(type_: str, custom: bool) -> TypeRule:
    """The rule for a registered resource; components need no row (they have no provider)."""
    if not custom and type_ not in model():
        return COMPONENT
    try:
        return model()[type_]
    except KeyError:
        raise UnknownTypeError(
            f"{type_}: no row in eks_access/data/lifecycle.yaml; add what its provider replaces"
        ) from None


# --- property paths, as Pulumi spells them in a detailed diff ------------------------------------


def _key(path: str, key: str) -> str:
    simple = key.replace("_", "").replace("-", "").isalnum() and not key[:1].isdigit()
    if simple and "." not in key:
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def within(path: str, prefix: str) -> bool:
    """``accessScope.namespaces[0]`` is within ``accessScope`` (whole segments only)."""
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def diff(old: Any, new: Any, sets: Sequence[str] = (), path: str = "") -> list[str]:
    """The property paths where ``new`` differs from ``old`` (inputs as registered).

    Lists at a path in ``sets`` are compared as sets, as the provider compares them.
    """
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[str] = []
        for k in sorted(set(old) | set(new)):
            sub = _key(path, str(k))
            if k not in old or k not in new:
                out.append(sub)
            else:
                out += diff(old[k], new[k], sets, sub)
        return out
    if isinstance(old, list) and isinstance(new, list):
        if path in sets:
            return [] if _canon_set(old) == _canon_set(new) else [path]
        if len(old) != len(new):
            return [path]
        return [
            p
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for p in diff(a, b, sets, f"{path}[{i}]")
        ]
    return [] if old == new else [path or "(all)"]


def _canon_set(items: Iterable[Any]) -> list[str]:
    return sorted(json.dumps(i, sort_keys=True) for i in items)


def changes(
    rule: TypeRule, old: Mapping[str, Any], new: Mapping[str, Any], ignore_changes: Sequence[str]
) -> list[str]:
    """The paths the provider sees change: ``diff``, less ``ignoreChanges``, less computed
    inputs the new inputs leave out (the provider keeps the stored value; nothing changes)."""
    paths = without_ignored(diff(old, new, rule.sets), ignore_changes)
    left_out = {c for c in rule.computed if new.get(c) in (None, [], {})}
    left_out |= {f for f in rule.provider_filled if old.get(f) in (None, "")}
    return [p for p in paths if not any(within(p, c) for c in left_out)]


def without_ignored(paths: Iterable[str], ignore_changes: Sequence[str]) -> list[str]:
    """Paths not covered by ``ignoreChanges`` (which names inputs in the same spelling)."""
    return [p for p in paths if not any(within(p, i) for i in ignore_changes)]
