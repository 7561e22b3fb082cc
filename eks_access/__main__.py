"""Command line: `python -m eks_access COMMAND` (see `--help`).

This module is the one place in ``eks_access`` that may reach the Pulumi SDK, and only for
`plan`, which runs the program under the mock runtime (``offline``); the other commands are
plain Python over the config.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from eks_access import config as core
from eks_access import stackfile

if TYPE_CHECKING:
    from eks_access import operations
    from offline.run import RunResult

EXIT_CONFIG = 2
EXIT_POLICY = 3


def _load(path: str) -> tuple[stackfile.StackFile, core.StackConfig]:
    stack = stackfile.read(path)
    return stack, stack.load()


def cmd_plan(args: argparse.Namespace) -> int:
    """One stack into ``--out``; several (a fleet) into ``--out/<stack>`` each, after the
    checks across stacks. With ``--base``/``--base-out``, also the operations from the base."""
    import dataclasses

    from eks_access import fleet, guards

    if args.base and args.base_out:
        print("error: give --base or --base-out, not both", file=sys.stderr)
        return EXIT_CONFIG
    stacks = [stackfile.read(p) for p in args.config_file]
    members = [fleet.Member(s.path.name, s.stack, s.load_any()) for s in stacks]
    if problems := fleet.problems(members):
        print(f"error: the stacks disagree ({len(problems)} problems); nothing was written:")
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_CONFIG
    if args.acknowledge_lockout:  # as if the stack file said so, which `pulumi up` reads
        stacks = [
            dataclasses.replace(s, raw={**s.raw, guards.ACK_KEY: True})
            if not s.is_identity_owner
            else s
            for s in stacks
        ]
    for member, stack in zip(members, stacks, strict=True):
        config = member.config
        problem = None if args.acknowledge_lockout else guards.no_principals(config)
        if problem:
            print(f"stopped: {stack.path.name}: {problem}; nothing was written", file=sys.stderr)
            return EXIT_POLICY
    # The SDK is needed for this command only.
    from offline import base as base_plans
    from offline import run

    for member, stack in zip(members, stacks, strict=True):
        identity = member.config.identity
        if identity is not None and identity.stack:  # its file must be there to plan offline
            run.identity_outputs(stack, identity.stack)  # StackFileError: a clean exit 2
    try:
        return _plan_stacks(args, stacks)
    except base_plans.BaseError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG


def _plan_stacks(args: argparse.Namespace, stacks: list[stackfile.StackFile]) -> int:
    import json
    from contextlib import nullcontext

    import pulumi

    from eks_access import operations
    from offline import base as base_plans
    from offline import plan, run

    code = 0
    tree = base_plans.tree_at(args.base, stacks[0].path.parent) if args.base else nullcontext()
    with tree as base_tree:
        for stack in stacks:
            out = Path(args.out) if len(stacks) == 1 else Path(args.out) / stack.stack
            plan.clear(out)
            try:
                result = run.run(stack)
            except pulumi.RunError as e:  # the program's own config check; load() agrees
                print(e, file=sys.stderr)
                return EXIT_CONFIG
            if result.duplicates:
                print(
                    f"error: {stack.path.name}: the program registers {len(result.duplicates)} "
                    "resources under a name it already used, which `pulumi up` refuses "
                    f"(Duplicate resource URN): {', '.join(sorted(set(result.duplicates)))}; "
                    "nothing was written",
                    file=sys.stderr,
                )
                return EXIT_CONFIG
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
                ops = operations.compute(
                    [r.to_json() for r in before.resources], [r.to_json() for r in result.resources]
                )
                extra["operations.json"] = json.dumps(operations.to_json(ops), indent=2)
                stops = _lockout_stops(before, result, ops, stack, args.acknowledge_lockout)
            written = plan.write(result, out, stack.project, stack.stack, extra)
            print(
                f"Offline plan of stack {stack.stack!r} ({stack.path.name}) written to {out}/: "
                + ", ".join(sorted(written))
            )
            print(plan.summary(result))
            if ops is not None:
                print(operations.summary(ops, stack.stack))
            for problem in stops:
                print(f"stopped: {stack.path.name}: {problem}", file=sys.stderr)
            code = max(code, EXIT_POLICY if stops else 0)
            code = max(code, _policy_verdict(result, out, args.policy_config))
    return code


def _lockout_stops(
    before: RunResult,
    after: RunResult,
    ops: Sequence[operations.Operation],
    stack: stackfile.StackFile,
    acknowledged: bool,
) -> list[str]:
    """The lockout guard's verdict on going from ``before`` to ``after``."""
    from eks_access import guards
    from offline import plan

    acknowledged = acknowledged or stack.raw.get(guards.ACK_KEY) is True
    base_users = {r.urn: r.inputs.get("name") for r in before.of_type("aws:iam/user:User")}
    deleted = [
        str(base_users[o.urn])
        for o in ops
        if o.op == "delete" and not o.retained and o.urn in base_users
    ]
    mapped = plan.mapped_principals(after)
    still_mapped = {m.rsplit("/", 1)[-1] for m in mapped if ":user/" in m}
    found = [
        guards.mass_removal(plan.mapped_principals(before), mapped, acknowledged),
        guards.users_deleted_while_mapped([d.lower() for d in deleted], still_mapped, acknowledged),
    ]
    return [f for f in found if f]


def _policy_verdict(result: RunResult, out: Path, policy_config: str | None) -> int:
    """The CrossGuard pack (``policy/``) over the plan, as `pulumi preview --policy-pack` would."""
    import json

    from offline import policy

    pack_config = json.loads(Path(policy_config).read_text()) if policy_config else {}
    found = policy.check(result, pack_config)
    (out / "policy.json").write_text(
        json.dumps(
            sorted((v.__dict__ for v in found), key=lambda v: json.dumps(v, sort_keys=True)),
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )
    blocking = policy.mandatory(found)
    print(
        f"policy pack {policy.PACK_NAME}: {len(blocking)} mandatory, "
        f"{len(found) - len(blocking)} advisory violations (policy.json)"
    )
    for v in blocking:
        print(f"  {v}", file=sys.stderr)
    return EXIT_POLICY if blocking else 0


def cmd_migrate(args: argparse.Namespace) -> int:
    stack, _ = _load(args.config_file)
    from offline import migration

    try:
        m = migration.plan_migration(stack, args.to, args.node_access_entries)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    print(migration.render(m, stack))
    return 0 if m.safe else 1


def _per_stack(args: argparse.Namespace, answer: Callable[[core.StackConfig], int]) -> int:
    """Run an access command on each stack file; with several, one section per cluster.
    Identity owner stacks grant no cluster access and are skipped. Exit: the worst answer."""
    files = args.config_file
    code = 0
    for path in files:
        stack = stackfile.read(path)
        if stack.is_identity_owner:
            continue
        config = stack.load()
        if len(files) > 1:
            print(
                f"== {stack.stack}: cluster {config.cluster.name} ({stack.path.name})", flush=True
            )
        code = max(code, answer(config))
    return code


def cmd_can_i(args: argparse.Namespace) -> int:
    from eks_access import authz

    def answer(config: core.StackConfig) -> int:
        state = authz.state_of(config)
        req = authz.parse_request(args.verb, args.resource, args.namespace, args.subresource)
        ident = state.resolve(args.as_)
        if ident is None and (node := state.node(args.as_)) is not None:
            print("unknown", flush=True)
            print(
                f"{args.as_} is a node role, mapped as {node.username} in "
                f"{', '.join(node.groups)}; the Node authorizer decides what nodes may do, "
                "and this tool does not model it",
                file=sys.stderr,
            )
            return 1
        if ident is None:
            print("no", flush=True)
            print(f"{args.as_} is not mapped: it would not be logged in", file=sys.stderr)
            return 1
        grants = state.matching(ident, req)
        print("yes" if grants else "no", flush=True)
        for g in grants if args.verbose else []:
            print(f"  via {g.via}", file=sys.stderr)
        return 0 if grants else 1

    return _per_stack(args, answer)


def cmd_who_can(args: argparse.Namespace) -> int:
    from eks_access import authz

    def answer(config: core.StackConfig) -> int:
        state = authz.state_of(config)
        req = authz.parse_request(args.verb, args.resource, args.namespace, args.subresource)
        found = False
        for ident in state.identities.values():
            for g in state.matching(ident, req):
                found = True
                print(f"{ident.arn}\t{ident.username}\t{g.via}", flush=True)
        if not found:
            print(f"nobody mapped by this stack can {req.describe()}", file=sys.stderr)
        return 0

    return _per_stack(args, answer)


def cmd_access(args: argparse.Namespace) -> int:
    import json

    from eks_access import review

    def answer(config: core.StackConfig) -> int:
        if args.format == "json":
            print(json.dumps(review.access_json(config), indent=2))
        else:
            print(review.access_markdown(config), end="")
        return 0

    return _per_stack(args, answer)


def cmd_review(args: argparse.Namespace) -> int:
    import json

    import pulumi

    from eks_access import operations, review
    from offline import base as base_plans
    from offline import run

    stacks = [stackfile.read(p) for p in args.config_file]
    docs: list[tuple[stackfile.StackFile, dict[str, object]]] = []
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
                        else core.load({**stack.raw, "eks-access:teams": []})
                    )
                except (core.ConfigError, stackfile.StackFileError) as e:
                    print(
                        f"error: {stack.path.name} at {args.base} is invalid, so no review: {e}",
                        file=sys.stderr,
                    )
                    return EXIT_CONFIG
                doc = review.review(base, head)
                before = base_plans.plan_at(stack, args.base, tree)
                try:
                    after = run.run(stack)
                except pulumi.RunError as e:
                    print(f"error: {stack.path.name}: {e}", file=sys.stderr)
                    return EXIT_CONFIG
                ops = operations.compute(
                    [r.to_json() for r in before.resources], [r.to_json() for r in after.resources]
                )
                doc["operations"] = [o.to_json() for o in ops if o.op != "same"]
                doc["operationCounts"] = dict(sorted(operations.counts(ops).items()))
                docs.append((stack, doc))
    except base_plans.BaseError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    if args.format == "json":
        out: object = (
            docs[0][1]
            if len(docs) == 1
            else [{"stack": s.stack, "file": s.path.name, **d} for s, d in docs]
        )
        print(json.dumps(out, indent=2))
    elif len(docs) == 1:
        print(review.review_markdown(docs[0][1]), end="")
    else:
        for s, d in docs:
            print(f"# Stack {s.stack} ({s.path.name})\n")
            print(review.review_markdown(d))
    return 0


def cmd_stacks(args: argparse.Namespace) -> int:
    """The stacks a change since ``--base`` touches, as JSON (a CI matrix)."""
    import json
    import subprocess

    from eks_access import fleet

    root = Path(args.project)
    diff = subprocess.run(
        ["git", "diff", "--name-only", f"{args.base}...HEAD"],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if diff.returncode != 0:
        print(f"error: cannot diff against {args.base!r}: {diff.stderr.strip()}", file=sys.stderr)
        return EXIT_CONFIG
    stacks = [stackfile.read(p) for p in sorted(root.glob("Pulumi.*.yaml"))]
    changed = set(diff.stdout.split())
    print(json.dumps(fleet.affected(changed, {s.stack: s.sources for s in stacks})))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Write a stack config from an exported aws-auth (and RBAC), then prove the plan equal."""
    import yaml

    from eks_access import adopt

    try:
        aws_auth_text = Path(args.aws_auth).read_text()
        data = adopt.aws_auth_data(adopt.documents(aws_auth_text, args.aws_auth), args.aws_auth)
        imported, teams = adopt.from_aws_auth(data, args.cluster, args.region)
        for rbac_file in args.rbac:
            adopt.add_rbac(imported, teams, adopt.documents(Path(rbac_file).read_text(), rbac_file))
    except (OSError, adopt.AdoptError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    out = Path(args.out)
    header = [
        f"# Imported by `python -m eks_access import` from {args.aws_auth}"
        + (f" and {', '.join(args.rbac)}" if args.rbac else ""),
        "# Review before `pulumi up`; README 'Adopting a cluster'.",
        *(f"# NOTE: {n}" for n in imported.notes),
    ]
    out.write_text(
        "\n".join(header)
        + "\n"
        + yaml.safe_dump({"config": imported.config}, sort_keys=False, width=10_000)
    )
    print(f"wrote {out}: {len(imported.identities)} mappings, {len(imported.grants)} grants")
    for n in imported.notes:
        print(f"  note: {n}")
    stack = stackfile.read(out)
    try:
        stack.load()
    except core.ConfigError as e:
        print(f"the imported config is not valid as is ({len(e.problems)} problems):")
        for p in e.problems:
            print(f"  {p}")
        return 1
    import pulumi

    from offline import plan, run

    try:
        result = run.run(stack)
    except pulumi.RunError as e:
        print(f"the offline plan of {out} stopped: {e}")
        return 1
    diffs = adopt.compare(imported, plan.aws_auth_data(result), plan.kubernetes_objects(result))
    if diffs:
        print(f"NOT equivalent: {len(diffs)} differences between the cluster today and the plan:")
        for d in diffs:
            print(f"  {d}")
        return 1
    print(
        f"equivalent: the offline plan of {out} maps the same {len(imported.identities)} "
        f"principals (ARN, username, groups) and grants the same {len(imported.grants)} "
        "bindings as the export"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eks_access", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="what `pulumi up` would create, offline (mock runtime)")
    p.add_argument(
        "--config-file",
        required=True,
        nargs="+",
        action="extend",
        help="the stack file(s), Pulumi.<stack>.yaml; several plan a fleet",
    )
    p.add_argument(
        "--out", required=True, help="folder for plan.json, aws-auth.yaml, rbac.yaml, iam.json"
    )
    p.add_argument(
        "--policy-config",
        help="policy pack config (JSON, as for --policy-pack-config); levels and settings",
    )
    p.add_argument(
        "--base",
        metavar="REF",
        help="git ref of the state to start from: writes operations.json, what `pulumi up` "
        "would create, update, replace and delete",
    )
    p.add_argument(
        "--base-out",
        metavar="DIR",
        help="a previous plan's --out folder as the state to start from (instead of --base)",
    )
    p.add_argument(
        "--acknowledge-lockout",
        action="store_true",
        help="plan even a config that maps no one but the nodes, or that stops mapping more "
        "than half of the base's principals (exit 3 otherwise)",
    )
    p.set_defaults(func=cmd_plan)
    m = sub.add_parser("migrate", help="ordered, checked steps to the next authentication mode")
    m.add_argument("--config-file", required=True, help="the stack file, Pulumi.<stack>.yaml")
    m.add_argument("--to", required=True, choices=core.AUTH_MODES, help="the mode to reach")
    m.add_argument(
        "--node-access-entries",
        choices=("create", "eks-managed"),
        help="who gives node roles access entries (needed to reach API)",
    )
    m.set_defaults(func=cmd_migrate)

    def request_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("verb")
        p.add_argument("resource", help="TYPE[.GROUP][/NAME], or a non-resource URL like /healthz")
        p.add_argument("-n", "--namespace", default=None)
        p.add_argument("--subresource", default="")
        p.add_argument(
            "--config-file", required=True, nargs="+", action="extend", help="one or more stacks"
        )

    c = sub.add_parser("can-i", help="may this IAM/STS principal do this? (yes/no, exit 0/1)")
    request_args(c)
    c.add_argument(
        "--as", dest="as_", required=True, help="IAM user/role ARN or STS assumed-role ARN"
    )
    c.add_argument("-v", "--verbose", action="store_true", help="say which grants allow it")
    c.set_defaults(func=cmd_can_i)
    w = sub.add_parser("who-can", help="every principal that may do this, and the grant")
    request_args(w)
    w.set_defaults(func=cmd_who_can)
    a = sub.add_parser("access", help="the access matrix, per principal")
    a.add_argument(
        "--config-file", required=True, nargs="+", action="extend", help="one or more stacks"
    )
    a.add_argument("--format", choices=("markdown", "json"), default="markdown")
    a.set_defaults(func=cmd_access)
    i = sub.add_parser("import", help="stack config from an exported aws-auth and RBAC, checked")
    i.add_argument(
        "--aws-auth", required=True, help="kubectl get configmap aws-auth -n kube-system -o yaml"
    )
    i.add_argument(
        "--rbac",
        action="append",
        default=[],
        help="kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml",
    )
    i.add_argument("--cluster", required=True, help="the EKS cluster's name")
    i.add_argument("--region", required=True, help="the cluster's AWS region")
    i.add_argument("--out", default="Pulumi.imported.yaml", help="the stack file to write")
    i.set_defaults(func=cmd_import)
    st = sub.add_parser("stacks", help="stacks a change touches, as JSON (for a CI matrix)")
    st.add_argument("--base", required=True, help="git ref to compare with")
    st.add_argument("--project", default=".", help="the project folder")
    st.set_defaults(func=cmd_stacks)
    r = sub.add_parser("review", help="access gained and lost since a git ref, riskiest first")
    r.add_argument("--base", required=True, help="git ref of the config to compare with")
    r.add_argument(
        "--config-file", required=True, nargs="+", action="extend", help="one or more stacks"
    )
    r.add_argument("--format", choices=("markdown", "json"), default="markdown")
    r.set_defaults(func=cmd_review)
    return parser


def _files(args: argparse.Namespace) -> str:
    files = getattr(args, "config_file", None) or getattr(args, "aws_auth", "")
    return " ".join(files) if isinstance(files, list) else str(files)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except stackfile.StackFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except core.ConfigError as e:
        print(
            f"error: invalid stack config in {_files(args)} "
            f"({len(e.problems)} problems); nothing was written:",
            file=sys.stderr,
        )
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
