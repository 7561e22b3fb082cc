"""Reading `Pulumi.<stack>.yaml` directly, for the commands that run without the Pulumi CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eks_access import config as core
from eks_access import esc


class StackFileError(ValueError):
    """The stack file itself cannot be read."""


class _StackLoader(yaml.SafeLoader):
    """PyYAML's safe loader, read the way the Pulumi CLI (Go yaml.v3) reads stack files.

    PyYAML implements YAML 1.1, where ``no``, ``on`` and ``2026-12-01`` are a boolean and a
    date; yaml.v3 gives the CLI the strings. Without this, a user named ``no`` or a key label
    written as a date would plan differently offline than in `pulumi up`. Duplicate keys,
    which PyYAML silently resolves to the last one (dropping, say, a team's first ``users``
    list), are an error, as in the CLI. PyYAML has no switch for either, hence this subclass.
    """


_StackLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag
        not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# Integers without YAML 1.1's base-60 form (``1:20`` is 80 there, a string for the CLI).
_StackLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0[0-7_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+)$"),
    list("-+0123456789"),
)
_StackLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _mapping_without_duplicates(loader: _StackLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    """A mapping whose own keys are unique. Merge keys (``<<: *base``), which the CLI's yaml.v3
    reads, are PyYAML's to apply: the keys they bring in may be overridden by the mapping's own
    keys, as in yaml.v3; only keys written twice in the mapping itself are an error."""
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                f"key {key!r} first defined", seen[key].start_mark,
                "and defined again; remove one", key_node.start_mark,
            )  # fmt: skip
        seen[key] = key_node
    loader.flatten_mapping(node)
    return loader.construct_mapping(node, deep=True)


_StackLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _mapping_without_duplicates,
)


class _EscLoader(_StackLoader):
    """An ESC environment file, read as ESC reads it: its YAML decoder refuses aliases ("alias
    nodes are not supported"), so ``*x`` and ``<<: *x`` are errors here too."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "alias nodes are not supported in ESC", event.start_mark
            )
        return super().compose_node(parent, index)


def esc_document(text: str) -> Any:
    """An ESC environment file's text, parsed as ESC parses it (see _EscLoader)."""
    return yaml.load(text, Loader=_EscLoader)


MAX_TEAMS_FILE = 16 * 2**20


def program_value(value: Any) -> Any:
    """A top-level config value as the program reads it (``components/stack_config``): the
    Pulumi CLI hands a scalar over as its text and an object or list as JSON, and the program
    decodes whatever text is JSON. So ``teamsFile: "0"`` and ``teamsFile: 0`` are both the
    number 0 to it; the offline plan reads the same, through this one function."""
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        return json.loads(text)
    except ValueError:
        return text


def _namespaced(key: str, project: str) -> str:
    """A config key as the CLI files it: ``teams`` is the project's, ``eks-access:teams``."""
    return key if ":" in key or not project else f"{project}:{key}"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch, as the CLI merges an environment's value (``target``) under
    the stack file's (``patch``): objects key by key, ``null`` removes a key, else the patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def cli_text(value: Any) -> str:
    """What the CLI hands the program for a config value (``raw`` holds it decoded, as the
    program reads it): text that decodes back to exactly ``value``."""
    if isinstance(value, str) and program_value(value) == value:
        return value
    return json.dumps(value)


def with_teams_file(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Config with ``eks-access:teamsFile`` read (relative to ``base``) and overrides applied.

    The file holds ``teams: [...]`` in the stack config's own format; every stack that names
    it shares those teams. Raises ``ConfigError`` naming the key on a missing or bad file.
    """
    name = raw.get(core.TEAMS_FILE)
    if name is None:
        return raw
    if not isinstance(name, str) or not name:
        raise core.ConfigError([core.Problem(core.TEAMS_FILE, "expected a file path")])
    try:
        path = (base / name).resolve()
        inside = path.is_relative_to(base.resolve()) and path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte...
        inside = False
    if not inside:
        raise core.ConfigError(
            [core.Problem(core.TEAMS_FILE, f"{name}: not a file inside the project folder {base}")]
        )
    if path.stat().st_size > MAX_TEAMS_FILE:
        raise core.ConfigError(
            [core.Problem(core.TEAMS_FILE, f"{name}: over {MAX_TEAMS_FILE // 2**20} MiB")]
        )
    try:
        doc = yaml.load(path.read_text(), Loader=_StackLoader) or {}
    except (OSError, yaml.YAMLError) as e:
        raise core.ConfigError(
            [core.Problem(core.TEAMS_FILE, f"{name}: cannot be read ({e.__class__.__name__}: {e})")]
        ) from None
    teams = doc.get("teams") if isinstance(doc, dict) else None
    if not isinstance(teams, list):
        raise core.ConfigError(
            [core.Problem(core.TEAMS_FILE, f"{name}: expected a mapping with a 'teams' list")]
        )
    if extra := sorted(str(k) for k in doc if k != "teams"):
        # Nothing but teams is read from a teams file: a key there would be silently ignored.
        raise core.ConfigError(
            [
                core.Problem(
                    core.TEAMS_FILE,
                    f"{name}: unknown top-level key(s) {', '.join(extra)}; a teams file holds "
                    "only 'teams' (other settings go in the stack file)",
                )
            ]
        )
    merged, problems = core.merge_teams(raw, teams, f"{core.TEAMS_FILE} {name}")
    if problems:
        raise core.ConfigError(problems)
    return merged


def _environments(
    doc: dict[str, Any], project_dir: Path, where: str
) -> tuple[esc.Resolved, list[str]]:
    """``pulumiConfig`` of the stack's ESC environment, resolved offline (:mod:`eks_access.esc`),
    and the files it was read from.

    The Pulumi CLI opens ``environment:`` in Pulumi ESC. Offline there is no ESC, so each
    imported environment is read from ``esc/<name>.yaml`` in the project: the same definition
    that `esc env edit <org>/<name> --file esc/<name>.yaml` publishes.
    """
    files: list[str] = []

    def load(name: str) -> tuple[str, Any] | None:
        file = project_dir / "esc" / f"{name.rsplit('/', 1)[-1]}.yaml"
        if not file.is_file():
            return None
        shown = str(file.relative_to(project_dir))
        try:
            decl = esc_document(file.read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as e:
            raise StackFileError(
                f"{where}: environment {name!r} is resolved offline from {shown}, which cannot "
                f"be read ({e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''})"
            ) from None
        files.append(shown)
        return shown, decl

    try:
        resolved = esc.resolve(doc.get("environment"), load, where)
    except esc.EscError as e:
        raise StackFileError(f"{where}: {e}") from None
    return resolved, files


def parse(text: str, where: str) -> dict[str, Any]:
    """The ``config`` mapping of a stack file's text; ``where`` names it in errors."""
    return dict(_document(text, where)["config"])


def _document(text: str, where: str) -> dict[str, Any]:
    """The whole stack file (``config``, ``environment``), checked."""
    try:
        doc = yaml.load(text, Loader=_StackLoader) or {}
    except (yaml.YAMLError, RecursionError) as e:
        raise StackFileError(f"{where}: cannot be read: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise StackFileError(f"{where}: expected a mapping with a 'config' mapping inside")
    doc["config"] = dict(doc.get("config") or {})
    if bad := _not_json(doc["config"], "config"):
        raise StackFileError(f"{where}: {bad}")
    return doc


def _not_json(value: Any, path: str) -> str | None:
    """Where the value holds something stack config cannot carry (config reaches the program as
    JSON): binary, or a mapping key that is not a string."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{path}: key {k!r} is not a string; quote it"
            if bad := _not_json(v, f"{path}.{k}"):
                return bad
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if bad := _not_json(v, f"{path}[{i}]"):
                return bad
    elif not isinstance(value, (str, int, float, bool)) and value is not None:
        return f"{path}: a {type(value).__name__} value cannot be stack config; write text"
    return None


@dataclass(frozen=True)
class StackFile:
    path: Path
    project_dir: Path
    project: str
    stack: str
    raw: dict[str, Any]
    sources: tuple[str, ...] = ()
    """Files (relative to the project) this stack's config is read from."""
    secret_keys: frozenset[str] = frozenset()
    """Keys whose value is an ESC secret: handed to the program as secrets."""

    def load(self) -> core.StackConfig:
        return core.load(with_teams_file(self.raw, self.project_dir))

    def load_as_written(self) -> core.StackConfig:
        """Every grant, ended or not (``core.load_as_written``)."""
        return core.load_as_written(with_teams_file(self.raw, self.project_dir))

    @property
    def is_identity_owner(self) -> bool:
        identity = self.raw.get(core.IDENTITY)
        return isinstance(identity, dict) and identity.get("mode") == "owner"

    def load_any(self) -> core.StackConfig | core.IdentityConfig:
        """The config of a cluster stack, or of an identity owner stack."""
        raw = with_teams_file(self.raw, self.project_dir)
        return core.load_identity(raw) if self.is_identity_owner else core.load(raw)


def read(path: str | Path, text: str | None = None) -> StackFile:
    """Read a stack file and its project's `Pulumi.yaml` (searched upwards from it); with
    ``text``, that text as if the file held it (an edit checked before it is written)."""
    path = Path(path).resolve()
    name = path.name
    if not (name.startswith("Pulumi.") and name.endswith((".yaml", ".yml"))) or name.count(".") < 2:
        raise StackFileError(f"{path}: a stack file is named Pulumi.<stack>.yaml")
    stack = name[len("Pulumi.") :].rsplit(".", 1)[0]
    if text is None:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise StackFileError(f"{path}: cannot be read: {e}") from None
    doc = _document(text, str(path))
    project_dir = next(
        (d for d in (path.parent, *path.parent.parents) if (d / "Pulumi.yaml").is_file()), None
    )
    if project_dir is None:
        raise StackFileError(f"{path}: no Pulumi.yaml in its folder or above")
    project_doc = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
    project = str(project_doc.get("name", ""))
    # As the CLI does (pkg/workspace/config.go mergeConfig): a key without a namespace is the
    # project's; an environment value is merged under the stack file's own (JSON merge patch,
    # the stack's value preferred); each value as the program decodes what the CLI hands it.
    # The teams file is left for the program (and StackFile.load) to read.
    resolved, env_files = _environments(doc, project_dir, str(path))
    raw = {_namespaced(k, project): v for k, v in resolved.config.items()}
    for key, value in doc["config"].items():
        key = _namespaced(key, project)
        raw[key] = merge_patch(raw[key], value) if key in raw else value
    raw = {k: program_value(v) for k, v in raw.items()}
    sources = [path.name, *env_files]
    if isinstance(raw.get(core.TEAMS_FILE), str):
        sources.append(str(raw[core.TEAMS_FILE]))
    own = {_namespaced(k, project) for k in doc["config"]}
    secret_keys = frozenset(
        k for k in (_namespaced(k, project) for k in resolved.secret_keys) if k not in own
    )
    return StackFile(
        path,
        project_dir,
        project,
        stack,
        raw,
        tuple(sources),
        secret_keys,
    )
