"""The AWS stand-in's diff rules, derived from the providers' own facts (``upstream.yaml``).

Test infrastructure, never shipped. The offline plan reads ``eks_access/data/lifecycle.yaml``;
the stand-in must not, or a wrong row there could never fail ``make e2e-engine``. So each
pulumi-aws type's rule is derived here from what its sources say, as the bridge applies them:

- a Terraform argument with ``ForceNew`` is a replacement when it changes (pulumi-terraform-bridge
  turns RequiresNew into a ``*_REPLACE`` property diff), and a resource without an Update
  function replaces on any change;
- ``region`` (pulumi-aws v7, on the EKS types only) forces a new resource (terraform-provider-aws
  ``forceNewIfRegionChanges``);
- a ``TypeSet`` argument is compared as a set;
- an Optional+Computed argument left out of the inputs keeps the stored value (no change);
- a planned replacement deletes first when an auto-named input was set by the program (the
  bridge's ``nameRequiresDeleteBeforeReplace``).

Names are the bridge's: snake_case arguments in lowerCamelCase, nested ones dotted.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FACTS = Path(__file__).with_name("upstream.yaml")


@functools.cache
def facts() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(FACTS.read_text())
    return data


def camel(path: str) -> str:
    """``access_scope.namespaces`` -> ``accessScope.namespaces`` (the bridge's names)."""
    out = []
    for part in path.split("."):
        head, *rest = part.split("_")
        out.append(head + "".join(w[:1].upper() + w[1:] for w in rest))
    return ".".join(out)


def _source(token: str, row: dict[str, Any]) -> str:
    src = facts()["sources"]["terraform-provider-aws"]
    return f"{src['repo']}@{src['commit']} {row['file']} ({row['terraform']})"


@functools.cache
def rules() -> dict[str, dict[str, Any]]:
    """Every pulumi-aws type's rule, by type token, in lifecycle.yaml's terms (for the test
    that compares that file's rows with the facts): replaceOn, update, sets, computed,
    autoNamed, providerFilled."""
    auto_named = facts()["bridge"]["autoNamed"]
    out: dict[str, dict[str, Any]] = {}
    for token, row in facts()["terraform"].items():
        args: dict[str, dict[str, Any]] = row["arguments"]
        region = {"region"} if row["region"] else set()
        computed = {camel(a) for a, f in args.items() if f["optional"] and f["computed"]}
        out[token] = {
            "replaceOn": sorted({camel(a) for a, f in args.items() if f["forceNew"]} | region),
            "update": bool(row["update"]),
            "sets": sorted(camel(a) for a, f in args.items() if f["set"]),
            "computed": sorted(computed | region),
            "autoNamed": sorted(auto_named.get(token, ())),
            "providerFilled": sorted(region),
            "source": _source(token, row),
        }
    return out


# --- the stand-in's own diff ---------------------------------------------------------------------
# Written from the facts, sharing nothing with eks_access.lifecycle (whose model it checks): a
# Terraform-style comparison argument by argument, as the bridge presents it.


@dataclass(frozen=True)
class ProviderDiff:
    changed: tuple[str, ...]
    """Top-level inputs that differ."""
    replaces: tuple[str, ...]
    """Those whose change needs a new resource."""
    delete_before_replace: bool
    paths: tuple[tuple[str, bool], ...] = ()
    """Each differing property (nested ones dotted) and whether it forces a new resource."""


def _norm(value: Any, as_set: bool) -> Any:
    if as_set and isinstance(value, list):
        return sorted(json.dumps(v, sort_keys=True) for v in value)
    return value


def _arguments(token: str) -> dict[str, dict[str, Any]]:
    """The type's arguments by their bridge name (nested ones dotted), with ``region``."""
    row = facts()["terraform"][token]
    out = {camel(a): f for a, f in row["arguments"].items()}
    if row["region"]:  # pulumi-aws v7 (region.go); ForceNew except unset <-> the provider's
        out["region"] = {"forceNew": True, "optional": True, "computed": True, "set": False}
    return out


def provider_diff(
    token: str, olds: dict[str, Any], news: dict[str, Any], ignore_changes: list[str]
) -> ProviderDiff:
    """What pulumi-aws answers to a diff of ``token`` between these inputs, from the facts."""
    row = facts()["terraform"][token]
    args = _arguments(token)
    ignored = {i.split(".", 1)[0].split("[", 1)[0] for i in ignore_changes}
    keys = (set(olds) | set(news)) - {"__defaults"} - ignored
    changed, replaces, paths = [], [], []
    for key in sorted(keys):
        spec = args.get(key, {"forceNew": False, "optional": True, "computed": False})
        old, new = olds.get(key), news.get(key)
        if new in (None, [], {}) and spec.get("optional") and spec.get("computed"):
            continue  # Optional+Computed left out: the stored value stays
        if key == "region" and old in (None, ""):
            continue  # unset <-> the provider's region: no change (pulumi-aws fills it)
        nested = {a.split(".", 1)[1]: f for a, f in args.items() if a.startswith(key + ".")}
        if isinstance(old, dict) and isinstance(new, dict) and nested:
            differs = [
                k for k in set(old) | set(new)
                if _norm(old.get(k), nested.get(k, {}).get("set", False))
                != _norm(new.get(k), nested.get(k, {}).get("set", False))
            ]  # fmt: skip
            force = any(nested.get(k, {}).get("forceNew") for k in differs) or spec["forceNew"]
            paths += [
                (f"{key}.{k}", bool(nested.get(k, {}).get("forceNew") or not row["update"]))
                for k in sorted(differs)
            ]
        else:
            differs = [key] if _norm(old, spec.get("set", False)) != _norm(
                new, spec.get("set", False)
            ) else []  # fmt: skip
            force = spec["forceNew"]
            paths += [(key, bool(force or not row["update"]))] if differs else []
        if not differs:
            continue
        changed.append(key)
        if force or not row["update"]:
            replaces.append(key)
    # pulumi-terraform-bridge nameRequiresDeleteBeforeReplace: with a replacement planned, an
    # auto-named input present and not in __defaults; without a __defaults list, never.
    defaults = news.get("__defaults")
    named = [
        p for p in facts()["bridge"]["autoNamed"].get(token, ())
        if isinstance(defaults, list) and news.get(p) not in (None, "") and p not in defaults
    ]  # fmt: skip
    return ProviderDiff(
        tuple(changed), tuple(replaces), bool(replaces) and bool(named), tuple(paths)
    )
