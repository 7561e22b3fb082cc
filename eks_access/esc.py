"""Pulumi ESC environments resolved offline, the way ESC's evaluator resolves them.

The Pulumi CLI opens a stack's ``environment:`` in Pulumi ESC and hands the program the
``pulumiConfig`` of the result. The offline plan has no ESC service, so it evaluates the same
definitions from local files (``esc/<name>.yaml``). What it resolves, it resolves as ESC does
(``make e2e`` compares every environment in the tests with ESC's own evaluator,
``github.com/pulumi/esc/eval``); what it cannot resolve stops with the path named, never taken
literally:

- resolved: ``imports:`` (merged in order, JSON-merge-patch style: objects merge key by key,
  anything else replaces; ``{name: {merge: false}}`` imports only for ``${imports...}``),
  interpolation ``${a.b[0]}``/``${a["k"]}``/``${imports.<env>.path}`` (a string that is one
  reference takes the referenced value; in text, values are written as ESC writes them), the
  ``$$`` escape, ``fn::secret`` (plaintext only), ``fn::join``, ``fn::concat``;
- refused: every other ``fn::`` (``fn::open::*`` providers above all: they need ESC),
  ``${context...}`` and ``${environments...}``, imports with no local file, cycles, unknown
  properties, and secrets under the project's own keys (``eks-access:*`` is not secret).

ESC's evaluator is Go and talks to the service for imports and providers; nothing of it can be
called from Python, hence this small evaluator of the subset above.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eks_access.config import errors


class EscError(ValueError):
    """The environment cannot be resolved offline (or is not valid ESC)."""


RESOLVED_FUNCTIONS = ("fn::secret", "fn::join", "fn::concat")


@dataclass(frozen=True)
class _Secret:
    value: Any


@dataclass(frozen=True)
class Resolved:
    config: dict[str, Any]
    """``pulumiConfig`` with secrets in plaintext."""
    secret_keys: frozenset[str]
    """Top-level config keys whose value holds a secret."""


_MISSING = object()

Loader = Callable[[str], tuple[str, Any] | None]
"""An import name to (the file it was read from, its parsed definition), or None."""


def _plain(value: Any) -> tuple[Any, bool]:
    """A value without its secret wrappers, and whether it held one."""
    if isinstance(value, _Secret):
        return _plain(value.value)[0], True
    if isinstance(value, dict):
        out, secret = {}, False
        for k, v in value.items():
            out[k], s = _plain(v)
            secret |= s
        return out, secret
    if isinstance(value, list):
        items = [_plain(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def _merge(value: Any, base: Any) -> Any:
    """``value`` over ``base``: objects key by key, recursively; anything else replaces."""
    if isinstance(value, dict) and isinstance(base, dict):
        return {**base, **{k: _merge(v, base.get(k, _MISSING)) for k, v in value.items()}}
    return value


def _text(value: Any) -> str:
    """A value written into a string, as ESC's ``toString`` writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(_quoted(_text(v)) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{_quoted(k)}={_quoted(_text(value[k]))}" for k in sorted(value))
    return ""


def _quoted(text: str) -> str:
    """Go's ``strconv.Quote``, which ESC uses for list items and keys written into text; it and
    JSON agree on printable ASCII only, so anything else is left to ESC."""
    if not all(" " <= c <= "~" for c in text):
        raise EscError(f"a list or object with {text!r} written into text is not resolved offline")
    return json.dumps(text)


_SPACE_BYTES = frozenset(b"\t\n\v\f\r \x85\xa0")
"""Bytes ESC's parser takes for spaces: it tests each byte of the UTF-8 text with Go's
``unicode.IsSpace``, so 0x85 and 0xA0 (inside many multi-byte characters) end a name too."""


def parse_interpolation(text: str, where: str) -> list[str | list[str | int]]:
    """Text parts and property accesses (lists of names and indexes), as ESC's parser splits a
    string, byte by byte: ``$$`` is a ``$``; ``${`` starts an access ended by ``}``; names end
    at ``.``, ``[``, ``}`` or a space byte."""
    data = text.encode()
    parts: list[str | list[str | int]] = []
    buf = bytearray()
    i = 0
    while i < len(data):
        if data.startswith(b"$$", i):
            buf += b"$"
            i += 2
        elif data.startswith(b"${", i):
            if buf:
                parts.append(buf.decode())
                buf = bytearray()
            access, i = _access(data, i + 2, where, text)
            parts.append(access)
        else:
            buf.append(data[i])
            i += 1
    if buf:
        parts.append(buf.decode())
    return parts


def _access(data: bytes, i: int, where: str, text: str) -> tuple[list[str | int], int]:
    accessors: list[str | int] = []

    def name(j: int) -> tuple[str, int]:
        start = j
        while j < len(data) and data[j] not in b".[}" and data[j] not in _SPACE_BYTES:
            j += 1
        if j == start:
            raise EscError(f"{where}: property name must not be empty in {text!r}")
        try:
            return data[start:j].decode(), j
        except UnicodeDecodeError:  # ended inside a character: ESC's parser fails there too
            raise EscError(f"{where}: missing closing brace '}}' in {text!r}") from None

    while True:
        if i >= len(data) or data[i] in _SPACE_BYTES:
            raise EscError(f"{where}: missing closing brace '}}' in interpolation {text!r}")
        c = data[i : i + 1]
        if c == b"}":
            if not accessors:
                raise EscError(f"{where}: empty interpolation in {text!r}")
            return accessors, i + 1
        if c == b".":
            key, i = name(i + 1)
            accessors.append(key)
        elif c == b"[":
            end = data.find(b"]", i)
            if end < 0:
                raise EscError(f"{where}: subscript is missing closing bracket ']' in {text!r}")
            inner = data[i + 1 : end]
            if (
                inner.startswith(b'"')
                and inner.endswith(b'"')
                and len(inner) > 2
                and b"\\" not in inner
            ):
                accessors.append(inner[1:-1].decode(errors="replace"))
            elif inner and all(0x30 <= b <= 0x39 for b in inner):  # ASCII digits only
                accessors.append(int(inner))
            else:
                raise EscError(
                    f"{where}: subscript [{inner.decode(errors='replace')}] is not resolved "
                    "offline (a number or a quoted key)"
                )
            i = end + 1
        else:
            key, i = name(i)
            accessors.append(key)


@dataclass
class _Env:
    name: str
    file: str
    own: Any
    base: Any
    imports: dict[str, Any]
    cache: dict[tuple[str | int, ...], Any] = field(default_factory=dict)
    visiting: set[tuple[str | int, ...]] = field(default_factory=set)


def _where(env: _Env, path: tuple[str | int, ...]) -> str:
    text = "values"
    for p in path:
        text += f"[{p}]" if isinstance(p, int) else f".{p}"
    return f"{env.file} {text}"


class _Evaluator:
    def __init__(self, load: Loader):
        self.load = load
        self.done: dict[str, Any] = {}
        self.evaluating: set[str] = set()

    def environment(self, name: str, file: str, decl: Any) -> Any:
        if decl is None:
            decl = {}
        if not isinstance(decl, dict):
            raise EscError(f"{file}: an environment definition is a mapping (imports:, values:)")
        # ESC matches its fields case-insensitively and only warns on unknown ones
        decl = {str(k).lower(): v for k, v in decl.items()}
        own = decl.get("values")
        if own is None:
            own = {}
        if not isinstance(own, dict):
            raise EscError(f"{file} values: expected a mapping")
        if reserved := sorted(k for k in own if k in ("imports", "context", "environments")):
            raise EscError(f"{file} values: {reserved[0]!r} is a reserved key")
        imports = decl.get("imports") or []
        if not isinstance(imports, list):
            raise EscError(f"{file} imports: expected a list of environment names")
        base: Any = {}
        imported: dict[str, Any] = {}
        for i, entry in enumerate(imports):
            merge = True
            if isinstance(entry, dict) and len(entry) == 1:
                [(entry, meta)] = entry.items()
                if (
                    isinstance(meta, dict)
                    and set(meta) <= {"merge"}
                    and isinstance(meta.get("merge", True), bool)
                ):
                    merge = meta.get("merge", True)
                else:
                    raise EscError(f"{file} imports[{i}]: expected {{name: {{merge: true|false}}}}")
            if not isinstance(entry, str) or not entry:
                raise EscError(f"{file} imports[{i}]: expected an environment name")
            value = self.imported(entry, f"{file} imports[{i}]")
            imported[entry] = value
            if merge:
                base = _merge(value, base)
        env = _Env(name, file, own, base, imported)
        return _merge(self.path(env, ()), base)

    def imported(self, name: str, where: str) -> Any:
        if name in self.evaluating:
            raise EscError(f"{where}: cyclic import of {name}")
        if name not in self.done:
            found = self.load(name)
            if found is None:
                raise EscError(
                    f"{where}: environment {name!r} has no local file (esc/"
                    f"{name.rsplit('/', 1)[-1]}.yaml); the offline plan resolves only "
                    "environments the project holds"
                )
            file, decl = found
            self.evaluating.add(name)
            try:
                self.done[name] = self.environment(name, file, decl)
            finally:
                self.evaluating.discard(name)
        return self.done[name]

    def node(self, env: _Env, path: tuple[str | int, ...]) -> Any:
        """The expression written at ``path`` in the environment's own values, or _MISSING."""
        node: Any = env.own
        for p in path:
            if isinstance(node, dict) and isinstance(p, str) and _function(node) in (None, p):
                node = node.get(p, _MISSING)
            elif isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node):
                node = node[p]
            else:
                return _MISSING
            if node is _MISSING:
                return _MISSING
        return node

    def path(self, env: _Env, path: tuple[str | int, ...]) -> Any:
        """The value at ``path``, evaluated and merged over the imports' value there."""
        if path in env.cache:
            return env.cache[path]
        if path in env.visiting:
            raise EscError(f"{_where(env, path)}: cyclic reference")
        env.visiting.add(path)
        try:
            base = _lookup(env.base, path)
            node = self.node(env, path)
            value = base if node is _MISSING else _merge(self.expr(env, path, node), base)
        finally:
            env.visiting.discard(path)
        env.cache[path] = value
        return value

    def expr(self, env: _Env, path: tuple[str | int, ...], node: Any) -> Any:
        where = _where(env, path)
        if isinstance(node, dict):
            if fn := _function(node):
                return self.function(env, path, fn, node[fn])
            if bad := [k for k in node if isinstance(k, str) and k.lower().startswith("fn::")]:
                raise EscError(f"{where}: {bad[0]!r} must be the only key of its mapping")
            return {_key(k, where): self.path(env, (*path, k)) for k in node}
        if isinstance(node, list):
            return [self.path(env, (*path, i)) for i in range(len(node))]
        if isinstance(node, str):
            return self.string(env, where, node)
        return node

    def string(self, env: _Env, where: str, text: str) -> Any:
        parts = parse_interpolation(text, where)
        if len(parts) == 1 and isinstance(parts[0], list):
            return self.reference(env, where, parts[0])
        out, secret = [], False
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value, s = _plain(self.reference(env, where, part))
                if isinstance(value, dict):
                    # ESC writes the object's own keys, without what it merges over from imports;
                    # the offline plan does not guess which those are
                    raise EscError(f"{where}: an object written into text is not resolved offline")
                secret |= s
                try:
                    out.append(_text(value))
                except EscError as e:
                    raise EscError(f"{where}: {e}") from None
        result = "".join(out)
        return _Secret(result) if secret else result

    def reference(self, env: _Env, where: str, access: list[str | int]) -> Any:
        root, rest = access[0], access[1:]
        shown = "${" + ".".join(str(a) for a in access) + "}"
        if root in ("context", "environments"):
            raise EscError(
                f"{where}: {shown} reads ESC's {root}, which the offline plan does not resolve"
            )
        if root == "imports":
            if not rest or not isinstance(rest[0], str) or rest[0] not in env.imports:
                raise EscError(f"{where}: {shown}: not an import of this environment")
            return self.walk(env.imports[rest[0]], rest[1:], where, shown)
        path: tuple[str | int, ...] = ()
        for i, key in enumerate(access):
            node = self.node(env, path)
            literal = (isinstance(node, dict) and not _function(node)) or isinstance(node, list)
            if node is not _MISSING and not literal:
                return self.walk(self.path(env, path), access[i:], where, shown)
            path = (*path, key)
        if self.node(env, path) is _MISSING and _lookup(env.base, path) is _MISSING:
            raise EscError(f"{where}: {shown}: unknown property")
        return self.path(env, path)

    def walk(self, value: Any, access: list[str | int], where: str, shown: str) -> Any:
        secret = False
        for key in access:
            while isinstance(value, _Secret):
                value, secret = value.value, True
            found = _lookup(value, (key,))
            if found is _MISSING:
                raise EscError(f"{where}: {shown}: unknown property {key!r}")
            value = found
        return _Secret(value) if secret else value

    def function(self, env: _Env, path: tuple[str | int, ...], fn: str, arg: Any) -> Any:
        where = _where(env, path)
        if fn == "fn::secret":
            if isinstance(arg, dict) and "ciphertext" in arg:
                raise EscError(f"{where}: an encrypted fn::secret is decrypted only by ESC")
            parts = parse_interpolation(arg, where) if isinstance(arg, str) else [[]]
            if any(isinstance(p, list) for p in parts):
                # ESC's parser: a secret is a string literal (no ${...}, not a number or list)
                raise EscError(f"{where}: secret values must be string literals")
            return _Secret("".join(str(p) for p in parts))
        if fn == "fn::join":
            if not (isinstance(arg, list) and len(arg) == 2):
                raise EscError(f"{where}: fn::join takes [delimiter, [strings]]")
            delim, d_secret = _plain(self.expr(env, (*path, fn, 0), arg[0]))
            items, i_secret = _plain(self.expr(env, (*path, fn, 1), arg[1]))
            if not isinstance(delim, str) or not (
                isinstance(items, list) and all(isinstance(s, str) for s in items)
            ):
                raise EscError(f"{where}: fn::join takes a string and a list of strings")
            joined = delim.join(items)
            return _Secret(joined) if d_secret or i_secret else joined
        if fn == "fn::concat":
            lists = self.expr(env, (*path, fn), arg)
            plain, secret = _plain(lists)
            if not (isinstance(plain, list) and all(isinstance(x, list) for x in plain)):
                raise EscError(f"{where}: fn::concat takes a list of lists")
            out = [x for sub in plain for x in sub]
            return _Secret(out) if secret else out
        raise EscError(
            f"{where}: {fn} is evaluated only by Pulumi ESC (the offline plan resolves "
            f"interpolation, imports and {', '.join(RESOLVED_FUNCTIONS)}); put the value in "
            "the stack file or an environment file, or plan with `pulumi preview`"
        )


def _key(key: Any, where: str) -> str:
    """An object key as ESC reads it: text, ``$$`` a ``$``, no interpolation."""
    parts = parse_interpolation(str(key), where)
    if any(isinstance(p, list) for p in parts):
        raise EscError(f"{where}: object keys must be strings (no ${{...}}): {key!r}")
    return "".join(str(p) for p in parts)


def _function(node: dict[Any, Any]) -> str | None:
    if len(node) == 1:
        [key] = node
        if isinstance(key, str) and key.lower().startswith("fn::"):
            return key
    return None


def _lookup(value: Any, path: tuple[str | int, ...]) -> Any:
    for p in path:
        while isinstance(value, _Secret):
            value = value.value
        if isinstance(value, dict) and isinstance(p, str):
            value = value.get(p, _MISSING)
        elif isinstance(value, list) and isinstance(p, int) and p < len(value):
            value = value[p]
        else:
            return _MISSING
    return value


def definition(environment: Any, where: str) -> Any:
    """The stack file's ``environment:`` as the environment definition Pulumi opens: a list is
    its imports; a mapping is the definition itself (imports and inline values)."""
    if environment is None:
        return None
    if isinstance(environment, list):
        if bad := [e for e in environment if not isinstance(e, str)]:
            raise EscError(
                f"{where} environment: the list form takes environment names only, not {bad[0]!r}; "
                "write imports with options as environment: {imports: [...]}"
            )
        return {"imports": environment}
    if isinstance(environment, dict):
        return environment
    raise EscError(
        f"{where} environment: expected a list of environment names "
        f"(environment: [{environment}]), not {type(environment).__name__}"
    )


def resolve(environment: Any, load: Loader, where: str, project: str = "eks-access") -> Resolved:
    """``pulumiConfig`` of the stack's environment. Raises EscError naming the path."""
    decl = definition(environment, where)
    if decl is None:
        return Resolved({}, frozenset())
    evaluator = _Evaluator(load)
    root = evaluator.environment("<stack>", f"{where} environment", decl)
    config = root.get("pulumiConfig", {}) if isinstance(root, dict) else {}
    while isinstance(config, _Secret):
        config = config.value
    if not isinstance(config, dict):
        raise EscError(f"{where} environment: pulumiConfig must be a mapping")
    plain: dict[str, Any] = {}
    secret_keys = set()
    for key, value in config.items():
        plain[key], secret = _plain(value)
        if secret:
            if key.startswith(f"{project}:"):
                raise EscError(
                    f"{where} environment: pulumiConfig.{key} holds a secret (fn::secret); "
                    f"{errors.NOT_SECRET}"
                )
            secret_keys.add(key)
    return Resolved(plain, frozenset(secret_keys))
