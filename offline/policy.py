"""Run the CrossGuard pack (``policy/``) over an offline plan, the way the engine would.

The engine hands each policy every resource's inputs and, once, the whole stack; levels
and settings come from the pack config (``--policy-pack-config``), defaults from each
policy's schema. This lets `make plan` and the tests show the pack's verdict without the
Pulumi CLI.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from components import sdk_internals
from eks_access.operations import Registration
from offline.run import RunResult

PACK_DIR = Path(__file__).resolve().parent.parent / "policy"


def _load_pack() -> ModuleType:
    """The pack's module, from its file. The pack is not a package of this project: the Pulumi
    CLI runs ``policy/`` in a virtualenv of its own, where the module is imported by plain name."""
    spec = importlib.util.spec_from_file_location(
        "eks_access_policy", PACK_DIR / "eks_access_policy.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("eks_access_policy", module)
    spec.loader.exec_module(module)
    return sys.modules["eks_access_policy"]


pack = _load_pack()

PACK_NAME = pack.PACK_NAME


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    message: str
    resource: str | None

    def __str__(self) -> str:
        where = f" [{self.resource}]" if self.resource else ""
        return f"{self.level}: {self.policy}: {self.message}{where}"


def settings(
    policy: ResourceValidationPolicy | StackValidationPolicy, config: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The policy's enforcement level and settings, as the CLI resolves pack config."""
    level = (policy.enforcement_level or EnforcementLevel.MANDATORY).value
    if isinstance(config.get("all"), str):
        level = config["all"]
    values: dict[str, Any] = {}
    if policy.config_schema is not None:
        values = {
            k: v["default"] for k, v in policy.config_schema.properties.items() if "default" in v
        }
    own = config.get(policy.name)
    if isinstance(own, str):
        level = own
    elif isinstance(own, Mapping):
        level = str(own.get("enforcementLevel", level))
        values.update({k: v for k, v in own.items() if k != "enforcementLevel"})
    return level, values


def _as_engine(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    """Inputs as the analyzer hands them to policies: pulumi-policy's read-only proxies
    (Mapping and Sequence, not dict and list), which raise on values unknown in a preview."""
    return sdk_internals.policy_view(inputs)


def _options(r: Registration) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=bool(r.options.get("protect")),
        ignore_changes=list(r.options.get("ignoreChanges", [])),
        delete_before_replace=r.options.get("deleteBeforeReplace"),
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=list(r.options.get("additionalSecretOutputs", [])),
        parent=r.parent or None,
    )


def _about(
    report: Callable[[str, str | None], None], urn: str, message: str, other: str | None = None
) -> None:
    """A resource policy's report, attributed to the resource unless it names another."""
    report(message, other or urn)


def check(result: RunResult, config: Mapping[str, Any] | None = None) -> list[Violation]:
    """Every violation the pack reports on the registered resources (custom ones only)."""
    config = config or {}
    resources = [r for r in result.resources if r.custom]
    found: list[Violation] = []
    for policy in pack.POLICIES:
        level, values = settings(policy, config)
        if level == EnforcementLevel.DISABLED.value:
            continue

        def report(
            message: str, urn: str | None = None, _p: str = policy.name, _level: str = level
        ) -> None:
            found.append(Violation(_p, _level, message, urn))

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(
                    r.type, _as_engine(r.inputs), r.urn, r.name, _options(r), None, values
                )
                policy.validate(args, functools.partial(_about, report, r.urn))
        else:
            stack = [
                PolicyResource(
                    r.type, _as_engine(r.inputs), r.urn, r.name, _options(r), None, None, [], {}
                )
                for r in resources
            ]
            policy.validate(StackValidationArgs(stack, values), report)
    return found


def mandatory(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.level == EnforcementLevel.MANDATORY.value]
