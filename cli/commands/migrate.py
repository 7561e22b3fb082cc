"""`eks-access migrate`: ordered, checked steps to the next authentication mode
(``offline.migration``).
"""

from __future__ import annotations

import argparse

from cli.common import (
    EXIT_NO,
    EXIT_OK,
    Subparsers,
    UserError,
    command,
    config_files,
    emit,
    format_option,
)
from eks_access import config as core
from eks_access import stackfile


def run(args: argparse.Namespace) -> int:
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


def register(sub: Subparsers) -> None:
    m = command(
        sub,
        "migrate",
        "ordered, checked steps to the next authentication mode",
        "Print the steps from the stack's authentication mode to --to: cluster commands and "
        "config edits, each planned offline and resolved the way EKS resolves identities.",
    )
    config_files(m, "the stack file", many=False)
    m.add_argument("--to", required=True, choices=core.AUTH_MODES, help="the mode to reach")
    m.add_argument(
        "--node-access-entries", choices=("create", "eks-managed"),
        help="who gives node roles access entries (needed to reach API)",
    )  # fmt: skip
    format_option(m, "text", "json")
    m.set_defaults(func=run)
