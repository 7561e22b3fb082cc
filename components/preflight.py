"""The live aws-auth preflight: read ``kube-system/aws-auth`` with the stack's own kubeconfig
before the program registers anything, and stop the run when the write would remove a line
that neither the config nor this stack put there (``eks_access.live``).

The read is a plain lookup, like the program's invokes: it happens before the first resource
is registered, in ``pulumi preview`` as in ``pulumi up``, so a stop leaves IAM and Kubernetes
untouched. It uses the official Kubernetes Python client (the kubeconfig's ``aws eks get-token``
included), not a provider read: a provider read fails the whole run when aws-auth does not exist
yet, where the server-side-apply patch creates it.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi

from eks_access import awsauth, live

Reader = Callable[[str], Mapping[str, Any] | None]
"""A kubeconfig (JSON) in; aws-auth as a ConfigMap object, or None when the cluster has none."""


class PreflightStop(pulumi.RunError):
    """The live aws-auth holds lines the next write would remove without anyone saying so."""


class UnreadableError(RuntimeError):
    """The live aws-auth could not be read (the cluster unreachable, the caller not allowed)."""


def _with_token(kubeconfig: dict[str, Any]) -> dict[str, Any]:
    """The kubeconfig with its exec credential (``aws eks get-token``) run here. The client
    would run it too, but it only logs a failing plugin and goes on anonymously, so a missing
    ``aws`` or expired credentials would read as the API server's 401: run it, say why."""
    for user in kubeconfig.get("users") or []:
        spec = (user.get("user") or {}).get("exec")
        if not spec:
            continue
        argv = [spec["command"], *spec.get("args", [])]
        env = {**os.environ, **{e["name"]: e["value"] for e in spec.get("env") or []}}
        try:
            proc = subprocess.run(
                argv, env=env, capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise UnreadableError(f"`{' '.join(argv[:3])}`: {e}") from None
        if proc.returncode != 0:
            raise UnreadableError(
                f"`{' '.join(argv[:3])}` exited {proc.returncode}: {proc.stderr.strip()[-300:]}"
            )
        try:
            token = json.loads(proc.stdout)["status"]["token"]
        except (ValueError, KeyError, TypeError):
            raise UnreadableError(f"`{' '.join(argv[:3])}` printed no ExecCredential") from None
        user["user"] = {"token": token}
    return kubeconfig


def read_with_client(kubeconfig: str) -> Mapping[str, Any] | None:
    """kube-system/aws-auth through the Kubernetes API, with this kubeconfig only; one retry and
    short timeouts, so an unreachable endpoint costs seconds, not minutes."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException

    try:
        settings = client.Configuration()
        config.load_kube_config_from_dict(
            _with_token(json.loads(kubeconfig)), client_configuration=settings
        )
        settings.retries = 1
        api = client.CoreV1Api(client.ApiClient(settings))
        found = api.read_namespaced_config_map(
            awsauth.NAME, awsauth.NAMESPACE, _request_timeout=(5, 20)
        )
    except ApiException as e:
        if e.status == 404:
            return None
        raise UnreadableError(f"the API server answered {e.status} {e.reason}") from None
    except (ConfigException, OSError, ValueError) as e:
        raise UnreadableError(f"{e.__class__.__name__}: {e}") from None
    except Exception as e:  # urllib3's errors (timeouts, TLS, refused), by their base class
        if e.__class__.__module__.startswith("urllib3"):
            raise UnreadableError(f"{e.__class__.__name__}: {e}") from None
        raise
    return {
        "kind": "ConfigMap",
        "metadata": {
            "name": awsauth.NAME,
            "namespace": awsauth.NAMESPACE,
            "annotations": dict(found.metadata.annotations or {}),
        },
        "data": dict(found.data or {}),
    }


READER: Reader = read_with_client
"""How the program reads aws-auth; the offline plan's runner answers it instead
(``offline/run.py``), as the mock runtime answers the program's invokes."""


def stop_message(cluster: str, verdict: live.Preflight) -> str:
    lines = "\n".join(f"  {s}" for s in verdict.stops)
    return (
        f"live aws-auth preflight of cluster {cluster} stopped the run before anything was "
        f"registered ({len(verdict.stops)} "
        f"{'line' if len(verdict.stops) == 1 else 'lines'} the write would remove):\n{lines}"
    )


def check_live_aws_auth(
    cluster: str,
    kubeconfig: str,
    desired: Mapping[str, str],
    acknowledged: Sequence[str],
    dry_run: bool,
) -> live.Preflight | None:
    """Read and judge the live aws-auth; warnings logged, a stop raised. A preview that cannot
    read it warns and goes on (`up` runs the check); an `up` that cannot read it stops."""
    try:
        found = READER(kubeconfig)
    except UnreadableError as e:
        what = f"could not read kube-system/aws-auth of cluster {cluster} ({e})"
        if dry_run:
            pulumi.log.warn(
                f"live aws-auth preflight: {what}; this preview did not check what the write "
                "would remove, and `pulumi up` stops unless it can read it"
            )
            return None
        raise PreflightStop(
            f"live aws-auth preflight: {what}; nothing was registered. Run with credentials "
            "that can read it (the same ones that write it)"
        ) from None
    source = f"cluster {cluster}"
    current = (
        live.LiveAwsAuth.from_object(found, source)
        if found is not None
        else live.LiveAwsAuth({}, {}, f"{source} (no aws-auth yet: the patch creates it)")
    )
    verdict = live.preflight(current, desired, acknowledged)
    for warning in verdict.warnings:
        pulumi.log.warn(warning)
    if verdict.stops:
        raise PreflightStop(stop_message(cluster, verdict))
    return verdict
