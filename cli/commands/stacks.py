"""`eks-access stacks`: the stacks a change since a git ref touches, for a CI matrix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cli.common import (
    EXIT_OK,
    Subparsers,
    UserError,
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


def register(sub: Subparsers) -> None:
    st = command(
        sub,
        "stacks",
        "stacks a change touches, as JSON (for a CI matrix)",
        "Print the stacks whose files (or the program) changed since --base, as a JSON list.",
    )
    st.add_argument("--base", required=True, metavar="REF", help="git ref to compare with")
    st.add_argument("--project", default=".", metavar="DIR", help="the project folder")
    st.set_defaults(func=run)
