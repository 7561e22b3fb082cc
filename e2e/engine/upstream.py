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
from pathlib import Path
from typing import Any

import yaml

from eks_access.lifecycle import TypeRule

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
def rules() -> dict[str, TypeRule]:
    """Every pulumi-aws type's rule, by type token, as its upstream facts give it."""
    auto_named = facts()["bridge"]["autoNamed"]
    out: dict[str, TypeRule] = {}
    for token, row in facts()["terraform"].items():
        args: dict[str, dict[str, Any]] = row["arguments"]
        region = {"region"} if row["region"] else set()
        force_new = {camel(a) for a, f in args.items() if f["forceNew"]} | region
        computed = {camel(a) for a, f in args.items() if f["optional"] and f["computed"]}
        out[token] = TypeRule(
            token,
            replace_on=tuple(sorted(force_new)),
            update=bool(row["update"]),
            sets=tuple(sorted(camel(a) for a, f in args.items() if f["set"])),
            source=_source(token, row),
            computed=tuple(sorted(computed | region)),
            auto_named=tuple(auto_named.get(token, ())),
        )
    return out


def rule(token: str) -> TypeRule | None:
    """The derived rule of a pulumi-aws type; None for a type the facts do not cover."""
    return rules().get(token)
