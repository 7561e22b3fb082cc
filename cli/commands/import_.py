"""`eks-access import`: a stack config from an exported aws-auth and RBAC (``adopt``), with
the offline plan of it compared to what was exported.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.common import (
    EXIT_NO,
    EXIT_OK,
    Subparsers,
    UserError,
    command,
    out_folder,
)
from eks_access import stackfile

if TYPE_CHECKING:
    from offline.run import RunResult


def _imported(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """The import of ``--aws-auth`` (and ``--rbac``) or of an export folder (``--live``)."""
    from eks_access import adopt, cluster_view

    if args.live:
        export = cluster_view.read(Path(args.live))
        imported, teams = adopt.from_export(export, args.cluster, args.region)
        if export.rbac is not None:
            adopt.add_rbac(imported, teams, export.rbac)
        return imported, teams, f"the export folder {args.live}"
    text = Path(args.aws_auth).read_text()
    data = adopt.aws_auth_data(adopt.documents(text, args.aws_auth), args.aws_auth)
    imported, teams = adopt.from_aws_auth(data, args.cluster, args.region)
    for rbac_file in args.rbac:
        adopt.add_rbac(imported, teams, adopt.documents(Path(rbac_file).read_text(), rbac_file))
    return imported, teams, args.aws_auth + (f" and {', '.join(args.rbac)}" if args.rbac else "")


def _import_file(out: Path, result: RunResult, cluster: str, imported: Any) -> None:
    """``<stack>.import.json`` for `pulumi import --file`: the cluster's existing access entries
    and policy associations that the config now manages. Without it the first `pulumi up` would
    try to create them again and fail (ResourceInUseException: one entry per principal)."""
    have = {
        e["accessEntry"]["principalArn"].lower()
        for e in imported.export.entries or []
        if (e["accessEntry"].get("type") or "STANDARD") == "STANDARD"
    }
    by_urn = {r.urn: r for r in result.resources}
    wanted: list[Any] = []
    ids: dict[str, str] = {}
    for r in result.resources:
        ins = r.inputs
        if r.type == "aws:eks/accessEntry:AccessEntry":
            rid = f"{cluster}:{ins['principalArn']}"
        elif r.type == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation":
            rid = f"{cluster}#{ins['principalArn']}#{ins['policyArn']}"
        else:
            continue
        if str(ins["principalArn"]).lower() in have:
            wanted.append(r)
            ids[r.urn] = rid
    # Every ancestor below the stack goes into the file too, parents first: the engine refuses
    # an import whose parent is neither in the state nor imported before it ("unknown parent");
    # a component is "imported" by registering it (`component: true`).
    ordered: dict[str, Any] = {}

    def add(r: Any) -> None:
        parent = by_urn.get(r.parent)
        if parent is not None and parent.urn not in ordered:
            add(parent)
        ordered.setdefault(r.urn, r)

    for r in wanted:
        add(r)
    resources = []
    for urn, r in ordered.items():
        item: dict[str, Any] = {"type": r.type, "name": r.name}
        if urn in ids:
            item["id"] = ids[urn]
        else:
            item["component"] = True
        if r.parent in ordered:
            item["parent"] = ordered[r.parent].name
        resources.append(item)
    if not wanted:
        return
    doc = {"resources": resources}
    path = out.with_suffix(".import.json")
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    print(
        f"wrote {path.name}: {len(wanted)} existing access entries and associations; import "
        f"them before the first up (`pulumi import --file {path.name}`), or `pulumi up` fails "
        "creating them again (ResourceInUseException)"
    )


def run(args: argparse.Namespace) -> int:
    """Write a stack config from an exported aws-auth (and RBAC), proving the plan equal.

    Everything that can fail is done before the file is written: the export is read, the
    config validated and planned from a scratch copy beside ``--out``; an existing ``--out`` is
    kept unless ``--force``.
    """
    import tempfile

    import pulumi
    import yaml

    from eks_access import adopt, live
    from offline import plan as offline_plan
    from offline import run as offline_run

    out = Path(args.out).resolve()
    if out.exists() and not args.force:
        raise UserError(f"--out {args.out}: exists; choose another file, or pass --force")
    if not (out.name.startswith("Pulumi.") and out.suffix in (".yaml", ".yml")):
        raise UserError(f"--out {args.out}: a stack file is named Pulumi.<stack>.yaml")
    if not any((d / "Pulumi.yaml").is_file() for d in out.parents):
        raise UserError(
            f"--out {args.out}: not inside a Pulumi project (no Pulumi.yaml in its folder or above)"
        )
    out_folder(out.parent)
    if bool(args.aws_auth) == bool(args.live):
        raise UserError("give --aws-auth FILE (and --rbac) or --live DIR (an export folder)")
    if args.live and args.rbac:
        raise UserError("--live DIR reads DIR/rbac.yaml; --rbac goes with --aws-auth")
    try:
        imported, _, source = _imported(args)
    except (OSError, adopt.AdoptError, live.LiveError) as e:
        raise UserError(str(e)) from None
    header = [
        f"# Imported by `eks-access import` from {source}",
        "# Review before `pulumi up`; docs/adopting.md.",
        *(f"# NOTE: {n}" for n in imported.notes),
    ]
    text = (
        "\n".join(header)
        + "\n"
        + yaml.safe_dump({"config": imported.config}, sort_keys=False, width=10_000)
    )
    with tempfile.TemporaryDirectory(prefix=".eks-access-import-", dir=out.parent) as scratch:
        draft = Path(scratch) / out.name
        draft.write_text(text)
        stack = stackfile.read(draft)
        stack = stackfile.StackFile(out, stack.project_dir, stack.project, stack.stack, stack.raw)
        stack.load()  # ConfigError: exit 2, nothing written
        try:
            result = offline_run.run(stack)
        except pulumi.RunError as e:
            raise UserError(f"the offline plan of the imported config stopped: {e}") from None
    out.write_text(text)
    print(f"wrote {out}: {len(imported.identities)} mappings, {len(imported.grants)} grants")
    for n in imported.notes:
        print(f"  note: {n}")
    diffs = adopt.compare(
        imported,
        offline_plan.aws_auth_data(result),
        offline_plan.kubernetes_objects(result),
        offline_plan.access_entries(result),
    )
    if imported.export is not None and imported.export.entries:
        _import_file(out, result, args.cluster, imported)
    if diffs:
        print(f"NOT equivalent: {len(diffs)} differences between the cluster today and the plan:")
        for d in diffs:
            print(f"  {d}")
        return EXIT_NO
    if imported.mode in ("API", "API_AND_CONFIG_MAP"):
        from eks_access import cluster_view

        resolved = cluster_view.state_of(imported.export, imported.mode).state
        print(
            f"equivalent: after the offline plan of {out.name}, EKS resolves the same "
            f"{len(resolved.identities)} principals (ARN, username, groups; entries over "
            f"aws-auth), {len(resolved.nodes)} node roles and the same access-policy grants, "
            f"and the plan grants the same {len(imported.grants)} bindings as the export"
        )
        return EXIT_OK
    print(
        f"equivalent: the offline plan of {out.name} maps the same {len(imported.identities)} "
        f"principals (ARN, username, groups) and grants the same {len(imported.grants)} "
        "bindings as the export"
    )
    return EXIT_OK


def register(sub: Subparsers) -> None:
    i = command(
        sub,
        "import",
        "a stack config from an exported aws-auth and RBAC, proven equivalent",
        "Write a stack config from `kubectl get configmap aws-auth -o yaml` (and RBAC), then "
        "prove its offline plan maps and grants the same; every lossy item is a NOTE.",
    )
    i.add_argument(
        "--aws-auth", metavar="FILE",
        help="kubectl get configmap aws-auth -n kube-system -o yaml",
    )  # fmt: skip
    i.add_argument(
        "--live", metavar="DIR",
        help="an `eks-access export` folder instead: aws-auth, RBAC and, in the API modes, the "
        "access entries with their policies",
    )  # fmt: skip
    i.add_argument(
        "--rbac", action="append", default=[], metavar="FILE",
        help="kubectl get roles,rolebindings,clusterroles,clusterrolebindings -A -o yaml",
    )  # fmt: skip
    i.add_argument("--cluster", required=True, help="the EKS cluster's name")
    i.add_argument("--region", required=True, help="the cluster's AWS region")
    i.add_argument(
        "--out", default="Pulumi.imported.yaml", metavar="FILE",
        help="the stack file to write, inside the project (default Pulumi.imported.yaml)",
    )  # fmt: skip
    i.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    i.set_defaults(func=run)
