"""Reads stack config from the Pulumi runtime and validates it with the core's model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from components import sdk_internals
from eks_access import clock, expiring, stackfile
from eks_access import config as core


def raw_stack_config() -> dict[str, Any]:
    """Every config value of the stack, structured values decoded, keyed as in the stack file.

    The SDK has no public call that lists config keys, and without the full list a misspelt
    key (``eks-access:teamz``) would be silently ignored; so this reads the runtime's map.
    """
    return {k: stackfile.program_value(v) for k, v in sdk_internals.stack_config().items()}


def read_stack_config() -> core.StackConfig | core.IdentityConfig:
    """The validated config (an identity owner stack's, or a cluster stack's); on mistakes,
    stop the program before any resource is registered.

    ``eks-access:teamsFile`` is read relative to the working directory, which the Pulumi CLI
    sets to the project folder.
    """
    try:
        raw = stackfile.with_teams_file(raw_stack_config(), Path.cwd())
        identity = raw.get(core.IDENTITY)
        if isinstance(identity, dict) and identity.get("mode") == "owner":
            return core.load_identity(raw)
        written = core.load_as_written(raw)
    except core.ConfigError as e:
        lines = "\n".join(f"  {p}" for p in e.problems)
        # RunError ends the program with this message and no stack trace.
        raise pulumi.RunError(f"invalid stack config ({e.count}):\n{lines}") from None
    at = clock.now()
    for ended in expiring.ended(written, at):  # in `pulumi preview`'s diagnostics
        pulumi.log.warn(ended.warning)
    return core.in_effect(written, at)


def stop(problems: list[str]) -> None:
    """End the program cleanly (no stack trace) when a check found problems."""
    if problems:
        raise pulumi.RunError("\n".join(problems))
