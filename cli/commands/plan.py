"""`eks-access plan`: the real program under the mock runtime, its files written to ``--out``
(a fleet: checked across stacks first); with a base, the operations and the guards' stops.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.common import (
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_POLICY,
    Progress,
    Subparsers,
    UserError,
    at_option,
    command,
    config_files,
    emit,
    format_option,
    live_aws_auth,
    lockout_stops,
    out_folder,
    time_value,
    used_time,
)
from eks_access import stackfile

if TYPE_CHECKING:
    from eks_access import operations
    from offline.run import RunResult


def run(args: argparse.Namespace) -> int:
    """One stack into ``--out``; several (a fleet) into ``--out/<stack>`` each, after the
    checks across stacks. With ``--base``/``--base-out``, also the operations from the base."""
    import dataclasses

    from eks_access import fleet, guards
    from offline import plan as offline_plan

    if args.base and args.base_out:
        raise UserError("give --base or --base-out, not both")
    if args.base_at and not args.base:
        raise UserError("--base-at needs --base (the commit to plan at that time)")
    paths = list(dict.fromkeys(args.config_file))
    outs = [Path(args.out)] if len(paths) == 1 else []
    stacks = [stackfile.read(p) for p in paths]
    outs = outs or [Path(args.out) / s.stack for s in stacks]
    for out in outs:  # a plan that stops must not leave the previous plan's files looking current
        out_folder(out)
        try:
            offline_plan.clear(out)
        except offline_plan.FolderError as e:
            raise UserError(f"{e}; nothing was written") from None
        except OSError as e:
            raise UserError(f"--out {out}: cannot write there ({e.strerror})") from None
    members, ended = [], []
    for s in stacks:
        config, gone = _read(s)
        members.append(fleet.FleetStack(s.path.name, s.stack, config))
        ended += [f"{s.path.name}: {e.warning}" for e in gone]
    # A reference stack needs its identity stack's users: check them as a fleet would.
    extra = identity_members(stacks, members)
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
    for line in ended:  # a line that grants nothing: said, not stopped
        print(f"warning: {line}", file=sys.stderr)
    from offline import base as base_plans

    try:
        return _plan_stacks(args, stacks, outs)
    except base_plans.BaseError as e:
        raise UserError(str(e)) from None


def _read(stack: stackfile.StackFile) -> tuple[Any, list[Any]]:
    """The stack's config as in effect now, and the grants written in it that have ended."""
    from eks_access import clock, expiring
    from eks_access import config as core

    if stack.is_identity_owner:
        return stack.load_any(), []
    written = stack.load_as_written()
    return core.in_effect(written, clock.now()), expiring.ended(written, clock.now())


def identity_members(stacks: list[stackfile.StackFile], members: list[Any]) -> list[Any]:
    """The identity stacks that reference stacks name, read from their files (so a plan of a
    reference stack alone still says which users its identity stack does not own)."""
    from eks_access import fleet
    from offline import run as offline_run

    have = {s.stack for s in stacks}
    out = []
    for member, stack in zip(members, stacks, strict=True):
        identity = member.config.identity
        if identity is None or not identity.stack:
            continue
        name = identity.stack.rsplit("/", 1)[-1]
        if name in have:
            continue
        path = offline_run.identity_file(stack, identity.stack)  # StackFileError: a clean exit 2
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
    from offline import plan as offline_plan
    from offline import run as offline_run

    code = EXIT_OK
    summaries: list[tuple[stackfile.StackFile, Any]] = []
    tree = base_plans.tree_at(args.base, stacks[0].path.parent) if args.base else nullcontext()
    with tree as base_tree:
        for stack, out in zip(stacks, outs, strict=True):
            found, live_note = live_aws_auth(args, stack, len(stacks))
            try:
                with Progress(f"planning {stack.stack}") as tick:
                    result = offline_run.run(stack, on_register=tick, live_aws_auth=found)
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
                    before = base_plans.plan_at(stack, args.base, base_tree, args.base_at)
                else:
                    folder = Path(args.base_out)
                    before = base_plans.load_plan(
                        folder if len(stacks) == 1 else folder / stack.stack
                    )
                ops = operations.compute(before.resources, result.resources)
                extra["operations.json"] = json.dumps(operations.to_json(ops), indent=2)
                stops = lockout_stops(before, result, ops, stack, args.acknowledge_lockout)
            pack_config = args.policy_config or stack_pack_config(stack)
            verdict, extra["policy.json"] = _policy_verdict(result, pack_config)
            try:
                written = offline_plan.write(result, out, stack.project, stack.stack, extra)
            except offline_plan.FolderError as e:
                raise UserError(str(e)) from None
            except OSError as e:
                raise UserError(f"--out {out}: cannot write there ({e.strerror or e})") from None
            if args.format == "json":
                doc = offline_plan.summary_json(result, out, sorted(written), ops, verdict, stops)
                if live_note and offline_plan.aws_auth(result):
                    doc["liveAwsAuth"] = live_note
                summaries.append((stack, {**doc, "at": used_time()}))
            else:
                print(
                    f"Offline plan of stack {stack.stack!r} ({stack.path.name}) as of "
                    f"{used_time()}, written to {out}/: " + ", ".join(sorted(written))
                )
                print(offline_plan.summary(result))
                if live_note and offline_plan.aws_auth(result):
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


def stack_pack_config(stack: stackfile.StackFile) -> str | None:
    """The stack's own policy pack config, ``policy/config.<stack>.json`` in its project, as
    the workflows pass it to `pulumi preview`/`up` (``policyPackConfigs``); None without one."""
    path = stack.project_dir / "policy" / f"config.{stack.stack}.json"
    return str(path) if path.is_file() else None


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


def register(sub: Subparsers) -> None:
    p = command(
        sub,
        "plan",
        "what `pulumi up` would do, offline (mock runtime)",
        "Run the real program under Pulumi's mock runtime and write what `pulumi up` would "
        "create: plan.json, aws-auth.yaml, rbac.yaml, iam.json, access-entries.json, "
        "outputs.json and policy.json; with --base or --base-out, operations.json too.",
    )
    config_files(p, "the stack file(s), Pulumi.<stack>.yaml; several plan a fleet")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the plan's files")
    p.add_argument(
        "--policy-config", metavar="FILE",
        help="policy pack config (JSON, as for --policy-pack-config): levels and settings "
        "(default: the stack's policy/config.<stack>.json, if there is one)",
    )  # fmt: skip
    p.add_argument(
        "--base", metavar="REF",
        help="git ref of the state to start from: also write operations.json, what `pulumi up` "
        "would create, update, replace and delete",
    )  # fmt: skip
    p.add_argument(
        "--base-at", type=time_value, metavar="TIME",
        help="with --base: plan the base as it granted at TIME (default: --at), so the "
        "operations are the ends since then too (the scheduled expiry run: the base commit's time)",
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
    at_option(p)
    format_option(p, "text", "json")
    p.set_defaults(func=run)
