"""`eks-access audit`: the cluster's access against the config's (``audit``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cli.common import (
    EXIT_NO,
    EXIT_OK,
    Subparsers,
    UserError,
    at_option,
    cluster_stacks,
    cluster_state,
    command,
    config_files,
    emit,
    format_option,
    live_option,
    prefix,
    title,
    used_time,
)


def run(args: argparse.Namespace) -> int:
    import yaml

    from eks_access import audit, report

    stacks = cluster_stacks(args.config_file)
    allowed: list[Any] = []
    if args.allow:
        try:
            allowed = audit.allowances(yaml.safe_load(Path(args.allow).read_text()), args.allow)
        except (OSError, yaml.YAMLError, audit.AllowError) as e:
            raise UserError(f"--allow {args.allow}: {e}") from None
    docs = []
    for stack, config in stacks:
        export, found = cluster_state(args, stack, config, len(stacks))
        docs.append((stack, config, audit.audit(config, found, allowed, export.not_read)))
    code = EXIT_NO if any(d.flagged for _, _, d in docs) else EXIT_OK
    if args.format == "json":
        emit([(s, {**d.to_json(), "at": used_time()}) for s, _, d in docs])
    else:
        print(f"(the config as of {used_time()})", file=sys.stderr)
    if args.format == "html":
        sections = [sec for s, c, d in docs
                    for sec in audit.html_sections(d, prefix(stacks, s, c))]  # fmt: skip
        print(report.page(title("Access audit", stacks), sections), end="")
    elif args.format == "markdown":
        for stack, config, doc in docs:
            print(audit.markdown(doc, f"{config.cluster.name} (stack {stack.stack})"), end="")
    return code


def register(sub: Subparsers) -> None:
    au = command(
        sub,
        "audit",
        "the cluster's access against the config's, per principal",
        "Compare what the cluster grants (an export folder, --live DIR) with what the stack's "
        "config grants: access beyond the config with where it comes from, drift, platform "
        "access labelled. Exit 1 when the cluster grants people access the config and the "
        "allow-list do not.",
    )
    config_files(au)
    live_option(au, required=True)
    au.add_argument("--allow", metavar="FILE",
                    help="reviewed exceptions: a YAML list of {principal, reason}")  # fmt: skip
    at_option(au)
    format_option(au, "markdown", "json", "html")
    au.set_defaults(func=run)
