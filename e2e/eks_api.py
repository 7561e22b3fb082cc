"""An EKS API stand-in over HTTP, for `eks-access export` through an unmodified boto3 client.

Test infrastructure, never shipped. It serves the read operations `export` calls, from the same
JSON state the engine's stand-in keeps (``e2e/engine/__init__.py``: clusters, access entries,
policy associations; node groups and Fargate profiles added here). botocore's own service model
judges both sides: requests are routed by the model's ``requestUri`` templates (a request boto3
would not send finds no route), and every response is validated against the operation's output
shape with botocore's validator before it is sent (a field the model lacks, or a wrong type,
is a 500 that fails the caller).

    with serve(state_path) as url:   # AWS_ENDPOINT_URL_EKS=url for boto3
        ...
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

OPERATIONS = (
    "DescribeCluster",
    "ListAccessEntries",
    "DescribeAccessEntry",
    "ListAssociatedAccessPolicies",
    "ListNodegroups",
    "DescribeNodegroup",
    "ListFargateProfiles",
    "DescribeFargateProfile",
)


def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("eks")


def _routes(model: Any) -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for op in OPERATIONS:
        uri = model.operation_model(op).http["requestUri"]
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(uri))
        out.append((op, re.compile(f"^{pattern}$")))
    return out


def _stamp(value: Any) -> datetime:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime(2026, 1, 1, tzinfo=UTC)


class NotFoundError(Exception):
    pass


def answer(state: dict[str, Any], op: str, p: dict[str, str]) -> dict[str, Any]:
    """The operation's output from the stand-in state (the state keeps the provider's names)."""
    cluster = state["clusters"].get(p["name"])
    if cluster is None:
        raise NotFoundError(f"No cluster found for name: {p['name']}.")
    name = cluster["name"]
    entries = state["accessEntries"].get(name, {})
    if op == "DescribeCluster":
        return {
            "cluster": {
                "name": name,
                "arn": f"arn:aws:eks:us-east-1:111122223333:cluster/{name}",
                "version": cluster.get("version", "1.33"),
                "endpoint": cluster["endpoint"],
                "status": "ACTIVE",
                "certificateAuthority": {"data": cluster["caData"]},
                "accessConfig": {"authenticationMode": cluster["authenticationMode"]},
                "createdAt": _stamp(None),
            }
        }
    if op == "ListAccessEntries":
        if cluster["authenticationMode"] == "CONFIG_MAP":
            raise NotFoundError(
                "The cluster's authentication mode must be set to one of [API, "
                "API_AND_CONFIG_MAP] to perform this operation."
            )
        return {"accessEntries": sorted(entries)}
    if op in ("DescribeAccessEntry", "ListAssociatedAccessPolicies"):
        principal = unquote(p["principalArn"])
        entry = entries.get(principal)
        if entry is None:
            raise NotFoundError(f"The specified principalArn could not be found: {principal}")
        if op == "DescribeAccessEntry":
            return {
                "accessEntry": {
                    "clusterName": name,
                    "principalArn": principal,
                    "kubernetesGroups": list(entry.get("kubernetesGroups") or []),
                    "accessEntryArn": entry.get("accessEntryArn", ""),
                    "createdAt": _stamp(entry.get("createdAt")),
                    "modifiedAt": _stamp(entry.get("modifiedAt")),
                    "tags": dict(entry.get("tags") or {}),
                    "username": entry.get("userName", ""),
                    "type": entry.get("type", "STANDARD"),
                }
            }
        by_policy = state["associations"].get(name, {}).get(principal, {})
        return {
            "clusterName": name,
            "principalArn": principal,
            "associatedAccessPolicies": [
                {
                    "policyArn": arn,
                    "accessScope": a["accessScope"],
                    "associatedAt": _stamp(a.get("associatedAt")),
                    "modifiedAt": _stamp(a.get("modifiedAt")),
                }
                for arn, a in sorted(by_policy.items())
            ],
        }
    groups = state.get("nodegroups", {}).get(name, {})
    profiles = state.get("fargateProfiles", {}).get(name, {})
    if op == "ListNodegroups":
        return {"nodegroups": sorted(groups)}
    if op == "DescribeNodegroup":
        if p["nodegroupName"] not in groups:
            raise NotFoundError(f"No node group found for name: {p['nodegroupName']}.")
        group = p["nodegroupName"]
        return {
            "nodegroup": {
                "nodegroupName": group,
                "clusterName": name,
                "nodeRole": groups[group],
                "status": "ACTIVE",
            }
        }
    if op == "ListFargateProfiles":
        return {"fargateProfileNames": sorted(profiles)}
    if p["fargateProfileName"] not in profiles:
        raise NotFoundError(f"No Fargate profile found for name: {p['fargateProfileName']}.")
    return {"fargateProfile": {"fargateProfileName": p["fargateProfileName"], "clusterName": name,
                               "podExecutionRoleArn": profiles[p["fargateProfileName"]],
                               "status": "ACTIVE"}}  # fmt: skip


def _handler(state_path: Path, calls: list[str]) -> type[BaseHTTPRequestHandler]:
    from botocore.validate import ParamValidator

    from e2e.engine import read_state

    model = _model()
    routes = _routes(model)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: dict[str, Any], error: str = "") -> None:
            data = json.dumps(body, default=lambda d: d.timestamp()).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if error:
                self.send_header("x-amzn-ErrorType", error)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            found = next(((op, m) for op, p in routes if (m := p.match(path))), None)
            if found is None:
                self._send(404, {"message": f"no route for GET {path}"}, "UnknownOperation")
                return
            op, m = found
            calls.append(op)
            try:
                body = answer(read_state(state_path), op, m.groupdict())
            except NotFoundError as e:
                self._send(404, {"message": str(e)}, "ResourceNotFoundException")
                return
            report = ParamValidator().validate(body, model.operation_model(op).output_shape)
            if report.has_errors():
                self._send(500, {"message": report.generate_report()}, "ServerException")
                return
            self._send(200, body)

    return Handler


@contextlib.contextmanager
def serve(state_path: Path, calls: list[str] | None = None) -> Iterator[str]:
    """The stand-in on a loopback port; yields its URL (for ``AWS_ENDPOINT_URL_EKS``)."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), _handler(state_path, calls if calls is not None else [])
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
