"""The audit of the dev stack against two exported clusters (as the dev plan leaves it; and with
hand-made access: an aws-auth line, bindings to a session's username, a service account, a user
nobody maps, an allowed exception, a file not read), in its three formats (JSON, Markdown, the
HTML page), as ``eks-access audit`` renders them.

``tests/cli/test_audit.py`` compares them with the copies in ``tests/fixtures/golden-audit``,
taken before the audit's document became typed (issue 27). A deliberate change rewrites them
(``python -m tests.golden_audit --write``), with the reason in the commit message.
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "golden-audit"
DAVE = "arn:aws:iam::111122223333:user/dave"
CASES = ("unchanged", "hand-made")


def _binding(kind: str, name: str, role: str, *subjects: dict[str, str]) -> dict[str, Any]:
    meta: dict[str, str] = {"name": name}
    if kind == "RoleBinding":
        meta["namespace"] = "default"
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": list(subjects),
    }


def _export(case: str, folder: Path) -> None:
    from eks_access import stackfile
    from offline import plan
    from offline.run import run
    from tests.conftest import DEV

    result = run(stackfile.read(DEV))
    data = plan.aws_auth_data(result)
    extra: list[dict[str, Any]] = []
    if case == "hand-made":
        data = {**data, "mapUsers": data["mapUsers"]
                + f"- userarn: {DAVE}\n  username: dave\n  groups: [ops]\n"}  # fmt: skip
        user = {"kind": "User", "apiGroup": "rbac.authorization.k8s.io"}
        extra = [
            _binding("RoleBinding", "hand-made-ops", "admin", {"kind": "Group", "name": "ops"}),
            _binding(
                "ClusterRoleBinding",
                "hand-made-admin",
                "cluster-admin",
                {**user, "name": "payments-sso:alice"},
            ),
            _binding(
                "ClusterRoleBinding",
                "ci",
                "edit",
                {"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"},
                {**user, "name": "nobody-maps-me"},
            ),
        ]
    meta = {"name": "aws-auth", "namespace": "kube-system"}
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}
    (folder / "aws-auth.yaml").write_text(yaml.safe_dump(configmap))
    masters = _binding("ClusterRoleBinding", "cluster-admin", "cluster-admin",
                       {"kind": "Group", "name": "system:masters"})  # fmt: skip
    masters["metadata"]["labels"] = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    items = [*plan.kubernetes_objects(result), masters, *extra]
    (folder / "rbac.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})
    )


def rendered(case: str) -> dict[str, str]:
    """One case's audit: ``{"json": ..., "md": ..., "html": ...}``."""
    from eks_access import audit, cluster_view, report, stackfile
    from tests.conftest import DEV

    folder = Path(tempfile.mkdtemp(prefix="eks-access-golden-audit-"))
    _export(case, folder)
    config = stackfile.read(DEV).load()
    export = cluster_view.read(folder)
    allowed = [audit.Allowance(DAVE, "reviewed: ops on-call")] if case == "hand-made" else []
    doc = audit.audit(config, cluster_view.state_of(export, "CONFIG_MAP"), allowed,
                      export.not_read)  # fmt: skip
    title = f"{config.cluster.name} (stack dev)"
    return {
        "json": json.dumps(doc.to_json(), indent=2, sort_keys=False) + "\n",
        "md": audit.markdown(doc, title),
        "html": report.page(f"Access audit: {title}", audit.html_sections(doc)),
    }


def path(case: str, ext: str) -> Path:
    return GOLDEN / f"{case}.{ext}.gz"


def stored(case: str, ext: str) -> str:
    return gzip.decompress(path(case, ext).read_bytes()).decode()


def write() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for old in GOLDEN.glob("*"):
        old.unlink()
    for case in CASES:
        for ext, text in rendered(case).items():
            path(case, ext).write_bytes(gzip.compress(text.encode(), 9, mtime=0))


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.golden_audit --write")
    write()
