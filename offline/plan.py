"""The offline plan's files, derived from what the program registered (not from the config).

Reading the registrations rather than re-running the core means the files show exactly what
`pulumi up` would be asked to create, including any mistake a component makes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from eks_access import awsauth
from eks_access.operations import Registration
from offline import interrupt
from offline.run import RunResult

K8S_KINDS = ("Namespace", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
PLACEHOLDER_NOTE = (
    "Offline plan from Pulumi's mock runtime: no AWS or Kubernetes API was called. Resource "
    "IDs, key IDs, the cluster endpoint and CA are placeholders; the account number is taken "
    "from the config's node-role ARNs (placeholder when the config gives none)."
)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _manifest(r: Registration) -> dict[str, Any]:
    """Inputs as a manifest in kubectl's order: apiVersion, kind, metadata, then the rest."""
    body = _sorted(r.inputs)
    head = {k: body.pop(k) for k in ("apiVersion", "kind", "metadata") if k in body}
    return {**head, **body}


class _Dumper(awsauth.Yaml11Dumper):
    """Multi-line strings (aws-auth's mapRoles) as `|` blocks, the way kubectl shows them, and
    every string quoted that kubectl's YAML 1.1 reader would take for something else (a Role
    naming the object `y` must not become `true` on `kubectl apply -f rbac.yaml`)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(docs: list[dict[str, Any]]) -> str:
    return yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, width=10_000)


def kubernetes_objects(result: RunResult) -> list[dict[str, Any]]:
    """Namespaces and RBAC objects, as manifests, in apply order."""
    objs = [
        _manifest(r)
        for r in result.resources
        if r.type.startswith("kubernetes:") and r.type.rsplit(":", 1)[-1] in K8S_KINDS
    ]
    order = {k: i for i, k in enumerate(K8S_KINDS)}
    return sorted(
        objs,
        key=lambda o: (order[o["kind"]], o["metadata"].get("namespace", ""), o["metadata"]["name"]),
    )


def aws_auth(result: RunResult) -> list[dict[str, Any]]:
    """The aws-auth ConfigMap patch(es) as they would be applied (there must be one at most)."""
    return [
        _manifest(r)
        for r in result.of_type("kubernetes:core/v1:ConfigMapPatch")
        if r.inputs.get("metadata", {}).get("name") == "aws-auth"
    ]


def _grant(policy_arn: str, scope: dict[str, Any]) -> dict[str, Any]:
    grant: dict[str, Any] = {"policyArn": policy_arn, "scope": scope.get("type")}
    if scope.get("type") == "namespace":
        grant["namespaces"] = sorted(scope.get("namespaces", []))
    return grant


def _entry(
    principal_arn: str, entry: dict[str, Any], username_key: str, grants: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "principalArn": principal_arn,
        "type": entry.get("type", "STANDARD"),
        "kubernetesGroups": sorted(entry.get("kubernetesGroups", [])),
        "userName": entry.get(username_key),
        "policies": sorted(grants, key=lambda g: g["policyArn"]),
    }


def access_entries(result: RunResult) -> list[dict[str, Any]]:
    """One object per access entry: principal, type, groups, username, policies with scope."""
    policies: dict[str, list[dict[str, Any]]] = {}
    for a in result.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation"):
        policies.setdefault(a.inputs["principalArn"], []).append(
            _grant(a.inputs["policyArn"], a.inputs.get("accessScope", {}))
        )
    out = [
        _entry(
            e.inputs["principalArn"],
            e.inputs,
            "userName",
            policies.get(e.inputs["principalArn"], []),
        )
        for e in result.of_type("aws:eks/accessEntry:AccessEntry")
    ]
    # A cluster created with pulumi-eks takes its entries (and their policies) as an argument.
    for c in result.of_type("eks:index:Cluster"):
        for e in (c.inputs.get("accessEntries") or {}).values():
            grants = [
                _grant(p["policyArn"], p["accessScope"])
                for p in (e.get("accessPolicies") or {}).values()
            ]
            out.append(_entry(e["principalArn"], e, "username", grants))
    return sorted(out, key=lambda e: e["principalArn"].lower())


def aws_auth_data(result: RunResult) -> dict[str, str]:
    """The aws-auth ``data`` the program writes (empty when it writes none)."""
    docs = aws_auth(result)
    return dict(docs[0].get("data", {})) if docs else {}


def iam(result: RunResult) -> dict[str, Any]:
    """IAM users with their groups and keys, groups with their policy documents, and the team
    roles (``access: role``) with their trust and policy documents."""
    memberships: dict[str, list[str]] = {}
    for m in result.of_type("aws:iam/userGroupMembership:UserGroupMembership"):
        memberships.setdefault(m.inputs["user"], []).extend(m.inputs.get("groups", []))
    keys: dict[str, list[dict[str, Any]]] = {}
    for k in result.of_type("aws:iam/accessKey:AccessKey"):
        keys.setdefault(k.inputs["user"], []).append(
            {"resource": k.name, "pgpEncrypted": bool(k.inputs.get("pgpKey"))}
        )

    def documents(type_: str, owner: str) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for p in result.of_type(type_):
            out.setdefault(p.inputs[owner], []).append(_document(p.inputs["policy"]))
        return out

    policies = documents("aws:iam/groupPolicy:GroupPolicy", "group")
    role_policies = documents("aws:iam/rolePolicy:RolePolicy", "role")
    users = [
        {
            "name": u.inputs["name"],
            "path": u.inputs.get("path", "/"),
            "groups": sorted(memberships.get(u.inputs["name"], [])),
            "accessKeys": keys.get(u.inputs["name"], []),
            "consoleLogin": any(
                lp.inputs.get("user") == u.inputs["name"]
                for lp in result.of_type("aws:iam/userLoginProfile:UserLoginProfile")
            ),
        }
        for u in result.of_type("aws:iam/user:User")
    ]
    groups = [
        {"name": g.inputs["name"], "policies": policies.get(g.inputs["name"], [])}
        for g in result.of_type("aws:iam/group:Group")
    ]
    roles = [
        {
            "name": r.inputs["name"],
            "trustPolicy": _document(r.inputs["assumeRolePolicy"]),
            "policies": role_policies.get(r.inputs["name"], []),
        }
        for r in result.of_type("aws:iam/role:Role")
    ]
    return {
        "users": sorted(users, key=lambda u: u["name"]),
        "groups": sorted(groups, key=lambda g: g["name"]),
        "roles": sorted(roles, key=lambda r: r["name"]),
    }


def _document(doc: Any) -> Any:
    """A policy document as JSON reads it (a value the mocks left unknown stays as it is)."""
    return json.loads(doc) if isinstance(doc, str) and doc.startswith("{") else doc


FILES = (
    "plan.json",
    "aws-auth.yaml",
    "rbac.yaml",
    "iam.json",
    "access-entries.json",
    "outputs.json",
    "operations.json",
    "policy.json",
)


MARKER = ".eks-access-plan"
"""The files a plan wrote into its folder (JSON): only those are ever removed or replaced."""


class FolderError(ValueError):
    """The plan folder holds files of the plan's names that no plan wrote."""


def owned(out: Path) -> set[str]:
    """The files of ``out`` an eks-access plan wrote: those its marker lists, or, in a folder a
    plan wrote before markers existed, the plan's file names when its plan.json is a plan's."""
    try:
        listed = json.loads((out / MARKER).read_text())["files"]
        return {n for n in listed if n in FILES}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        legacy = json.loads((out / "plan.json").read_text()).get("note") == PLACEHOLDER_NOTE
    except (OSError, ValueError, AttributeError):
        legacy = False
    return set(FILES) if legacy else set()


def _check_foreign(out: Path, names: Iterable[str]) -> None:
    mine = owned(out)
    if foreign := sorted(n for n in names if (out / n).exists() and n not in mine):
        raise FolderError(
            f"--out {out} holds {', '.join(foreign)}, which no eks-access plan wrote; "
            "plan into another folder (or move those files): a plan never replaces files "
            "it does not own"
        )


def clear(out: Path) -> None:
    """Remove the previous plan's files (only those: a file another tool keeps there stays),
    so that a plan that fails leaves none looking current. Raises FolderError when a file of a
    plan's name is another tool's, before anything is planned."""
    _check_foreign(out, FILES)
    with interrupt.held():
        for name in owned(out):
            (out / name).unlink(missing_ok=True)
        (out / MARKER).unlink(missing_ok=True)


def write(
    result: RunResult, out: Path, project: str, stack: str, extra: dict[str, str] | None = None
) -> dict[str, Path]:
    """Write plan.json, aws-auth.yaml, rbac.yaml, iam.json, access-entries.json, outputs.json
    (and ``extra`` files, name to text). Every file is sorted by a stable key, so the same
    config always gives the same bytes and two plans can be diffed. The files are written
    aside and swapped in together, Ctrl-C held back for the swap: the folder holds the previous
    plan or this one, never half of one; files of other tools are never replaced."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "plan.json": json.dumps(
            {
                "project": project,
                "stack": stack,
                "note": PLACEHOLDER_NOTE,
                # By URN: the SDK registers resources in an order that varies between runs.
                "resources": sorted(
                    (r.to_json() for r in result.resources), key=lambda r: r["urn"]
                ),
            },
            indent=2,
            sort_keys=True,
        ),
        "aws-auth.yaml": dump_yaml(aws_auth(result)),
        "rbac.yaml": dump_yaml(kubernetes_objects(result)),
        "iam.json": json.dumps(iam(result), indent=2, sort_keys=True),
        "access-entries.json": json.dumps(access_entries(result), indent=2, sort_keys=True),
        "outputs.json": json.dumps(result.outputs, indent=2, sort_keys=True),
        **(extra or {}),
    }
    _check_foreign(out, files)
    with interrupt.held():
        _swap_in(out, files)
    return {name: out / name for name in files}


def _swap_in(out: Path, files: dict[str, str]) -> None:
    aside = Path(tempfile.mkdtemp(prefix=f"{MARKER}-", dir=out))
    try:
        for name, text in files.items():
            (aside / name).write_text(text if text.endswith("\n") else text + "\n")
        previous = owned(out)
        # the marker first lists every file that may be ours mid-swap, then exactly the new ones
        (out / MARKER).write_text(json.dumps({"files": sorted(previous | set(files))}) + "\n")
        for name in files:
            os.replace(aside / name, out / name)
        for name in previous - set(files):
            (out / name).unlink(missing_ok=True)
        (out / MARKER).write_text(json.dumps({"files": sorted(files)}) + "\n")
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def mapped_principals(result: RunResult) -> set[str]:
    """The principals (lower-cased ARNs as written) a plan maps to a person, not a node: by
    aws-auth, by access entry of type STANDARD, or through a created cluster's arguments."""
    out = {
        arn.lower()
        for arn, m in awsauth.parse(aws_auth_data(result)).mappings.items()
        if not m.username.startswith("system:node:")
    }
    out |= {e["principalArn"].lower() for e in access_entries(result) if e["type"] == "STANDARD"}
    for c in result.of_type("eks:index:Cluster"):
        for key, arn_key in (("roleMappings", "roleArn"), ("userMappings", "userArn")):
            out |= {
                str(m[arn_key]).lower()
                for m in c.inputs.get(key) or []
                if not str(m.get("username", "")).startswith("system:node:")
            }
    return out


def summary_json(
    result: RunResult,
    out: Path,
    files: list[str],
    ops: Any,
    verdict: dict[str, Any],
    stops: list[str],
) -> dict[str, Any]:
    """The plan summary as data (``plan --format json``)."""
    counts = Counter(r.type for r in result.resources if r.custom)
    iam_doc = iam(result)
    doc: dict[str, Any] = {
        "out": str(out),
        "files": files,
        "resources": dict(sorted(counts.items())),
        "components": len(result.resources) - sum(counts.values()),
        "awsAuthWritten": bool(aws_auth(result)),
        "mappedPrincipals": len(mapped_principals(result)),
        "accessEntries": len(access_entries(result)),
        "iamUsers": len(iam_doc["users"]),
        "accessKeys": sum(len(u["accessKeys"]) for u in iam_doc["users"]),
        "policy": verdict,
        "stopped": stops,
    }
    if ops is not None:
        doc["operations"] = dict(sorted(Counter(o.op for o in ops).items()))
    return doc


def summary(result: RunResult) -> str:
    """A short account of the plan for people."""
    counts = Counter(r.type for r in result.resources if r.custom)
    parsed = awsauth.parse(aws_auth_data(result))  # read once per plan (awsauth.parse)
    roles, users = parsed.roles, parsed.users
    iam_doc = iam(result)
    lines = [
        f"{sum(counts.values())} resources would be created "
        f"({len(result.resources) - sum(counts.values())} components group them):",
        *(f"  {n:4d}  {t}" for t, n in sorted(counts.items())),
        f"aws-auth: {len(roles)} role mappings, {len(users)} user mappings"
        if aws_auth(result)
        else "aws-auth: not written by this program",
        f"access entries: {len(access_entries(result))}",
        f"IAM: {len(iam_doc['users'])} users, "
        f"{sum(len(u['accessKeys']) for u in iam_doc['users'])} access keys, "
        f"{len(iam_doc['groups'])} groups",
        PLACEHOLDER_NOTE,
    ]
    return "\n".join(lines)
