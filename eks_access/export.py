"""`eks-access export`: the folder ``--live DIR`` reads (``cluster_view``), from the cluster
itself. The one module of the core that calls out: AWS through boto3 (the ambient credentials,
as the AWS CLI finds them) and Kubernetes through kubectl, with a kubeconfig made from
DescribeCluster for this cluster only (never whatever the current kubeconfig context is).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from eks_access import cluster_view, kubeconfig
from eks_access.live import AWS_AUTH_FILE


class ExportError(RuntimeError):
    """The cluster could not be read; nothing was written."""


def _pages(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> Iterator[Any]:
    token: str | None = None
    while True:
        page = call(**kwargs, **({"nextToken": token} if token else {}))
        yield from page.get(key) or []
        token = page.get("nextToken")
        if not token:
            return


def _json(doc: Any) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n"


def read_aws(eks: Any, cluster: str) -> dict[str, str]:
    """The AWS files (name -> text): DescribeCluster, every access entry with its policies
    (the API modes), node groups and Fargate profiles."""
    found = eks.describe_cluster(name=cluster)["cluster"]
    files = {cluster_view.CLUSTER_FILE: _json({"cluster": found})}
    mode = (found.get("accessConfig") or {}).get("authenticationMode") or "CONFIG_MAP"
    if mode != "CONFIG_MAP":
        entries = []
        for arn in _pages(eks.list_access_entries, "accessEntries", clusterName=cluster):
            entry = eks.describe_access_entry(clusterName=cluster, principalArn=arn)
            policies = list(
                _pages(
                    eks.list_associated_access_policies,
                    "associatedAccessPolicies",
                    clusterName=cluster,
                    principalArn=arn,
                )
            )
            entries.append(
                {"accessEntry": entry["accessEntry"], "associatedAccessPolicies": policies}
            )
        files[cluster_view.ENTRIES_FILE] = _json(entries)
    files[cluster_view.NODEGROUPS_FILE] = _json(
        [
            eks.describe_nodegroup(clusterName=cluster, nodegroupName=n)["nodegroup"]
            for n in _pages(eks.list_nodegroups, "nodegroups", clusterName=cluster)
        ]
    )
    files[cluster_view.FARGATE_FILE] = _json(
        [
            eks.describe_fargate_profile(clusterName=cluster, fargateProfileName=n)[
                "fargateProfile"
            ]
            for n in _pages(eks.list_fargate_profiles, "fargateProfileNames", clusterName=cluster)
        ]
    )
    files[".kubeconfig"] = json.dumps(
        kubeconfig.render(
            cluster, found["endpoint"], found["certificateAuthority"]["data"], eks.meta.region_name
        )
    )
    return files


def read_kubernetes(kubeconfig_text: str, kubectl: str = "kubectl") -> dict[str, str]:
    """aws-auth and every RBAC object, as kubectl prints them."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="eks-access-export-") as scratch:
        config = Path(scratch) / "kubeconfig"
        config.write_text(kubeconfig_text)
        config.chmod(0o600)
        for name, argv in (
            (AWS_AUTH_FILE, ["get", "configmap", "aws-auth", "-n", "kube-system", "-o", "yaml"]),
            (cluster_view.RBAC_FILE,
             ["get", "roles,rolebindings,clusterroles,clusterrolebindings", "-A", "-o", "yaml"]),
        ):  # fmt: skip
            try:
                proc = subprocess.run(
                    [kubectl, "--kubeconfig", str(config), *argv],
                    capture_output=True, text=True, check=False, timeout=120,
                )  # fmt: skip
            except (OSError, subprocess.TimeoutExpired) as e:
                raise ExportError(f"kubectl ({kubectl}): {e}") from None
            if proc.returncode != 0:
                if name == AWS_AUTH_FILE and "NotFound" in proc.stderr:
                    continue  # no aws-auth: an API-mode cluster, say so by its absence
                raise ExportError(f"kubectl {' '.join(argv)}: {proc.stderr.strip()[-500:]}")
            out[name] = proc.stdout
    return out


def export(cluster: str, region: str, out: Path, kubectl: str = "kubectl") -> list[str]:
    """Write the export folder; the files written. Everything is read before anything is
    written, so a failure leaves no half folder."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        eks = boto3.client("eks", region_name=region)
        files = read_aws(eks, cluster)
    except (BotoCoreError, ClientError) as e:
        raise ExportError(f"EKS ({region}): {e}") from None
    files.update(read_kubernetes(files.pop(".kubeconfig"), kubectl))
    out.mkdir(parents=True, exist_ok=True)
    for name in cluster_view.FILES:  # an earlier export's file must not pass for this one's
        if name not in files:
            (out / name).unlink(missing_ok=True)
    for name, text in sorted(files.items()):
        (out / name).write_text(text)
    return sorted(files)
