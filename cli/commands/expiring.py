"""`eks-access expiring`: the grants that end soon, and those already ended (``expiring``)."""

from __future__ import annotations

import argparse
from datetime import timedelta

from cli.common import (
    EXIT_OK,
    Subparsers,
    at_option,
    command,
    config_files,
    emit,
    format_option,
    heading,
    used_time,
)
from eks_access import clock, stackfile


def _within(value: str) -> timedelta:
    from eks_access import expiring

    try:
        return expiring.within_value(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def run(args: argparse.Namespace) -> int:
    from eks_access import expiring

    args.within_text = _text(args.within)
    stacks = [stackfile.read(p) for p in dict.fromkeys(args.config_file)]
    configs = [(s, s.load_as_written()) for s in stacks if not s.is_identity_owner]
    at = clock.now()
    found = [(s, c, expiring.endings(c, at, args.within)) for s, c in configs]
    if args.format == "json":
        emit([(s, {"at": used_time(), "within": args.within_text,
                   "grants": [e.to_json() for e in ends]}) for s, _, ends in found])  # fmt: skip
        return EXIT_OK
    for stack, config, ends in found:
        heading(configs, stack, config)
        if not ends:
            print(f"nothing ends by {clock.written(at + args.within)} (as of {used_time()})")
            continue
        for e in ends:
            when = "ended" if e.status == "ended" else "ends"
            print(f"{when} {clock.written(e.ends)}  {e.what}  ({e.path}: expires {e.expires})")
    return EXIT_OK


def _text(within: timedelta) -> str:
    hours = int(within.total_seconds() // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


def register(sub: Subparsers) -> None:
    x = command(
        sub,
        "expiring",
        "grants that end soon, and those already ended",
        "List every grant (a principal in a team, a team, an access policy) whose expires "
        "falls within --within of --at, and those already ended (their lines can go), "
        "soonest first, per stack.",
    )
    config_files(x)
    x.add_argument(
        "--within", type=_within, default=timedelta(days=14), metavar="DURATION",
        help="how far ahead: hours, days or weeks (36h, 14d, 2w; default 14d)",
    )  # fmt: skip
    at_option(x)
    format_option(x, "text", "json")
    x.set_defaults(func=run, within_text=None)
