"""`eks-access review`: access gained and lost since a git ref and what `pulumi up` would do
(``changes.review_document``), as JSON, the pull-request comment and the HTML page.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.common import (
    EXIT_OK,
    Subparsers,
    UserError,
    at_option,
    command,
    config_files,
    dumps,
    format_option,
    live_aws_auth,
    lockout_stops,
    out_folder,
    prefix,
    title,
    used_time,
)
from eks_access import clock, stackfile
from eks_access import config as core

if TYPE_CHECKING:
    from eks_access.documents import ReviewDocument
    from offline.run import RunResult


def run(args: argparse.Namespace) -> int:
    import pulumi

    from eks_access import changes, expiring, operations
    from offline import base as base_plans
    from offline import run as offline_run

    stacks = [stackfile.read(p) for p in dict.fromkeys(args.config_file)]
    docs: list[tuple[stackfile.StackFile, ReviewDocument]] = []
    configs: list[tuple[core.StackConfig, core.StackConfig]] = []
    try:
        with base_plans.tree_at(args.base, stacks[0].path.parent) as tree:
            top, folder = tree
            for stack in stacks:
                if stack.is_identity_owner:
                    continue  # owns IAM users only: no cluster access to review
                head_written = stack.load_as_written()
                head = core.in_effect(head_written, clock.now())
                at_base = folder / stack.path.resolve().relative_to(top)
                try:
                    base_written = (
                        stackfile.read(at_base).load_as_written()
                        if at_base.is_file()
                        # a stack new in this change: everything it grants is gained
                        else changes.new_stack_base(stack.raw)
                    )
                    base = core.in_effect(base_written, clock.now())
                except (core.ConfigError, stackfile.StackFileError) as e:
                    raise UserError(
                        f"{stack.path.name} at {args.base} is invalid, so no review: {e}"
                    ) from None
                before = base_plans.plan_at(stack, args.base, tree)
                try:
                    after = offline_run.run(stack)
                except pulumi.RunError as e:
                    raise UserError(f"{stack.path.name}: {e}") from None
                ops = operations.compute(before.resources, after.resources)
                # what would stop `pulumi up` (or the plan) on this change, above the fold
                stops = lockout_stops(before, after, ops, stack, False)
                if args.live:
                    found, _ = live_aws_auth(args, stack, len(stacks))
                    stops = _preflight_warnings(found, after, head) + stops
                configs.append((base, head))
                ends = expiring.end_changes(base_written, head_written, clock.now())
                docs.append(
                    (stack, changes.review_document(base, head, ops=ops, stops=stops, ends=ends))
                )
    except base_plans.BaseError as e:
        raise UserError(str(e)) from None
    rendered = _review_outputs(docs, configs)
    if args.artifacts:  # every format at once, for the CI to keep (docs/review.md)
        folder = out_folder(Path(args.artifacts))
        folder.mkdir(parents=True, exist_ok=True)
        for fmt, text in rendered.items():
            (folder / f"review.{'md' if fmt == 'markdown' else fmt}").write_text(text)
    if not docs:
        print("No stack given maps anyone into a cluster: nothing to review.", file=sys.stderr)
    if args.format != "json":
        print(f"(both configs as of {used_time()})", file=sys.stderr)
    print(rendered[args.format], end="")  # JSON stays JSON when empty: []
    return EXIT_OK


def _preflight_warnings(found: Any, after: RunResult, head: core.StackConfig) -> list[str]:
    """The review's first warning when the live aws-auth preflight would stop `pulumi up` (the
    core's check, on what the program would write, as the program runs it)."""
    from eks_access import live
    from offline import plan as offline_plan

    desired = offline_plan.aws_auth_data(after)
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
        for section in report.review_sections(base, head, doc, prefix(heads, s, head))
    ]
    titled = [(f"{head.cluster.name} (stack {s.stack})", d)
              for (s, d), (_, head) in zip(docs, configs, strict=True)]  # fmt: skip
    return {
        "json": dumps([(s, {**d.to_json(), "at": used_time()}) for s, d in docs]),
        "markdown": comment.markdown(titled) if docs else "",
        "html": report.page(title("Access review", heads), sections) if docs else "",
    }


def register(sub: Subparsers) -> None:
    r = command(
        sub,
        "review",
        "access gained and lost since a git ref, and what `pulumi up` would do",
        "Compare the stack at a git ref with the working copy: every permission gained or "
        "lost per principal, riskiest first, and the resource operations.",
    )
    r.add_argument(
        "--base", required=True, metavar="REF", help="git ref of the state to compare with"
    )
    config_files(r)
    at_option(r)
    format_option(r, "markdown", "json", "html")
    r.add_argument(
        "--artifacts", metavar="DIR",
        help="also write review.json, review.md and review.html into DIR (what CI uploads)",
    )  # fmt: skip
    r.add_argument(
        "--live", metavar="DIR",
        help="the cluster's live objects, exported as for plan --live (DIR/<stack>/ for several "
        "stacks): a preflight stop of `pulumi up` is shown above the fold",
    )  # fmt: skip
    r.set_defaults(func=run)
