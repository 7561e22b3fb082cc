"""`eks-access export`: the cluster's live access objects into a folder (``export``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import (
    EXIT_OK,
    Subparsers,
    UserError,
    command,
    out_folder,
)


def run(args: argparse.Namespace) -> int:
    from eks_access import export

    out = out_folder(Path(args.out))
    try:
        written = export.export(args.cluster, args.region, out, args.kubectl)
    except export.ExportError as e:
        raise UserError(f"export of cluster {args.cluster}: {e}; nothing was written") from None
    print(f"wrote {out}/: {', '.join(written)}")
    return EXIT_OK


def register(sub: Subparsers) -> None:
    ex = command(
        sub,
        "export",
        "the cluster's live access objects into a folder, for --live",
        "Read the cluster with the ambient AWS credentials (boto3) and kubectl, through a "
        "kubeconfig made from DescribeCluster (never the current context): cluster.json, "
        "access-entries.json, nodegroups.json, fargate-profiles.json, aws-auth.yaml, rbac.yaml.",
    )
    ex.add_argument("--cluster", required=True, help="the EKS cluster's name")
    ex.add_argument("--region", required=True, help="the cluster's AWS region")
    ex.add_argument("--out", required=True, metavar="DIR", help="the folder to write")
    ex.add_argument("--kubectl", default="kubectl", metavar="PATH", help="kubectl to run")
    ex.set_defaults(func=run)
