"""The command line: `eks-access COMMAND` (or `python -m eks_access COMMAND`); see `--help`.

It reaches the Pulumi SDK (through ``offline``) only for the commands that plan; the others are
plain Python over the config. Every user error is one line on stderr and exit 2; a closed pipe
(``| head``) ends quietly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eks_access import arns, stackfile
from eks_access import config as core

if TYPE_CHECKING:
    from eks_access import operations
    from eks_access.documents import ReviewDocument
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


def _out_folder(out: Path) -> Path:
    """``--out`` as a folder this process can write, or a UserError naming the problem."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file; give a folder for the plan's files")
    probe = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if not os.access(probe, os.W_OK):
        raise UserError(f"--out {out}: {probe} is not writable; give a folder you can write")
    return out


# --- plan ---------------------------------------------------------------------------------------


def cmd_plan(args: argparse.Namespace) -> int:
    """One stack into ``--out``; several (a fleet) into ``--out/<stack>`` each, after the
    checks across stacks. With ``--base``/``--base-out``, also the operations from the base."""
    import dataclasses

    from eks_access import fleet, guards
    from offline import plan

    if args.base and args.base_out:
        raise UserError("give --base or --base-out, not both")
    paths = list(dict.fromkeys(args.config_file))
    outs = [Path(args.out)] if len(paths) == 1 else []
    stacks = [stackfile.read(p) for p in paths]
    outs = outs or [Path(args.out) / s.stack for s in stacks]
    for out in outs:  # a plan that stops must not leave the previous plan's files looking current
        _out_folder(out)
        try:
            plan.clear(out)
        except plan.FolderError as e:
            raise UserError(f"{e}; nothing was written") from None
        except OSError as e:
            raise UserError(f"--out {out}: cannot write there ({e.strerror})") from None
    members = [fleet.FleetStack(s.path.name, s.stack, s.load_any()) for s in stacks]
    # A reference stack needs its identity stack's users: check them as a fleet would.
    extra = _identity_members(stacks, members)
    if problems := fleet.problems(members + extra):
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        print(f"error: the stacks disagree ({len(problems)}); nothing was written", file=sys.stderr)
        return EXIT_CONFIG
    if args.acknowledge_lockout:  # as if the stack file said so, which `pulumi up` reads
        stacks = [
            s
            if s.is_identity_owner
            else dataclasses.replace(s, raw={**s.raw, guards.ACK_KEY: True})
            for s in stacks
        ]
    for member, stack in zip(members, stacks, strict=True):
        problem = None if args.acknowledge_lockout else guards.no_principals(member.config)
        if problem:
            print(f"stopped: {stack.path.name}: {problem}; nothing was written", file=sys.stderr)
            return EXIT_POLICY
    from offline import base as base_plans

    try:
        return _plan_stacks(args, stacks, outs)
    except base_plans.BaseError as e:
        raise UserError(str(e)) from None


def _identity_members(stacks: list[stackfile.StackFile], members: list[Any]) -> list[Any]:
    """The identity stacks that reference stacks name, read from their files (so a plan of a
    reference stack alone still says which users its identity stack does not own)."""
    from eks_access import fleet
    from offline import run

    have = {s.stack for s in stacks}
    out = []
    for member, stack in zip(members, stacks, strict=True):
        identity = member.config.identity
        if identity is None or not identity.stack:
            continue
        name = identity.stack.rsplit("/", 1)[-1]
        if name in have:
            continue
        path = run.identity_file(stack, identity.stack)  # StackFileError: a clean exit 2
        owner = stackfile.read(path)
        out.append(fleet.FleetStack(path.name, owner.stack, owner.load_any()))
        have.add(name)
    return out


def _plan_stacks(
    args: argparse.Namespace, stacks: list[stackfile.StackFile], outs: list[Path]
) -> int:
    from contextlib import nullcontext

    import pulumi

    from components.preflight import PreflightStop
    from eks_access import operations
    from offline import base as base_plans
    from offline import plan, run

    code = EXIT_OK
    summaries: list[tuple[stackfile.StackFile, Any]] = []
    tree = base_plans.tree_at(args.base, stacks[0].path.parent) if args.base else nullcontext()
    with tree as base_tree:
        for stack, out in zip(stacks, outs, strict=True):
            found, live_note = _live_aws_auth(args, stack, len(stacks))
            try:
                with Progress(f"planning {stack.stack}") as tick:
                    result = run.run(stack, on_register=tick, live_aws_auth=found)
            except PreflightStop as e:  # the live aws-auth holds lines the write would remove
                print(f"stopped: {stack.path.name}: {e}; nothing was written", file=sys.stderr)
                code = EXIT_POLICY
                continue
            except pulumi.RunError as e:  # the program's own config check; load() agrees
                raise UserError(f"{stack.path.name}: {e}") from None
            if result.duplicates:
                raise UserError(
                    f"{stack.path.name}: the program registers {len(result.duplicates)} "
                    "resources under a name it already used, which `pulumi up` refuses "
                    f"(Duplicate resource URN): {', '.join(sorted(set(result.duplicates)))}; "
                    "nothing was written"
                )
            extra: dict[str, str] = {}
            stops: list[str] = []
            ops: list[operations.Operation] | None = None
            if args.base or args.base_out:
                if base_tree is not None:
                    before = base_plans.plan_at(stack, args.base, base_tree)
                else:
                    folder = Path(args.base_out)
                    before = base_plans.load_plan(
                        folder if len(stacks) == 1 else folder / stack.stack
                    )
                ops = operations.compute(before.resources, result.resources)
                extra["operations.json"] = json.dumps(operations.to_json(ops), indent=2)
                stops = _lockout_stops(before, result, ops, stack, args.acknowledge_lockout)
            verdict, extra["policy.json"] = _policy_verdict(result, args.policy_config)
            try:
                written = plan.write(result, out, stack.project, stack.stack, extra)
            except plan.FolderError as e:
                raise UserError(str(e)) from None
            except OSError as e:
                raise UserError(f"--out {out}: cannot write there ({e.strerror or e})") from None
            if args.format == "json":
                doc = plan.summary_json(result, out, sorted(written), ops, verdict, stops)
                if live_note and plan.aws_auth(result):
                    doc["liveAwsAuth"] = live_note
                summaries.append((stack, doc))
            else:
                print(
                    f"Offline plan of stack {stack.stack!r} ({stack.path.name}) written to {out}/: "
                    + ", ".join(sorted(written))
                )
                print(plan.summary(result))
                if live_note and plan.aws_auth(result):
                    print(live_note)
                if ops is not None:
                    print(operations.summary(ops, stack.stack))
                print(
                    f"policy pack {verdict['pack']}: {len(verdict['mandatory'])} mandatory, "
                    f"{verdict['advisory']} advisory violations (policy.json)"
                )
            for v in verdict["mandatory"]:
                print(f"  {v}", file=sys.stderr)
            for problem in stops:
                print(f"stopped: {stack.path.name}: {problem}", file=sys.stderr)
            if stops or verdict["mandatory"]:
                code = EXIT_POLICY
    if args.format == "json":
        emit(summaries)
    return code


def _live_aws_auth(
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
    export = _read_export(args, stack, count)
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


def _lockout_stops(
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


def _policy_verdict(result: RunResult, policy_config: str | None) -> tuple[dict[str, Any], str]:
    """The CrossGuard pack (``policy/``) over the plan, as `pulumi preview --policy-pack` would,
    and every violation as ``policy.json``'s text."""
    from offline import policy

    try:
        pack_config = json.loads(Path(policy_config).read_text()) if policy_config else {}
    except (OSError, ValueError) as e:
        raise UserError(f"--policy-config {policy_config}: {e}") from None
    found = policy.check(result, pack_config)
    text = json.dumps(
        sorted((v.__dict__ for v in found), key=lambda v: json.dumps(v, sort_keys=True)),
        indent=2,
        sort_keys=True,
    )
    blocking = policy.mandatory(found)
    verdict = {
        "pack": policy.PACK_NAME,
        "mandatory": [str(v) for v in blocking],
        "advisory": len(found) - len(blocking),
    }
    return verdict, text


# --- migrate --------------------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    from offline import migration

    stack = stackfile.read(args.config_file)
    stack.load()
    try:
        m = migration.plan_migration(stack, args.to, args.node_access_entries)
    except ValueError as e:
        raise UserError(str(e)) from None
    if args.format == "json":
        emit([(stack, migration.to_json(m))])
    else:
        print(migration.render(m, stack))
    return EXIT_OK if m.safe else EXIT_NO


# --- who can do what ------------------------------------------------------------------------------


def _cluster_stacks(files: Sequence[str]) -> list[tuple[stackfile.StackFile, core.StackConfig]]:
    """The cluster stacks among the files (identity owner stacks grant no cluster access)."""
    stacks = [stackfile.read(p) for p in dict.fromkeys(files)]
    return [(s, s.load()) for s in stacks if not s.is_identity_owner]


def _heading(stacks: Sequence[Any], stack: stackfile.StackFile, config: core.StackConfig) -> None:
    if len(stacks) > 1:
        print(f"== {stack.stack}: cluster {config.cluster.name} ({stack.path.name})", flush=True)


def _caller(value: str) -> str:
    """``--as``, checked: an IAM user or role ARN, or an STS assumed-role ARN."""
    try:
        arns.canonical_caller(value)
    except arns.ArnError:
        raise UserError(
            f"--as {value!r}: not an IAM user or role ARN nor an STS assumed-role ARN; give e.g. "
            "arn:aws:iam::111122223333:user/alice or "
            "arn:aws:sts::111122223333:assumed-role/ROLE/SESSION (lower-case arn:)"
        ) from None
    return value


def cmd_can_i(args: argparse.Namespace) -> int:
    from eks_access import authz

    caller = _caller(args.as_)
    stacks = _cluster_stacks(args.config_file)
    code, docs = EXIT_OK, []
    warned: set[str] = set()
    for stack, config in stacks:
        state, source = _state(args, stack, config, len(stacks))
        req = authz.parse_request(args.verb, args.resource, args.namespace, args.subresource)
        _request_warnings(req, config, warned)
        found = authz.answer(state, caller, req)
        code = max(code, EXIT_OK if found.allowed else EXIT_NO)
        if args.format == "json":
            docs.append((stack, found.to_json(source)))
            continue
        _heading(stacks, stack, config)
        print(found.word, flush=True)
        print(f"(answered for {source})", file=sys.stderr)
        if found.note:
            print(found.note, file=sys.stderr)
        for g in found.grants if args.verbose else ():
            print(f"  via {g.via}", file=sys.stderr)
    if args.format == "json":
        emit(docs)
    return code


def _request_warnings(req: Any, config: core.StackConfig, warned: set[str]) -> None:
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


def _read_export(args: argparse.Namespace, stack: stackfile.StackFile, count: int) -> Any:
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


def _export(
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
        return _read_export(args, stack, count)
    except live.LiveError as e:
        raise UserError(str(e)) from None
    except export.ExportError as e:
        raise UserError(f"--live-cluster: {e}") from None


def _cluster_state(args: argparse.Namespace, stack: stackfile.StackFile,
                   config: core.StackConfig, count: int) -> tuple[Any, Any]:  # fmt: skip
    from eks_access import cluster_view

    export = _export(args, stack, config, count)
    mode = export.mode or config.cluster.authentication_mode
    found = cluster_view.state_of(export, mode, config.cluster.creator_principal_arn)
    return export, found


def _state(args: argparse.Namespace, stack: stackfile.StackFile, config: core.StackConfig,
           count: int) -> tuple[Any, str]:  # fmt: skip
    """The state to answer from, and what it is (the config's, or the cluster's with ``--live``
    / ``--live-cluster``)."""
    from eks_access import authz

    if not getattr(args, "live", None) and not getattr(args, "live_cluster", False):
        return authz.state_of(config), f"the config in {stack.path.name}, not the cluster"
    export, found = _cluster_state(args, stack, config, count)
    missing = f"; not read: {', '.join(export.not_read)}" if export.not_read else ""
    source = f"the cluster as exported in {export.folder} ({found.mode}{missing})"
    return found.state, source


def cmd_who_can(args: argparse.Namespace) -> int:
    from eks_access import authz

    stacks = _cluster_stacks(args.config_file)
    docs = []
    warned: set[str] = set()
    for stack, config in stacks:
        state, source = _state(args, stack, config, len(stacks))
        req = authz.parse_request(args.verb, args.resource, args.namespace, args.subresource)
        _request_warnings(req, config, warned)
        rows = [
            {"principal": ident.arn, "username": ident.username, "via": g.via}
            for ident in state.identities.values()
            for g in state.matching(ident, req)
        ]
        granted = {row["principal"] for row in rows}
        maybe = [
            {"principal": ident.arn, "username": ident.username, "policies": policies}
            for ident in state.identities.values()
            if ident.arn not in granted and (policies := state.unknown(ident, req))
        ]
        if args.format == "json":
            docs.append((stack, {"request": req.describe(), "principals": rows, "unknown": maybe,
                                 "source": source}))  # fmt: skip
            continue
        _heading(stacks, stack, config)
        print(f"(answered for {source})", file=sys.stderr)
        for m in maybe:
            print(
                f"unknown: {m['principal']} holds {', '.join(m['policies'])}, whose rules this "
                "tool does not know; it may be allowed too",
                file=sys.stderr,
            )
        if not rows:
            print(f"nobody mapped by this stack can {req.describe()}", file=sys.stderr)
            continue
        print("PRINCIPAL\tUSERNAME\tGRANTED BY")
        for row in rows:
            print(f"{row['principal']}\t{row['username']}\t{row['via']}", flush=True)
    if args.format == "json":
        emit(docs)
    return EXIT_OK


def cmd_access(args: argparse.Namespace) -> int:
    from eks_access import report, review

    stacks = _cluster_stacks(args.config_file)
    if args.live or args.live_cluster:  # the cluster's answer
        states = {s.path: _state(args, s, c, len(stacks))[:2] for s, c in stacks}
        if args.format == "json":
            emit([(s, {"principals": review.access_json(c, states[s.path][0]),
                       "source": states[s.path][1]}) for s, c in stacks])  # fmt: skip
            return EXIT_OK
        for stack, config in stacks:
            _heading(stacks, stack, config)
            print(f"(answered for {states[stack.path][1]})", file=sys.stderr)
            print(review.access_markdown(config, states[stack.path][0]), end="")
        return EXIT_OK
    if args.format == "json":
        emit([(s, {"principals": review.access_json(c)}) for s, c in stacks])
        return EXIT_OK
    if args.format == "html":
        sections = [
            section
            for s, c in stacks
            for section in report.access_sections(c, _prefix(stacks, s, c))
        ]
        print(report.page(_title("Who can do what", stacks), sections), end="")
        return EXIT_OK
    for stack, config in stacks:
        _heading(stacks, stack, config)
        print(review.access_markdown(config), end="")
    return EXIT_OK


def _prefix(stacks: Sequence[Any], stack: stackfile.StackFile, config: core.StackConfig) -> str:
    """A section's title prefix in a fleet's page: which cluster."""
    return f"{config.cluster.name} (stack {stack.stack}): " if len(stacks) > 1 else ""


def _title(what: str, stacks: Sequence[tuple[stackfile.StackFile, core.StackConfig]]) -> str:
    if len(stacks) == 1:
        stack, config = stacks[0]
        return f"{what}: stack {stack.stack}, cluster {config.cluster.name}"
    return f"{what}: {len(stacks)} clusters"


def cmd_review(args: argparse.Namespace) -> int:
    import pulumi

    from eks_access import changes, operations
    from offline import base as base_plans
    from offline import run

    stacks = [stackfile.read(p) for p in dict.fromkeys(args.config_file)]
    docs: list[tuple[stackfile.StackFile, ReviewDocument]] = []
    configs: list[tuple[core.StackConfig, core.StackConfig]] = []
    try:
        with base_plans.tree_at(args.base, stacks[0].path.parent) as tree:
            top, folder = tree
            for stack in stacks:
                if stack.is_identity_owner:
                    continue  # owns IAM users only: no cluster access to review
                head = stack.load()
                at_base = folder / stack.path.resolve().relative_to(top)
                try:
                    base = (
                        stackfile.read(at_base).load()
                        if at_base.is_file()
                        # a stack new in this change: everything it grants is gained
                        else core.load({**_without_teams(stack.raw), "eks-access:teams": []})
                    )
                except (core.ConfigError, stackfile.StackFileError) as e:
                    raise UserError(
                        f"{stack.path.name} at {args.base} is invalid, so no review: {e}"
                    ) from None
                before = base_plans.plan_at(stack, args.base, tree)
                try:
                    after = run.run(stack)
                except pulumi.RunError as e:
                    raise UserError(f"{stack.path.name}: {e}") from None
                ops = operations.compute(before.resources, after.resources)
                # what would stop `pulumi up` (or the plan) on this change, above the fold
                stops = _lockout_stops(before, after, ops, stack, False)
                if args.live:
                    found, _ = _live_aws_auth(args, stack, len(stacks))
                    stops = _preflight_warnings(found, after, head) + stops
                configs.append((base, head))
                docs.append((stack, changes.review_document(base, head, ops=ops, stops=stops)))
    except base_plans.BaseError as e:
        raise UserError(str(e)) from None
    rendered = _review_outputs(docs, configs)
    if args.artifacts:  # every format at once, for the CI to keep (docs/review.md)
        folder = _out_folder(Path(args.artifacts))
        folder.mkdir(parents=True, exist_ok=True)
        for fmt, text in rendered.items():
            (folder / f"review.{'md' if fmt == 'markdown' else fmt}").write_text(text)
    if not docs:
        print("No stack given maps anyone into a cluster: nothing to review.", file=sys.stderr)
    print(rendered[args.format], end="")  # JSON stays JSON when empty: []
    return EXIT_OK


def _without_teams(raw: dict[str, Any]) -> dict[str, Any]:
    """A stack's config with no team from anywhere (a new stack's base: it grants nothing)."""
    return {k: v for k, v in raw.items() if k not in (core.TEAMS_FILE, core.OVERRIDES)}


def _preflight_warnings(found: Any, after: RunResult, head: core.StackConfig) -> list[str]:
    """The review's first warning when the live aws-auth preflight would stop `pulumi up` (the
    core's check, on what the program would write, as the program runs it)."""
    from eks_access import live
    from offline import plan

    desired = plan.aws_auth_data(after)
    if found is None or not desired:
        return []
    verdict = live.preflight(found, desired, head.remove_live_mappings)
    if not verdict.stops:
        return []
    stopped = [line.arn for line in verdict.foreign]
    return [
        f"pulumi up stops: the live aws-auth holds {len(verdict.stops)} "
        f"{'line' if len(verdict.stops) == 1 else 'lines'} it would remove, which neither the "
        f"config nor this stack wrote: {', '.join(stopped)} (list node roles under cluster, "
        "acknowledge the rest in eks-access:removeLiveMappings; docs/safety.md)"
    ]


def _review_outputs(
    docs: list[tuple[stackfile.StackFile, ReviewDocument]],
    configs: list[tuple[core.StackConfig, core.StackConfig]],
) -> dict[str, str]:
    """The review as JSON, the pull-request comment and the HTML page."""
    from eks_access import comment, report

    heads = [(s, head) for (s, _), (_, head) in zip(docs, configs, strict=True)]
    sections = [
        section
        for (s, doc), (base, head) in zip(docs, configs, strict=True)
        for section in report.review_sections(base, head, doc, _prefix(heads, s, head))
    ]
    titled = [(f"{head.cluster.name} (stack {s.stack})", d)
              for (s, d), (_, head) in zip(docs, configs, strict=True)]  # fmt: skip
    return {
        "json": dumps([(s, d.to_json()) for s, d in docs]),
        "markdown": comment.markdown(titled) if docs else "",
        "html": report.page(_title("Access review", heads), sections) if docs else "",
    }


# --- fleets and adoption ---------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    from eks_access import export

    out = _out_folder(Path(args.out))
    try:
        written = export.export(args.cluster, args.region, out, args.kubectl)
    except export.ExportError as e:
        raise UserError(f"export of cluster {args.cluster}: {e}; nothing was written") from None
    print(f"wrote {out}/: {', '.join(written)}")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    import yaml

    from eks_access import audit, report

    stacks = _cluster_stacks(args.config_file)
    allowed: list[Any] = []
    if args.allow:
        try:
            allowed = audit.allowances(yaml.safe_load(Path(args.allow).read_text()), args.allow)
        except (OSError, yaml.YAMLError, audit.AllowError) as e:
            raise UserError(f"--allow {args.allow}: {e}") from None
    docs = []
    for stack, config in stacks:
        export, found = _cluster_state(args, stack, config, len(stacks))
        docs.append((stack, config, audit.audit(config, found, allowed, export.not_read)))
    code = EXIT_NO if any(d["flagged"] for _, _, d in docs) else EXIT_OK
    if args.format == "json":
        emit([(s, d) for s, _, d in docs])
    elif args.format == "html":
        sections = [sec for s, c, d in docs
                    for sec in audit.html_sections(d, _prefix(stacks, s, c))]  # fmt: skip
        print(report.page(_title("Access audit", stacks), sections), end="")
    else:
        for stack, config, doc in docs:
            print(audit.markdown(doc, f"{config.cluster.name} (stack {stack.stack})"), end="")
    return code


def cmd_stacks(args: argparse.Namespace) -> int:
    """The stacks a change since ``--base`` touches, as JSON (a CI matrix)."""
    import subprocess

    from eks_access import fleet

    root = Path(args.project)
    if not (root / "Pulumi.yaml").is_file():
        raise UserError(f"--project {root}: no Pulumi.yaml there")
    diff = subprocess.run(
        ["git", "diff", "--name-only", f"{args.base}...HEAD"],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if diff.returncode != 0:
        raise UserError(f"cannot diff against {args.base!r}: {diff.stderr.strip()}")
    stacks = [stackfile.read(p) for p in sorted(root.glob("Pulumi.*.yaml"))]
    changed = set(diff.stdout.split())
    print(json.dumps(fleet.affected(changed, {s.stack: s.sources for s in stacks})))
    return EXIT_OK


def _imported(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """The import of ``--aws-auth`` (and ``--rbac``) or of an export folder (``--live``)."""
    from eks_access import adopt, cluster_view

    if args.live:
        export = cluster_view.read(Path(args.live))
        imported, teams = adopt.from_export(export, args.cluster, args.region)
        if export.rbac is not None:
            adopt.add_rbac(imported, teams, export.rbac)
        return imported, teams, f"the export folder {args.live}"
    text = Path(args.aws_auth).read_text()
    data = adopt.aws_auth_data(adopt.documents(text, args.aws_auth), args.aws_auth)
    imported, teams = adopt.from_aws_auth(data, args.cluster, args.region)
    for rbac_file in args.rbac:
        adopt.add_rbac(imported, teams, adopt.documents(Path(rbac_file).read_text(), rbac_file))
    return imported, teams, args.aws_auth + (f" and {', '.join(args.rbac)}" if args.rbac else "")


def _import_file(out: Path, result: RunResult, cluster: str, imported: Any) -> None:
    """``<stack>.import.json`` for `pulumi import --file`: the cluster's existing access entries
    and policy associations that the config now manages. Without it the first `pulumi up` would
    try to create them again and fail (ResourceInUseException: one entry per principal)."""
    have = {
        e["accessEntry"]["principalArn"].lower()
        for e in imported.export.entries or []
        if (e["accessEntry"].get("type") or "STANDARD") == "STANDARD"
    }
    by_urn = {r.urn: r for r in result.resources}
    wanted: list[Any] = []
    ids: dict[str, str] = {}
    for r in result.resources:
        ins = r.inputs
        if r.type == "aws:eks/accessEntry:AccessEntry":
            rid = f"{cluster}:{ins['principalArn']}"
        elif r.type == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation":
            rid = f"{cluster}#{ins['principalArn']}#{ins['policyArn']}"
        else:
            continue
        if str(ins["principalArn"]).lower() in have:
            wanted.append(r)
            ids[r.urn] = rid
    # Every ancestor below the stack goes into the file too, parents first: the engine refuses
    # an import whose parent is neither in the state nor imported before it ("unknown parent");
    # a component is "imported" by registering it (`component: true`).
    ordered: dict[str, Any] = {}

    def add(r: Any) -> None:
        parent = by_urn.get(r.parent)
        if parent is not None and parent.urn not in ordered:
            add(parent)
        ordered.setdefault(r.urn, r)

    for r in wanted:
        add(r)
    resources = []
    for urn, r in ordered.items():
        item: dict[str, Any] = {"type": r.type, "name": r.name}
        if urn in ids:
            item["id"] = ids[urn]
        else:
            item["component"] = True
        if r.parent in ordered:
            item["parent"] = ordered[r.parent].name
        resources.append(item)
    if not wanted:
        return
    doc = {"resources": resources}
    path = out.with_suffix(".import.json")
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    print(
        f"wrote {path.name}: {len(wanted)} existing access entries and associations; import "
        f"them before the first up (`pulumi import --file {path.name}`), or `pulumi up` fails "
        "creating them again (ResourceInUseException)"
    )


def cmd_import(args: argparse.Namespace) -> int:
    """Write a stack config from an exported aws-auth (and RBAC), proving the plan equal.

    Everything that can fail is done before the file is written: the export is read, the
    config validated and planned from a scratch copy beside ``--out``; an existing ``--out`` is
    kept unless ``--force``.
    """
    import tempfile

    import pulumi
    import yaml

    from eks_access import adopt, live
    from offline import plan, run

    out = Path(args.out).resolve()
    if out.exists() and not args.force:
        raise UserError(f"--out {args.out}: exists; choose another file, or pass --force")
    if not (out.name.startswith("Pulumi.") and out.suffix in (".yaml", ".yml")):
        raise UserError(f"--out {args.out}: a stack file is named Pulumi.<stack>.yaml")
    if not any((d / "Pulumi.yaml").is_file() for d in out.parents):
        raise UserError(
            f"--out {args.out}: not inside a Pulumi project (no Pulumi.yaml in its folder or above)"
        )
    _out_folder(out.parent)
    if bool(args.aws_auth) == bool(args.live):
        raise UserError("give --aws-auth FILE (and --rbac) or --live DIR (an export folder)")
    if args.live and args.rbac:
        raise UserError("--live DIR reads DIR/rbac.yaml; --rbac goes with --aws-auth")
    try:
        imported, _, source = _imported(args)
    except (OSError, adopt.AdoptError, live.LiveError) as e:
        raise UserError(str(e)) from None
    header = [
        f"# Imported by `eks-access import` from {source}",
        "# Review before `pulumi up`; docs/adopting.md.",
        *(f"# NOTE: {n}" for n in imported.notes),
    ]
    text = (
        "\n".join(header)
        + "\n"
        + yaml.safe_dump({"config": imported.config}, sort_keys=False, width=10_000)
    )
    with tempfile.TemporaryDirectory(prefix=".eks-access-import-", dir=out.parent) as scratch:
        draft = Path(scratch) / out.name
        draft.write_text(text)
        stack = stackfile.read(draft)
        stack = stackfile.StackFile(out, stack.project_dir, stack.project, stack.stack, stack.raw)
        stack.load()  # ConfigError: exit 2, nothing written
        try:
            result = run.run(stack)
        except pulumi.RunError as e:
            raise UserError(f"the offline plan of the imported config stopped: {e}") from None
    out.write_text(text)
    print(f"wrote {out}: {len(imported.identities)} mappings, {len(imported.grants)} grants")
    for n in imported.notes:
        print(f"  note: {n}")
    diffs = adopt.compare(
        imported,
        plan.aws_auth_data(result),
        plan.kubernetes_objects(result),
        plan.access_entries(result),
    )
    if imported.export is not None and imported.export.entries:
        _import_file(out, result, args.cluster, imported)
    if diffs:
        print(f"NOT equivalent: {len(diffs)} differences between the cluster today and the plan:")
        for d in diffs:
            print(f"  {d}")
        return EXIT_NO
    if imported.mode in ("API", "API_AND_CONFIG_MAP"):
        from eks_access import cluster_view

        resolved = cluster_view.state_of(imported.export, imported.mode).state
        print(
            f"equivalent: after the offline plan of {out.name}, EKS resolves the same "
            f"{len(resolved.identities)} principals (ARN, username, groups; entries over "
            f"aws-auth), {len(resolved.nodes)} node roles and the same access-policy grants, "
            f"and the plan grants the same {len(imported.grants)} bindings as the export"
        )
        return EXIT_OK
    print(
        f"equivalent: the offline plan of {out.name} maps the same {len(imported.identities)} "
        f"principals (ARN, username, groups) and grants the same {len(imported.grants)} "
        "bindings as the export"
    )
    return EXIT_OK


# --- the parser -------------------------------------------------------------------------------

STACK_FILES = "the stack file(s), Pulumi.<stack>.yaml; several: one answer per cluster"


def _config_files(p: argparse.ArgumentParser, help: str = STACK_FILES, many: bool = True) -> None:
    """``--config-file``, defined once for every command that reads stack files."""
    if many:
        p.add_argument("--config-file", required=True, nargs="+", action="extend",
                       metavar="FILE", help=help)  # fmt: skip
    else:
        p.add_argument("--config-file", required=True, metavar="FILE", help=help)


def _live_option(p: argparse.ArgumentParser, required: bool = False) -> None:
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


def _format(p: argparse.ArgumentParser, *choices: str) -> None:
    p.add_argument(
        "--format",
        choices=choices,
        default=choices[0],
        help=f"output format (default {choices[0]}); json is one document, a list for several "
        "stacks",
    )


def _request(p: argparse.ArgumentParser) -> None:
    p.add_argument("verb", help="a Kubernetes verb (get, list, create, ...) or an HTTP method")
    p.add_argument(
        "resource",
        help="TYPE[.GROUP][/NAME] as kubectl takes it (pods, deployments.apps/web), or a "
        "non-resource URL (/healthz)",
    )
    p.add_argument("-n", "--namespace", default=None, help="the namespace (default: cluster-wide)")
    p.add_argument("--subresource", default="", help="a subresource: log, exec, status, ...")
    _config_files(p)


def build_parser() -> argparse.ArgumentParser:
    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=description,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    parser = argparse.ArgumentParser(
        prog="eks-access",
        description="Who may do what in which EKS cluster, from Pulumi stack config: plan it "
        "offline, ask who can do what, review a change, adopt a cluster.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"eks-access {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = command(
        "plan",
        "what `pulumi up` would do, offline (mock runtime)",
        "Run the real program under Pulumi's mock runtime and write what `pulumi up` would "
        "create: plan.json, aws-auth.yaml, rbac.yaml, iam.json, access-entries.json, "
        "outputs.json and policy.json; with --base or --base-out, operations.json too.",
    )
    _config_files(p, "the stack file(s), Pulumi.<stack>.yaml; several plan a fleet")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the plan's files")
    p.add_argument(
        "--policy-config", metavar="FILE",
        help="policy pack config (JSON, as for --policy-pack-config): levels and settings",
    )  # fmt: skip
    p.add_argument(
        "--base", metavar="REF",
        help="git ref of the state to start from: also write operations.json, what `pulumi up` "
        "would create, update, replace and delete",
    )  # fmt: skip
    p.add_argument(
        "--base-out", metavar="DIR",
        help="a previous plan's --out folder as the state to start from (instead of --base)",
    )  # fmt: skip
    p.add_argument(
        "--acknowledge-lockout", action="store_true",
        help="plan even a config that maps no one but the nodes, or that stops mapping more "
        "than half of the base's principals (exit 3 otherwise)",
    )  # fmt: skip
    p.add_argument(
        "--live", metavar="DIR",
        help="the cluster's live objects, exported (aws-auth.yaml: `kubectl get configmap "
        "aws-auth -n kube-system -o yaml`); DIR/<stack>/ for several stacks. Without it the "
        "plan assumes aws-auth as EKS creates it",
    )  # fmt: skip
    _format(p, "text", "json")
    p.set_defaults(func=cmd_plan)

    m = command(
        "migrate",
        "ordered, checked steps to the next authentication mode",
        "Print the steps from the stack's authentication mode to --to: cluster commands and "
        "config edits, each planned offline and resolved the way EKS resolves identities.",
    )
    _config_files(m, "the stack file", many=False)
    m.add_argument("--to", required=True, choices=core.AUTH_MODES, help="the mode to reach")
    m.add_argument(
        "--node-access-entries", choices=("create", "eks-managed"),
        help="who gives node roles access entries (needed to reach API)",
    )  # fmt: skip
    _format(m, "text", "json")
    m.set_defaults(func=cmd_migrate)

    c = command(
        "can-i",
        "may this IAM or STS principal do this? yes/no, exit 0/1",
        "Answer as EKS and Kubernetes would: the principal is mapped the way the authenticator "
        "and access entries map it, then Kubernetes RBAC (and EKS access policies) decide.",
    )
    _request(c)
    c.add_argument(
        "--as", dest="as_", required=True, metavar="ARN",
        help="an IAM user or role ARN, or an STS assumed-role ARN",
    )  # fmt: skip
    c.add_argument("-v", "--verbose", action="store_true", help="say which grants allow it")
    _live_option(c)
    _format(c, "text", "json")
    c.set_defaults(func=cmd_can_i)

    w = command(
        "who-can",
        "every principal that may do this, and the grant",
        "List every principal the stack maps that may make the request, with the binding or "
        "access policy that allows it.",
    )
    _request(w)
    _live_option(w)
    _format(w, "text", "json")
    w.set_defaults(func=cmd_who_can)

    a = command(
        "access",
        "the access matrix, per principal",
        "Every mapped principal with its username, groups and the grants that apply to it.",
    )
    _config_files(a)
    _live_option(a)
    _format(a, "markdown", "json", "html")
    a.set_defaults(func=cmd_access)

    i = command(
        "import",
        "a stack config from an exported aws-auth and RBAC, proven equivalent",
        "Write a stack config from `kubectl get configmap aws-auth -o yaml` (and RBAC), then "
        "prove its offline plan maps and grants the same; every lossy item is a NOTE.",
    )
    i.add_argument(
        "--aws-auth", metavar="FILE",
        help="kubectl get configmap aws-auth -n kube-system -o yaml",
    )  # fmt: skip
    i.add_argument(
        "--live", metavar="DIR",
        help="an `eks-access export` folder instead: aws-auth, RBAC and, in the API modes, the "
        "access entries with their policies",
    )  # fmt: skip
    i.add_argument(
        "--rbac", action="append", default=[], metavar="FILE",
        help="kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml",
    )  # fmt: skip
    i.add_argument("--cluster", required=True, help="the EKS cluster's name")
    i.add_argument("--region", required=True, help="the cluster's AWS region")
    i.add_argument(
        "--out", default="Pulumi.imported.yaml", metavar="FILE",
        help="the stack file to write, inside the project (default Pulumi.imported.yaml)",
    )  # fmt: skip
    i.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    i.set_defaults(func=cmd_import)

    ex = command(
        "export",
        "the cluster's live access objects into a folder, for --live",
        "Read the cluster with the ambient AWS credentials (boto3) and kubectl, through a "
        "kubeconfig made from DescribeCluster (never the current context): cluster.json, "
        "access-entries.json, nodegroups.json, fargate-profiles.json, aws-auth.yaml, rbac.yaml.",
    )
    ex.add_argument("--cluster", required=True, help="the EKS cluster's name")
    ex.add_argument("--region", required=True, help="the cluster's AWS region")
    ex.add_argument("--out", required=True, metavar="DIR", help="the folder to write")
    ex.add_argument("--kubectl", default="kubectl", metavar="PATH", help="kubectl to run")
    ex.set_defaults(func=cmd_export)

    au = command(
        "audit",
        "the cluster's access against the config's, per principal",
        "Compare what the cluster grants (an export folder, --live DIR) with what the stack's "
        "config grants: access beyond the config with where it comes from, drift, platform "
        "access labelled. Exit 1 when the cluster grants people access the config and the "
        "allow-list do not.",
    )
    _config_files(au)
    _live_option(au, required=True)
    au.add_argument("--allow", metavar="FILE",
                    help="reviewed exceptions: a YAML list of {principal, reason}")  # fmt: skip
    _format(au, "markdown", "json", "html")
    au.set_defaults(func=cmd_audit)

    st = command(
        "stacks",
        "stacks a change touches, as JSON (for a CI matrix)",
        "Print the stacks whose files (or the program) changed since --base, as a JSON list.",
    )
    st.add_argument("--base", required=True, metavar="REF", help="git ref to compare with")
    st.add_argument("--project", default=".", metavar="DIR", help="the project folder")
    st.set_defaults(func=cmd_stacks)

    r = command(
        "review",
        "access gained and lost since a git ref, and what `pulumi up` would do",
        "Compare the stack at a git ref with the working copy: every permission gained or "
        "lost per principal, riskiest first, and the resource operations.",
    )
    r.add_argument(
        "--base", required=True, metavar="REF", help="git ref of the state to compare with"
    )
    _config_files(r)
    _format(r, "markdown", "json", "html")
    r.add_argument(
        "--artifacts", metavar="DIR",
        help="also write review.json, review.md and review.html into DIR (what CI uploads)",
    )  # fmt: skip
    r.add_argument(
        "--live", metavar="DIR",
        help="the cluster's live objects, exported as for plan --live (DIR/<stack>/ for several "
        "stacks): a preflight stop of `pulumi up` is shown above the fold",
    )  # fmt: skip
    r.set_defaults(func=cmd_review)
    return parser


def _files(args: argparse.Namespace) -> str:
    files = next(
        (v for k in ("config_file", "aws_auth", "out") if (v := getattr(args, k, None))), ""
    )
    return " ".join(files) if isinstance(files, list) else str(files)


def entry() -> None:
    """The process entry point (`eks-access`, `python -m eks_access`): ``main`` and the exit,
    with an interrupt that slips past ``main``'s own handling (during start-up, or while the
    process ends) ending in the same one line and exit 130."""
    from offline import interrupt

    try:
        code = main()
    except KeyboardInterrupt:
        interrupt.report()
        code = interrupt.EXIT_INTERRUPTED
    sys.stdout.flush()
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    from offline import interrupt

    with interrupt.handled():
        try:
            try:
                code = _main(argv)
            finally:
                _close_runtime()
        except BaseException:
            # Ctrl-C during the command or while closing the runtime: the SDK may surface it
            # as another error (an import it cut short), or swallow it; any of them is the
            # interrupt's. One line, no traceback; plan folders hold the previous plan or a
            # whole new one (offline/plan.py swaps them in with Ctrl-C held back).
            if not interrupt.interrupted():
                raise
            code = interrupt.EXIT_INTERRUPTED
        if interrupt.interrupted():
            interrupt.report()
            interrupt.abandoned()
            return interrupt.EXIT_INTERRUPTED
        return code


def _close_runtime() -> None:
    """Close the Pulumi runtime's event loop, if a command ran the program: left to the garbage
    collector at exit, it is collected after its file descriptors are gone and prints
    "Exception ignored in ... BaseEventLoop.__del__" after the command's result."""
    if "offline.run" in sys.modules:
        from offline import run

        run.close_runtime()


def _main(argv: Sequence[str] | None) -> int:
    args = argparse.Namespace()
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except SystemExit as e:  # argparse: --help, --version, usage errors (exit 2)
        return int(e.code or 0)
    except BrokenPipeError:
        # The reader went away (`| head`): no traceback, and no second error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (UserError, stackfile.StackFileError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except core.ConfigError as e:
        print(
            f"error: invalid stack config in {_files(args)} ({e.count}); nothing was written:",
            file=sys.stderr,
        )
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
