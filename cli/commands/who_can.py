"""`eks-access who-can`: every principal that may make a request, and the grant."""

from __future__ import annotations

import argparse
import sys

from cli.common import (
    EXIT_OK,
    Subparsers,
    at_option,
    cluster_stacks,
    command,
    emit,
    format_option,
    heading,
    live_option,
    request_arguments,
    request_warnings,
    state_of,
    used_time,
)


def run(args: argparse.Namespace) -> int:
    from eks_access import authz

    stacks = cluster_stacks(args.config_file)
    docs = []
    warned: set[str] = set()
    for stack, config in stacks:
        state, source = state_of(args, stack, config, len(stacks))
        req = authz.parse_request(args.verb, args.resource, args.namespace, args.subresource)
        request_warnings(req, config, warned)
        found = authz.who_can(state, req)
        if args.format == "json":
            docs.append((stack, {**found.to_json(source), "at": used_time()}))
            continue
        heading(stacks, stack, config)
        print(f"(answered for {source}, at {used_time()})", file=sys.stderr)
        for ident, policies in found.unknown:
            print(
                f"unknown: {ident.arn} holds {', '.join(policies)}, whose rules this "
                "tool does not know; it may be allowed too",
                file=sys.stderr,
            )
        if not found.granted:
            print(f"nobody mapped by this stack can {req.describe()}", file=sys.stderr)
            continue
        print("PRINCIPAL\tUSERNAME\tGRANTED BY")
        for ident, grant in found.granted:
            print(f"{ident.arn}\t{ident.username}\t{grant.via}", flush=True)
    if args.format == "json":
        emit(docs)
    return EXIT_OK


def register(sub: Subparsers) -> None:
    w = command(
        sub,
        "who-can",
        "every principal that may do this, and the grant",
        "List every principal the stack maps that may make the request, with the binding or "
        "access policy that allows it.",
    )
    request_arguments(w)
    live_option(w)
    at_option(w)
    format_option(w, "text", "json")
    w.set_defaults(func=run)
