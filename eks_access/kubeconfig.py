"""kubeconfig documents that authenticate with `aws eks get-token` (no secret inside)."""

from __future__ import annotations

from typing import Any


def render(
    cluster_name: str,
    endpoint: str,
    certificate_authority: str,
    region: str,
    profile: str | None = None,
) -> dict[str, Any]:
    """A kubeconfig for one cluster; ``profile`` is the AWS CLI profile that makes the token."""
    env = [{"name": "AWS_PROFILE", "value": profile}] if profile else None
    user: dict[str, Any] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": [
                "eks",
                "get-token",
                "--cluster-name",
                cluster_name,
                "--region",
                region,
                "--output",
                "json",
            ],
            "interactiveMode": "Never",
        }
    }
    if env:
        user["exec"]["env"] = env
    context = f"{cluster_name}-{profile}" if profile else cluster_name
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {
                    "server": endpoint,
                    "certificate-authority-data": certificate_authority,
                },
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": cluster_name, "user": context}}],
        "current-context": context,
        "users": [{"name": context, "user": user}],
    }
