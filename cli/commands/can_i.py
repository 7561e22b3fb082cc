"""`eks-access can-i`: yes, no or unknown for one principal and request (``authz.answer``)."""

from __future__ import annotations

import argparse
import sys

from cli.common import (
    EXIT_NO,
    EXIT_OK,
    Subparsers,
    UserError,
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
from eks_access import arns


def _caller(value: str) -> str:
    """``--as``, checked: an IAM user or role ARN, or an STS assumed-role ARN."""
    try:
        arns.caller_key(value)
    except arns.ArnError:
        raise UserError(
            f"--as {value!r}: not an IAM user or role ARN nor an STS assumed-role ARN; give e.g. "
            "arn:aws:iam::111122223333:user/alice or "
            "arn:aws:sts::111122223333:assumed-role/ROLE/SESSION (lower-case arn:)"
        ) from None
    return value


def run(args: argparse.Namespace) -> int:
    from eks_access import authz

    caller = _caller(args.as_)
    stacks = cluster_stacks(args.config_file)
    code, docs = EXIT_OK, []
    warned: set[str] = set()
    for stack, config in stacks:
        state, source = state_of(args, stack, config, len(stacks))
        req = authz.parse_request(args.verb, args.resource, args.namespace, args.subresource)
        request_warnings(req, config, warned)
        found = authz.answer(state, caller, req)
        code = max(code, EXIT_OK if found.allowed else EXIT_NO)
        if args.format == "json":
            docs.append((stack, {**found.to_json(source), "at": used_time()}))
            continue
        heading(stacks, stack, config)
        print(found.word, flush=True)
        print(f"(answered for {source}, at {used_time()})", file=sys.stderr)
        if found.note:
            print(found.note, file=sys.stderr)
        for g in found.grants if args.verbose else ():
            print(f"  via {g.via}", file=sys.stderr)
    if args.format == "json":
        emit(docs)
    return code


def register(sub: Subparsers) -> None:
    c = command(
        sub,
        "can-i",
        "may this IAM or STS principal do this? yes/no, exit 0/1",
        "Answer as EKS and Kubernetes would: the principal is mapped the way the authenticator "
        "and access entries map it, then Kubernetes RBAC (and EKS access policies) decide.",
    )
    request_arguments(c)
    c.add_argument(
        "--as", dest="as_", required=True, metavar="ARN",
        help="an IAM user or role ARN, or an STS assumed-role ARN",
    )  # fmt: skip
    c.add_argument("-v", "--verbose", action="store_true", help="say which grants allow it")
    live_option(c)
    at_option(c)
    format_option(c, "text", "json")
    c.set_defaults(func=run)
