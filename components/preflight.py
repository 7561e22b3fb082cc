"""The live aws-auth preflight: read ``kube-system/aws-auth`` through the stack's own kubeconfig
before anything is written to Kubernetes, and stop the run when the write would remove a line that
neither the config nor this stack put there (``eks_access.live``).

The read is a Kubernetes provider read (``ConfigMap.get``), so it happens in ``pulumi preview``
as in ``pulumi up``. It has a provider of its own: the stack's Kubernetes provider waits for the
verdict (``depends_on``), so when the preflight stops, no Kubernetes object is written at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from eks_access import awsauth, live


class PreflightStop(pulumi.RunError):
    """The live aws-auth holds lines the next write would remove without anyone saying so."""


def stop_message(cluster: str, verdict: live.Preflight) -> str:
    lines = "\n".join(f"  {s}" for s in verdict.stops)
    return (
        f"live aws-auth preflight of cluster {cluster} stopped the run before anything was "
        f"written to Kubernetes ({len(verdict.stops)} "
        f"{'line' if len(verdict.stops) == 1 else 'lines'} the write would remove):\n{lines}"
    )


def check(
    cluster: str,
    found: Mapping[str, Any],
    desired: Mapping[str, str],
    acknowledged: Sequence[str],
) -> live.Preflight:
    """The verdict on the object the provider read; warnings logged, stops raised."""
    current = live.LiveAwsAuth.from_object(found, f"cluster {cluster}")
    verdict = live.preflight(current, desired, acknowledged)
    for warning in verdict.warnings:
        pulumi.log.warn(warning)
    if verdict.stops:
        raise PreflightStop(stop_message(cluster, verdict))
    return verdict


def live_aws_auth(
    cluster: str,
    kubeconfig: pulumi.Input[str],
    desired: Mapping[str, str],
    acknowledged: Sequence[str],
) -> pulumi.Output[list[pulumi.Resource]]:
    """What the stack's Kubernetes provider must depend on: the live aws-auth read and
    judged; it fails (and with it every Kubernetes write) when the preflight stops."""
    reader = k8s.Provider("kubernetes-preflight", kubeconfig=kubeconfig)
    found = k8s.core.v1.ConfigMap.get(
        "aws-auth-live",
        f"{awsauth.NAMESPACE}/{awsauth.NAME}",
        opts=pulumi.ResourceOptions(provider=reader),
    )

    def judged(args: list[Any]) -> list[pulumi.Resource]:
        data, metadata = args
        obj = {
            "kind": "ConfigMap",
            "metadata": {
                "name": awsauth.NAME,
                "namespace": awsauth.NAMESPACE,
                "annotations": dict(_field(metadata, "annotations") or {}),
            },
            "data": dict(data or {}),
        }
        check(cluster, obj, desired, acknowledged)
        return [found]

    return pulumi.Output.all(found.data, found.metadata).apply(judged)


def _field(value: Any, name: str) -> Any:
    """A field of an output object type, which the SDK gives as a typed object or a dict."""
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)
