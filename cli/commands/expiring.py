"""`eks-access expiring`: the grants that end soon, and those already ended (``expiring``)."""

from __future__ import annotations

import argparse
from datetime import timedelta

from cli.common import (
    EXIT_OK,
    Subparsers,
    UserError,
    as_written,
    at_option,
    command,
    config_files,
    emit,
    format_option,
    heading,
    print_diff,
    read_for_edit,
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
    if args.remove_ended:
        return _remove_ended(stacks, args.dry_run, args.include_teams_files)
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


def _remove_ended(stacks: list[stackfile.StackFile], dry_run: bool, teams_files: bool) -> int:
    """Remove the ended lines from each stack file (and, with ``teams_files``, from the teams
    files they name: other stacks share those, so only once each has applied the end); ESC
    environments are named, not edited (they are published to ESC, not only kept here)."""
    import sys
    from pathlib import Path

    from eks_access import config as core
    from eks_access import expiring, grants

    at = clock.now()
    edits: dict[Path, tuple[bytes, str, str]] = {}  # file -> (bytes, text, text after)
    kept: list[str] = []
    for stack in stacks:
        files = [stack.path]
        teams_file = stack.raw.get(core.TEAMS_FILE)
        if isinstance(teams_file, str) and teams_files:
            files.append((stack.project_dir / teams_file).resolve())
        for path in files:
            if path in edits:
                continue
            raw, text = read_for_edit(path)
            try:
                after, removed, held = grants.remove_ended(
                    text, path.name, project=stack.project, at=at, shared=_shared_members(stack)
                )
                teams = grants.ended_teams(text, path.name, project=stack.project, at=at)
            except grants.GrantError as e:
                raise UserError(str(e)) from None
            for line in removed:
                print(f"{path.name}: removed {line}, ended by {used_time()}")
            kept += [f"{path.name}: kept {line}" for line in held]
            kept += [f"{path.name}: team {name} has ended and is kept (its roles, bindings and "
                     "namespaces go only if a person removes it)" for name in teams]  # fmt: skip
            if after != text:
                edits[path] = (raw, text, after)
    for path, (_, text, after) in edits.items():
        print_diff(path.name, text, after)
    for line in kept:
        print(line, file=sys.stderr)
    if dry_run:
        return EXIT_OK
    for path, (raw, _, after) in edits.items():
        path.write_bytes(as_written(raw, after))
    for stack in stacks:  # every stack still reads as `pulumi up` reads it, or nothing changes
        try:
            left = expiring.ended(stackfile.read(stack.path).load_as_written(), at)
        except (core.ConfigError, stackfile.StackFileError) as e:
            for path, (raw, _, _) in edits.items():
                path.write_bytes(raw)
            problems = getattr(e, "problems", None)
            said = "; ".join(str(p) for p in problems) if problems else str(e)
            raise UserError(
                f"{stack.path.name}: the removal would leave invalid config ({said}); "
                "nothing was changed"
            ) from None
        places = _elsewhere(stack, teams_files)
        for gone in left if places else ():
            if gone.what.startswith("team "):
                continue  # said above
            print(
                f"note: {stack.path.name}: {gone.what} ended and is still in its config "
                f"({gone.path} as read): unless kept above, it is written in {places}",
                file=sys.stderr,
            )
    if not edits:
        print(f"no ended lines to remove (as of {used_time()})")
    return EXIT_OK


def _shared_members(stack: stackfile.StackFile) -> set[tuple[str, str, str]]:
    """(team, list, member) for every member the stack's teams list before its own overrides:
    the shared definition (a teams file or ESC) an ``addMembers`` entry may stand in for."""
    from eks_access import config as core
    from eks_access.config.assembly import MEMBER_KEYS, member_id

    raw = {k: v for k, v in stack.raw.items() if k != core.OVERRIDES}
    teams = stackfile.with_teams_file(raw, stack.project_dir).get(f"{core.NAMESPACE}:teams")
    found = set()
    for team in teams if isinstance(teams, list) else []:
        if not isinstance(team, dict):
            continue
        for key in MEMBER_KEYS:
            for entry in team.get(key) or []:
                if (ident := member_id(entry, key)) is not None:
                    found.add((str(team.get("name")), key, ident))
    return found


def _elsewhere(stack: stackfile.StackFile, teams_files: bool) -> str:
    """Where an ended line this command left is written."""
    from eks_access import config as core

    places = [f"{s} (ESC: edit it and publish it)" for s in stack.sources if s.startswith("esc/")]
    shared = stack.raw.get(core.TEAMS_FILE)
    if isinstance(shared, str) and not teams_files:
        places.append(
            f"{shared} (shared: --include-teams-files once every stack using it applied the end)"
        )
    return " or ".join(places)


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
    x.add_argument(
        "--remove-ended", action="store_true",
        help="remove the lines of grants that have ended by --at from the stack files, "
        "comments and layout kept; prints the diff",
    )  # fmt: skip
    x.add_argument(
        "--include-teams-files", action="store_true",
        help="with --remove-ended: the teams files the stacks name too (other stacks share "
        "them: only once each has applied the end)",
    )  # fmt: skip
    x.add_argument("--dry-run", action="store_true", help="with --remove-ended: write nothing")
    at_option(x)
    format_option(x, "text", "json")
    x.set_defaults(func=run, within_text=None)
