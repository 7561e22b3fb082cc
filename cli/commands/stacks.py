"""`eks-access stacks`: the stacks a change since a git ref touches, for a CI matrix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cli.common import (
    EXIT_OK,
    Subparsers,
    UserError,
    at_option,
    command,
)
from eks_access import stackfile


def run(args: argparse.Namespace) -> int:
    """The stacks a change since ``--base`` touches, as JSON (a CI matrix)."""
    import subprocess

    from eks_access import fleet

    root = Path(args.project)
    if not (root / "Pulumi.yaml").is_file():
        raise UserError(f"--project {root}: no Pulumi.yaml there")
    if args.ended:
        return _ended(root)
    if not args.base:
        raise UserError("give --base REF (the stacks a change touches) or --ended")
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


def _ended(root: Path) -> int:
    """The cluster stacks with a grant whose ``expires`` has passed (at ``--at``): where the
    scheduled run applies the ends and removes the lines."""
    from eks_access import clock, expiring

    found = []
    for path in sorted(root.glob("Pulumi.*.yaml")):
        stack = stackfile.read(path)
        if not stack.is_identity_owner and expiring.ended(stack.load_as_written(), clock.now()):
            found.append(stack.stack)
    print(json.dumps(found))
    return EXIT_OK


def register(sub: Subparsers) -> None:
    st = command(
        sub,
        "stacks",
        "stacks a change touches, as JSON (for a CI matrix)",
        "Print the stacks whose files (or the program) changed since --base, or (--ended) "
        "those with a grant whose expires has passed, as a JSON list.",
    )
    which = st.add_mutually_exclusive_group(required=True)
    which.add_argument("--base", metavar="REF", help="git ref to compare with")
    which.add_argument(
        "--ended", action="store_true",
        help="the stacks with a grant that has ended (as of --at): the scheduled expiry run's",
    )  # fmt: skip
    at_option(st)
    st.add_argument("--project", default=".", metavar="DIR", help="the project folder")
    st.set_defaults(func=run)
