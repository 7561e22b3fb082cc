"""`eks-access access`: the access matrix of a config or of the cluster as exported."""

from __future__ import annotations

import argparse
import sys

from cli.common import (
    EXIT_OK,
    Subparsers,
    at_option,
    cluster_stacks,
    command,
    config_files,
    emit,
    format_option,
    heading,
    live_option,
    prefix,
    state_of,
    title,
    used_time,
)


def run(args: argparse.Namespace) -> int:
    from eks_access import report, review

    stacks = cluster_stacks(args.config_file)
    if args.live or args.live_cluster:  # the cluster's answer
        states = {s.path: state_of(args, s, c, len(stacks))[:2] for s, c in stacks}
        if args.format == "json":
            emit([(s, {"principals": review.access_json(c, states[s.path][0]),
                       "source": states[s.path][1], "at": used_time()})
                  for s, c in stacks])  # fmt: skip
            return EXIT_OK
        for stack, config in stacks:
            heading(stacks, stack, config)
            print(f"(answered for {states[stack.path][1]}, at {used_time()})", file=sys.stderr)
            print(review.access_markdown(config, states[stack.path][0]), end="")
        return EXIT_OK
    if args.format == "json":
        emit([(s, {"principals": review.access_json(c), "at": used_time()}) for s, c in stacks])
        return EXIT_OK
    print(f"(answered for the config, at {used_time()})", file=sys.stderr)
    if args.format == "html":
        sections = [
            section
            for s, c in stacks
            for section in report.access_sections(c, prefix(stacks, s, c))
        ]
        print(report.page(title("Who can do what", stacks), sections), end="")
        return EXIT_OK
    for stack, config in stacks:
        heading(stacks, stack, config)
        print(review.access_markdown(config), end="")
    return EXIT_OK


def register(sub: Subparsers) -> None:
    a = command(
        sub,
        "access",
        "the access matrix, per principal",
        "Every mapped principal with its username, groups and the grants that apply to it.",
    )
    config_files(a)
    live_option(a)
    at_option(a)
    format_option(a, "markdown", "json", "html")
    a.set_defaults(func=run)
