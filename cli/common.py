"""What the commands share: exit codes, the one-line user error, JSON output, the shared
options (defined once) and the readers of stack files and export folders."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from eks_access import clock, stackfile
from eks_access import config as core

if TYPE_CHECKING:
    from eks_access import operations
    from offline.run import RunResult

EXIT_OK, EXIT_NO, EXIT_CONFIG, EXIT_POLICY = 0, 1, 2, 3


EXIT_CODES = """exit codes:
  0  done; can-i: yes
  1  can-i: no or unknown; import: not equivalent; migrate: unsafe
  2  bad input (config, stack file, arguments, paths): one line each, nothing written
  3  stopped by a mandatory policy violation or the lockout guard (plan files are written
     for review when the plan ran)
  130  interrupted (Ctrl-C)"""


class UserError(Exception):
    """A mistake in what the user asked for: one line on stderr, exit 2."""


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("eks-access")
    except PackageNotFoundError:  # run from a checkout that was not `pip install`ed
        import tomllib

        project = Path(__file__).resolve().parent.parent / "pyproject.toml"
        return str(tomllib.loads(project.read_text())["project"]["version"])


def emit(docs: list[tuple[stackfile.StackFile, Any]]) -> None:
    print(dumps(docs), end="")


def dumps(docs: list[tuple[stackfile.StackFile, Any]]) -> str:
    """JSON for one stack (its document) or several (a list, each with its stack and file)."""
    if len(docs) == 1:
        out: Any = docs[0][1]
    else:
        out = [{"stack": s.stack, "file": s.path.name, **d} for s, d in docs]
    return json.dumps(out, indent=2, sort_keys=True) + "\n"


def out_folder(out: Path) -> Path:
    """``--out`` as a folder this process can write, or a UserError naming the problem."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file; give a folder for the plan's files")
    probe = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if not os.access(probe, os.W_OK):
        raise UserError(f"--out {out}: {probe} is not writable; give a folder you can write")
    return out


def live_aws_auth(
    args: argparse.Namespace, stack: stackfile.StackFile, count: int
) -> tuple[Any, str | None]:
    """The live aws-auth for the preflight (``--live DIR``, DIR/<stack> for several stacks),
    or None with the note that the plan assumes it as EKS creates it."""
    from eks_access import live

    if not args.live:
        return None, (
            "live aws-auth: not read (no --live DIR); assumed as EKS creates it, the config's "
            f"node roles only. Export it with `{live.EXPORT_COMMAND}` and pass --live DIR"
        )
    folder = Path(args.live) if count == 1 else Path(args.live) / stack.stack
    api_mode = (stack.raw.get("eks-access:cluster") or {}).get("authenticationMode") == "API"
    if count > 1 and not folder.is_dir() and api_mode:
        return None, None  # API mode reads no aws-auth
    export = read_export(args, stack, count)
    found, exported = export.aws_auth, export.cluster is not None
    if found is None and exported:  # `export` writes no aws-auth.yaml when the cluster has none
        return live.LiveAwsAuth({}, {}, f"{folder} (the cluster has no aws-auth)"), (
            f"live aws-auth: none in the cluster exported in {folder} (cluster.json, no "
            "aws-auth.yaml): the patch creates it"
        )
    if found is None:
        return None, (
            f"live aws-auth: {folder / live.AWS_AUTH_FILE} not found; assumed as EKS creates it"
        )
    return found, f"live aws-auth: read from {found.source}"


class Progress:
    """A progress bar on stderr while a long plan runs, only when stderr is a terminal (tqdm,
    a well-kept library, draws it); otherwise nothing, so logs and pipes stay clean."""

    def __init__(self, what: str):
        self.what = what
        self.bar: Any = None

    def __enter__(self) -> Callable[[], None]:
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(desc=self.what, unit=" resources", file=sys.stderr, leave=False)
            return lambda: self.bar.update(1)
        return lambda: None

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def lockout_stops(
    before: RunResult,
    after: RunResult,
    ops: Sequence[operations.Operation],
    stack: stackfile.StackFile,
    acknowledged: bool,
) -> list[str]:
    """The guards' verdict (the core's ``guards.plan_stops``) on going from ``before`` to
    ``after``, acknowledged by the flag or the stack file."""
    from eks_access import guards
    from offline import plan

    config = stack.load()  # the plan ran, so it loads
    return guards.plan_stops(
        guards.PlanFacts(before.resources, plan.mapped_principals(before)),
        guards.PlanFacts(after.resources, plan.mapped_principals(after)),
        ops,
        acknowledged or stack.raw.get(guards.ACK_KEY) is True,
        config.acknowledge_cluster_change if isinstance(config, core.StackConfig) else None,
    )


def cluster_stacks(files: Sequence[str]) -> list[tuple[stackfile.StackFile, core.StackConfig]]:
    """The cluster stacks among the files (identity owner stacks grant no cluster access)."""
    stacks = [stackfile.read(p) for p in dict.fromkeys(files)]
    return [(s, s.load()) for s in stacks if not s.is_identity_owner]


def heading(stacks: Sequence[Any], stack: stackfile.StackFile, config: core.StackConfig) -> None:
    if len(stacks) > 1:
        print(f"== {stack.stack}: cluster {config.cluster.name} ({stack.path.name})", flush=True)


def request_warnings(req: Any, config: core.StackConfig, warned: set[str]) -> None:
    """kubectl's warnings on a request it would send anyway (an unknown verb, a type the server
    lacks: a custom resource counts when the stack's own rules name it), once per run, on
    stderr as kubectl prints them."""
    from eks_access import authz

    rules = [{"resources": r.resources, "apiGroups": r.api_groups}
             for t in config.teams for r in (*t.rules, *t.cluster_rules)]  # fmt: skip
    for warning in authz.request_warnings(req, rules):
        if warning not in warned:
            warned.add(warning)
            print(f"Warning: {warning}", file=sys.stderr)


def read_export(args: argparse.Namespace, stack: stackfile.StackFile, count: int) -> Any:
    """The stack's export folder of ``--live DIR`` (DIR/<stack>/ for several stacks), read by
    the one reader of export folders (``cluster_view.read``)."""
    from eks_access import cluster_view, live

    folder = Path(args.live) if count == 1 else Path(args.live) / stack.stack
    if count > 1 and not folder.is_dir():
        raise UserError(
            f"--live {args.live}: several stacks read DIR/<stack>/ each, and {folder} is not a "
            f"folder; export stack {stack.stack}'s cluster there"
        )
    try:
        return cluster_view.read(folder)
    except live.LiveError as e:
        raise UserError(str(e)) from None


def export_of(
    args: argparse.Namespace, stack: stackfile.StackFile, config: core.StackConfig, count: int
) -> Any:
    """The stack's export folder (``--live DIR``, DIR/<stack>/ for several stacks), or the
    cluster read now (``--live-cluster``: the stack's cluster and region, as `export` reads)."""
    import tempfile

    from eks_access import cluster_view, export, live

    try:
        if getattr(args, "live_cluster", False):
            with tempfile.TemporaryDirectory(prefix="eks-access-live-") as scratch:
                export.export(config.cluster.name, config.region, Path(scratch))
                found = cluster_view.read(Path(scratch))
            found.folder = f"cluster {config.cluster.name} ({config.region}), read now"
            return found
        return read_export(args, stack, count)
    except live.LiveError as e:
        raise UserError(str(e)) from None
    except export.ExportError as e:
        raise UserError(f"--live-cluster: {e}") from None


def cluster_state(args: argparse.Namespace, stack: stackfile.StackFile,
                   config: core.StackConfig, count: int) -> tuple[Any, Any]:  # fmt: skip
    from eks_access import cluster_view

    export = export_of(args, stack, config, count)
    mode = export.mode or config.cluster.authentication_mode
    found = cluster_view.state_of(export, mode, config.cluster.creator_principal_arn)
    return export, found


def state_of(args: argparse.Namespace, stack: stackfile.StackFile, config: core.StackConfig,
           count: int) -> tuple[Any, str]:  # fmt: skip
    """The state to answer from, and what it is (the config's, or the cluster's with ``--live``
    / ``--live-cluster``)."""
    from eks_access import authz

    if not getattr(args, "live", None) and not getattr(args, "live_cluster", False):
        return authz.state_of(config), f"the config in {stack.path.name}, not the cluster"
    export, found = cluster_state(args, stack, config, count)
    missing = f"; not read: {', '.join(export.not_read)}" if export.not_read else ""
    source = f"the cluster as exported in {export.folder} ({found.mode}{missing})"
    if any(t.access == "role" for t in config.teams):
        # who may assume a team's role is IAM's, not the cluster's: the config's members
        authz.live_team_role_members(found.state, config)
        source += "; the members of access: role teams as the config lists them"
    return found.state, source


def prefix(stacks: Sequence[Any], stack: stackfile.StackFile, config: core.StackConfig) -> str:
    """A section's title prefix in a fleet's page: which cluster."""
    return f"{config.cluster.name} (stack {stack.stack}): " if len(stacks) > 1 else ""


def title(what: str, stacks: Sequence[tuple[stackfile.StackFile, core.StackConfig]]) -> str:
    if len(stacks) == 1:
        stack, config = stacks[0]
        return f"{what}: stack {stack.stack}, cluster {config.cluster.name}"
    return f"{what}: {len(stacks)} clusters"


STACK_FILES = "the stack file(s), Pulumi.<stack>.yaml; several: one answer per cluster"


def config_files(p: argparse.ArgumentParser, help: str = STACK_FILES, many: bool = True) -> None:
    """``--config-file``, defined once for every command that reads stack files."""
    if many:
        p.add_argument("--config-file", required=True, nargs="+", action="extend",
                       metavar="FILE", help=help)  # fmt: skip
    else:
        p.add_argument("--config-file", required=True, metavar="FILE", help=help)


def live_option(p: argparse.ArgumentParser, required: bool = False) -> None:
    source = p.add_mutually_exclusive_group(required=required)
    source.add_argument(
        "--live", metavar="DIR",
        help="answer for the cluster as it is, from an `eks-access export` folder (DIR/<stack>/ "
        "for several stacks), not for the config",
    )  # fmt: skip
    source.add_argument(
        "--live-cluster", action="store_true",
        help="the same, read now from the stack's cluster (its name and region, the ambient AWS "
        "credentials and kubectl, as `export` reads)",
    )  # fmt: skip


def format_option(p: argparse.ArgumentParser, *choices: str) -> None:
    p.add_argument(
        "--format",
        choices=choices,
        default=choices[0],
        help=f"output format (default {choices[0]}); json is one document, a list for several "
        "stacks",
    )


def time_value(value: str) -> datetime:
    try:
        return clock.at_value(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def at_option(p: argparse.ArgumentParser) -> None:
    """``--at TIME``: the config as it grants at that time (grants past their ``expires`` are
    gone); the command says which time it used."""
    p.add_argument(
        "--at",
        type=time_value,
        default=None,
        metavar="TIME",
        help="answer as of this time: now (the default), a date (its midnight, UTC) or a "
        "date-time with its zone (2026-12-24T18:00:00Z); grants past their expires are gone",
    )


def used_time() -> str:
    """The time the command answers for, as outputs say it."""
    return clock.written(clock.now())


def request_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("verb", help="a Kubernetes verb (get, list, create, ...) or an HTTP method")
    p.add_argument(
        "resource",
        help="TYPE[.GROUP][/NAME] as kubectl takes it (pods, deployments.apps/web), or a "
        "non-resource URL (/healthz)",
    )
    p.add_argument("-n", "--namespace", default=None, help="the namespace (default: cluster-wide)")
    p.add_argument("--subresource", default="", help="a subresource: log, exec, status, ...")
    config_files(p)


# argparse's type of add_subparsers(), which has no public name (a string: not subscriptable at
# run time)
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def command(sub: Subparsers, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    """A command's parser, with the exit codes under its ``--help``."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


# --- files the commands edit (grant, revoke, expiring --remove-ended) -----------------------


def read_for_edit(path: Path) -> tuple[bytes, str]:
    """A file's bytes as they are, and its text with ``\n`` line ends (the editors' form)."""
    raw = path.read_bytes()
    return raw, raw.decode().replace("\r\n", "\n")


def as_written(raw: bytes, text: str) -> bytes:
    """``text`` with the line ends of the file it came from (``raw``): CRLF stays CRLF."""
    return (text.replace("\n", "\r\n") if b"\r\n" in raw else text).encode()


def print_diff(name: str, before: str, after: str) -> None:
    """The edit as a unified diff on stdout (both texts with ``\n`` line ends)."""
    import difflib

    sys.stdout.writelines(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            f"a/{name}", f"b/{name}",
        )
    )  # fmt: skip
