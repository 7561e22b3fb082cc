"""Command line: `python -m eks_access COMMAND` (see `--help`).

This module is the one place in ``eks_access`` that may reach the Pulumi SDK, and only for
`plan`, which runs the program under the mock runtime (``offline``); the other commands are
plain Python over the config.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from eks_access import config as core
from eks_access import stackfile

EXIT_CONFIG = 2


def _load(path: str) -> tuple[stackfile.StackFile, core.StackConfig]:
    stack = stackfile.read(path)
    return stack, stack.load()


def cmd_plan(args: argparse.Namespace) -> int:
    stack, _ = _load(args.config_file)
    import pulumi  # the SDK is needed for this command only

    from offline import plan, run

    try:
        result = run.run(stack)
    except pulumi.RunError as e:  # the program's own config check; load() agrees, so rare
        print(e, file=sys.stderr)
        return EXIT_CONFIG
    out = Path(args.out)
    written = plan.write(result, out, stack.project, stack.stack)
    print(
        f"Offline plan of stack {stack.stack!r} ({stack.path.name}) written to {out}/: "
        + ", ".join(sorted(written))
    )
    print(plan.summary(result))
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eks_access", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="what `pulumi up` would create, offline (mock runtime)")
    p.add_argument("--config-file", required=True, help="the stack file, Pulumi.<stack>.yaml")
    p.add_argument(
        "--out", required=True, help="folder for plan.json, aws-auth.yaml, rbac.yaml, iam.json"
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except stackfile.StackFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except core.ConfigError as e:
        print(
            f"error: invalid stack config in {args.config_file} "
            f"({len(e.problems)} problems); nothing was written:",
            file=sys.stderr,
        )
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
