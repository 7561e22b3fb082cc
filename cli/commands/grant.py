"""`eks-access grant` and `eks-access revoke`: break-glass access in one command. Each edits the
stack file (comments and layout kept), checks the result with the reader `pulumi up` uses, and
prints the branch and pull-request commands; nothing is applied here."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cli.common import (
    EXIT_OK,
    EXIT_POLICY,
    Subparsers,
    UserError,
    as_written,
    at_option,
    command,
    print_diff,
    read_for_edit,
)
from eks_access import clock, stackfile

WHO = (
    ("--user", "users", "NAME", "an IAM user the stack creates"),
    ("--existing-user", "existingUsers", "ARN", "an IAM user that exists already"),
    ("--role", "roles", "ARN", "an IAM role"),
    ("--permission-set", "permissionSets", "NAME", "an IAM Identity Center permission set"),
)


def stack_file(value: str) -> Path:
    """``--stack``: a stack name (``prod``: ``Pulumi.prod.yaml`` here) or the file's path."""
    path = Path(value)
    if path.suffix in (".yaml", ".yml"):
        return path
    if not re.fullmatch(r"[\w.-]+", value):
        raise UserError(f"--stack {value!r}: give a stack name (prod) or a Pulumi.<stack>.yaml")
    return Path(f"Pulumi.{value}.yaml")


def _principal(args: argparse.Namespace) -> Any:
    from eks_access.grants import Principal

    for flag, key, _, _ in WHO:
        value = getattr(args, flag[2:].replace("-", "_"))
        if value:
            return Principal(key, value)
    raise UserError("name who: --user, --existing-user, --role or --permission-set")


def _read(path: Path) -> tuple[stackfile.StackFile, str]:
    """The stack and its text with ``\n`` line ends (``_write`` puts back the file's own)."""
    stack = stackfile.read(path)
    return stack, read_for_edit(stack.path)[1]


def _checked(stack: stackfile.StackFile, text: str) -> Any:
    """The edited file read as `pulumi up` would read it: the config as written, or the
    problems (nothing written); a reference stack's users checked against its identity stack,
    as `plan` checks them."""
    from cli.commands.plan import identity_members
    from eks_access import config as core
    from eks_access import fleet

    edited = stackfile.read(stack.path, text)
    try:
        config = edited.load_as_written()
    except core.ConfigError as e:
        lines = "; ".join(str(p) for p in e.problems)
        raise UserError(f"{stack.path.name}: the edit would not be valid config: {lines}") from None
    members = [fleet.FleetStack(edited.path.name, edited.stack, config)]
    if problems := fleet.problems(members + identity_members([edited], members)):
        raise UserError(f"{stack.path.name}: the edit would not plan: {'; '.join(problems)}")
    return config


def _settings(config: Any, who: Any) -> tuple[dict[str, Any], dict[str, str | None]]:
    """The principal's other fields where the stack defines it already (keys, path, username:
    one definition everywhere), and its memberships as written: team -> expires (None: none)."""
    from eks_access import kinds
    from eks_access.config.assembly import member_id

    settings: dict[str, Any] = {}
    teams: dict[str, str | None] = {}
    wanted = member_id(who.ident, who.key)
    for t, team in enumerate(config.teams):
        for m in kinds.members(team, f"teams[{t}]", config.context()):
            if m.kind.config_key != who.key:
                continue
            entry = m.item.model_dump(
                mode="json", by_alias=True, exclude_defaults=True, exclude_none=True
            )
            if member_id(entry, who.key) != wanted:
                continue
            teams[team.name] = m.item.expires
            if not settings:
                kept = m.item.settings().model_dump(
                    mode="json", by_alias=True, exclude_defaults=True, exclude_none=True
                )
                settings = {k: v for k, v in kept.items() if k != who.field}
    return settings, teams


def _pack_bound(stack: stackfile.StackFile, policy_config: str | None) -> tuple[str, float | None]:
    """``maxDays`` of the pack's ``admin-grants-end`` for this stack, when the stack's pack
    config enables it (``--policy-config``, else ``policy/config.<stack>.json``)."""
    from cli.commands.plan import stack_pack_config
    from offline import policy

    given = policy_config or stack_pack_config(stack)
    path = Path(given) if given else None
    if path is None:
        return "disabled", None
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"--policy-config {path}: {e}") from None
    rule = next(p for p in policy.pack.POLICIES if p.name == "admin-grants-end")
    level, values = policy.settings(rule, config)
    return level, (None if level == "disabled" else float(values["maxDays"]))


def _team(config: Any, name: str) -> Any:
    team = next((t for t in config.teams if t.name == name), None)
    if team is None:
        raise UserError(f"no team {name!r} in the stack's config")
    return team


def _write(stack: stackfile.StackFile, before: str, after: str, dry_run: bool) -> None:
    print_diff(stack.path.name, before, after)
    if not dry_run:
        stack.path.write_bytes(as_written(stack.path.read_bytes(), after))


def _next_steps(stack: stackfile.StackFile, branch: str, message: str) -> None:
    q, name = shlex.quote, shlex.quote(stack.path.name)
    print(
        "\nnext, to have it reviewed and applied (`pulumi up` runs after the merge):\n"
        f"  eks-access plan --config-file {name} --out {q(f'out/{stack.stack}')}\n"
        f"  git switch -c {q(branch)}\n"
        f"  git commit -m {q(message)} -- {name}\n"
        f"  git push -u origin {q(branch)}\n"
        f"  gh pr create --fill --title {q(message)}"
    )


def _branch(kind: str, team: str, who: Any, at: datetime) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "-", who.ident.rsplit("/", 1)[-1]).strip("-").lower()
    return f"{kind}/{team}-{name}-{at.strftime('%Y%m%d%H%M')}"


def run_grant(args: argparse.Namespace) -> int:
    from eks_access import expiring, grants, rules

    path = stack_file(args.stack)
    stack, before = _read(path)
    if stack.is_identity_owner:
        raise UserError(f"{stack.path.name} is an identity stack: grant access in a cluster stack")
    who = _principal(args)
    at = clock.now()
    if args.until:
        try:
            expires = clock.expiry_value(args.until)
        except ValueError as e:
            raise UserError(f"--until: {e}") from None
    else:
        expires = grants.duration_end(at, args.duration)
    if clock.ended(expires, at):
        raise UserError(
            f"--until {expires} has passed (it is {clock.written(at)}): nothing to grant"
        )
    settings, was = _settings(stack.load_as_written(), who)
    if args.team in was and was[args.team] is None:
        raise UserError(
            f"{who} is in team {args.team} already, with no end; a grant that ends would "
            "shorten it (to end it, use `eks-access revoke`)"
        )
    try:  # a member the team lists already: only its end (and reason) is written
        edit = grants.grant(
            before, stack.path.name, project=stack.project, team=args.team, who=who,
            expires=expires, reason=args.reason,
            settings=settings if args.team not in was else {},
        )  # fmt: skip
    except grants.GrantError as e:
        raise UserError(str(e)) from None
    config = _checked(stack, edit.text)
    _team(config, args.team)
    _, now_in = _settings(config, who)
    gained = [t for t, end in now_in.items() if was.get(t, "absent") != end]
    level, bound = _pack_bound(stack, args.policy_config)
    for name in gained:  # every team the edit reaches (one, unless YAML shares a list)
        levels = expiring.admin_levels(_team(config, name))
        problem = (
            rules.end_problem(clock.written(clock.end_of(expires)), at, bound)
            if (bound is not None and levels)
            else None
        )
        if problem:
            said = (
                f"team {name} grants {', '.join(levels)}, and the stack's policy "
                f"(admin-grants-end, {level}) bounds such grants to {bound:g} days: this grant "
                f"{problem}"
            )
            if level == "mandatory":
                print(f"stopped: {said}; nothing was written", file=sys.stderr)
                return EXIT_POLICY
            print(f"warning: {said}", file=sys.stderr)
    _write(stack, before, edit.text, args.dry_run)
    print(f"{stack.path.name}: {edit.change} ({edit.path}), as of {clock.written(at)}")
    if not args.dry_run:
        message = f"grant {who} in {args.team} until {expires}: {args.reason}"
        _next_steps(stack, _branch("grant", args.team, who, at), message)
    return EXIT_OK


def run_revoke(args: argparse.Namespace) -> int:
    from eks_access import grants

    path = stack_file(args.stack)
    stack, before = _read(path)
    who = _principal(args)
    at = clock.now()
    _, was = _settings(stack.load_as_written(), who)
    if args.team not in was:
        raise UserError(f"{who} is not in team {args.team} in {stack.path.name}'s config")
    ends = was[args.team]
    if ends is not None and clock.end_of(ends) <= at:
        raise UserError(f"{who}'s membership of team {args.team} has ended already ({ends})")
    try:
        edit = grants.revoke(
            before, stack.path.name, project=stack.project, team=args.team, who=who, at=at,
            reason=args.reason,
        )  # fmt: skip
    except grants.GrantError as e:
        raise UserError(str(e)) from None
    _checked(stack, edit.text)
    _write(stack, before, edit.text, args.dry_run)
    print(f"{stack.path.name}: {edit.change} ({edit.path})")
    if not args.dry_run:
        message = f"revoke {who} in {args.team}" + (f": {args.reason}" if args.reason else "")
        _next_steps(stack, _branch("revoke", args.team, who, at), message)
    return EXIT_OK


def _duration(value: str) -> timedelta:
    from eks_access import expiring

    try:
        return expiring.within_value(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).replace("--within", "--for")) from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", required=True, help="the stack (prod: Pulumi.prod.yaml) or its file")
    p.add_argument("--team", required=True, help="the team, by name")
    who = p.add_mutually_exclusive_group(required=True)
    for flag, _, metavar, text in WHO:
        who.add_argument(flag, metavar=metavar, help=text)
    p.add_argument("--dry-run", action="store_true", help="print the change; write nothing")
    at_option(p)


def register(sub: Subparsers) -> None:
    g = command(
        sub,
        "grant",
        "break-glass: add someone to a team until a time, in the stack file",
        "Add a principal to a team with an expires (--for 4h, or --until a time) and the "
        "reason, in the stack file (in eks-access:teamOverrides.<team>.addMembers when the "
        "stack's teams come from a teams file or ESC), comments and layout kept; a member "
        "with an expires already gets the new one. Checked as `pulumi up` reads it, and "
        "refused past the bound of the stack's policy (admin-grants-end) for cluster-admin and "
        "admin teams. Prints the git and gh commands for the pull request.",
    )
    _common(g)
    length = g.add_mutually_exclusive_group(required=True)
    length.add_argument(
        "--for", dest="duration", type=_duration, metavar="DURATION",
        help="how long, from --at: hours, days or weeks (4h, 3d, 1w)",
    )  # fmt: skip
    length.add_argument("--until", metavar="EXPIRES", help="an expires, as the config takes it")
    g.add_argument(
        "--reason", required=True, help="why (a ticket or an incident): kept in the file"
    )
    g.add_argument(
        "--policy-config", metavar="FILE",
        help="the stack's policy pack config (default: policy/config.<stack>.json if present)",
    )  # fmt: skip
    g.set_defaults(func=run_grant)
    r = command(
        sub,
        "revoke",
        "end someone's membership of a team now, in the stack file",
        "Set the member's expires to --at (now) where this stack file lists it (its teams, or "
        "its teamOverrides), comments and layout kept: `pulumi up` then removes the access and "
        "`eks-access expiring --remove-ended` the line. Prints the pull-request commands.",
    )
    _common(r)
    r.add_argument("--reason", help="why: kept in the file")
    r.set_defaults(func=run_revoke)
