"""Reading `Pulumi.<stack>.yaml` directly, for the commands that run without the Pulumi CLI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eks_access import config as core


class StackFileError(ValueError):
    """The stack file itself cannot be read."""


@dataclass(frozen=True)
class StackFile:
    path: Path
    project_dir: Path
    project: str
    stack: str
    raw: dict[str, Any]

    def load(self) -> core.StackConfig:
        return core.load(self.raw)


def read(path: str | Path) -> StackFile:
    """Read a stack file and its project's `Pulumi.yaml` (searched upwards from it)."""
    path = Path(path).resolve()
    name = path.name
    if not (name.startswith("Pulumi.") and name.endswith((".yaml", ".yml"))) or name.count(".") < 2:
        raise StackFileError(f"{path}: a stack file is named Pulumi.<stack>.yaml")
    stack = name[len("Pulumi.") :].rsplit(".", 1)[0]
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise StackFileError(f"{path}: cannot be read: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise StackFileError(f"{path}: expected a mapping with a 'config' mapping inside")
    project_dir = next(
        (d for d in (path.parent, *path.parent.parents) if (d / "Pulumi.yaml").is_file()), None
    )
    if project_dir is None:
        raise StackFileError(f"{path}: no Pulumi.yaml in its folder or above")
    project_doc = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
    return StackFile(
        path, project_dir, str(project_doc.get("name", "")), stack, dict(doc.get("config") or {})
    )
