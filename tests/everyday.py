"""The everyday-change table: edits users make to a stack file, and what `pulumi up` does for each.

Each row is a base config and an edit of it. ``tests/program/test_lifecycle.py`` plans both with the
real program and checks the operations against the row's ``expect``; ``make e2e-engine`` applies
the same rows with the real Pulumi engine; the README's table is printed from here
(``python -m tests.everyday``) and a test keeps the two equal.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "Pulumi.dev.yaml"
IDENTITY = {"mode": "reference", "account": "111122223333", "stack": "acme/eks-access/identity"}

Raw = dict[str, Any]
Expect = dict[tuple[str, str], str]  # (type, name) -> op, for every resource that is not "same"


def dev() -> Raw:
    raw: Raw = copy.deepcopy(yaml.safe_load(DEV.read_text())["config"])
    return raw


def team(raw: Raw, name: str) -> dict[str, Any]:
    return next(t for t in raw["eks-access:teams"] if t["name"] == name)


def in_mode(mode: str, policies: bool = False) -> Callable[[Raw], Raw]:
    def edit(raw: Raw) -> Raw:
        raw["eks-access:cluster"]["authenticationMode"] = mode
        if mode == "API":
            raw["eks-access:cluster"]["nodeAccessEntries"] = "create"
        if policies:
            team(raw, "payments")["accessPolicies"] = [{"policy": "view"}]
        return raw

    return edit


def identity_stack(raw: Raw) -> Raw:
    """The identity stack that owns the dev stack's users (for ``mode: reference``)."""
    return {
        "aws:region": raw["aws:region"],
        "eks-access:identity": {"mode": "owner", "account": IDENTITY["account"]},
        "eks-access:teams": copy.deepcopy(raw["eks-access:teams"]),
    }


@dataclass(frozen=True)
class Row:
    title: str
    edit: Callable[[Raw], Raw]
    expect: Expect
    sees: str
    """What the user sees, in the README's words."""
    base: Callable[[Raw], Raw] = field(default=lambda raw: raw)
    stacks: Callable[[Raw], dict[str, Raw]] | None = None
    """Other stack files of the project the plans need (an identity stack)."""
    at: tuple[datetime | None, datetime | None] = (None, None)
    """When each side is planned and applied (None: now): an end is a change of time."""

    def configs(self) -> tuple[Raw, Raw]:
        base = self.base(dev())
        return base, self.edit(copy.deepcopy(base))


# Alice's grant in payments ends with Christmas Eve (UTC); the rows plan around that end.
EVE = datetime(2026, 12, 24, 23, 59, tzinfo=UTC)
CHRISTMAS = datetime(2026, 12, 25, tzinfo=UTC)


def _alice_until(day: str) -> Callable[[Raw], Raw]:
    def edit(raw: Raw) -> Raw:
        users = team(raw, "payments")["users"]
        users[0] = {**users[0], "expires": day}  # {name: alice, keys: [2026-11]}
        return raw

    return edit


def _payments_without_roles(raw: Raw) -> Raw:
    team(raw, "payments").pop("roles")  # a role team lists IAM users only
    return raw


def _payments_by_role(raw: Raw) -> Raw:
    team(raw, "payments")["access"] = "role"
    return raw


def _payments_by_user(raw: Raw) -> Raw:
    team(raw, "payments").pop("access")  # back to the default
    return raw


def _add_user(raw: Raw) -> Raw:
    team(raw, "payments")["users"].append("dave")
    return raw


def _remove_user(raw: Raw) -> Raw:
    team(raw, "payments")["users"].remove("bob")
    return raw


def _move_user(raw: Raw) -> Raw:
    team(raw, "payments")["users"].remove("bob")
    team(raw, "auditors")["users"].append("bob")
    return raw


def _alice_keys(*labels: str) -> Callable[[Raw], Raw]:
    def edit(raw: Raw) -> Raw:
        team(raw, "payments")["users"][0] = {"name": "alice", "keys": list(labels)}
        return raw

    return edit


def _pgp(raw: Raw) -> Raw:
    raw["eks-access:pgpKey"] = "keybase:platform-team"
    return raw


def _add_namespace(raw: Raw) -> Raw:
    team(raw, "payments")["namespaces"].append("payments-batch")
    return raw


def _add_policy(raw: Raw) -> Raw:
    team(raw, "payments")["accessPolicies"] = [{"policy": "edit"}]
    return raw


def _namespace_access(raw: Raw) -> Raw:
    team(raw, "payments")["namespaceAccess"] = "view"
    return raw


def _rename(raw: Raw) -> Raw:
    payments = team(raw, "payments")
    payments["name"], payments["renamedFrom"] = "payments-eng", "payments"
    payments["group"] = "eks-access:payments"  # keep the Kubernetes group people are bound by
    return raw


def _add_role(raw: Raw) -> Raw:
    team(raw, "auditors")["roles"] = [
        {"arn": "arn:aws:iam::111122223333:role/auditor", "username": "auditor:{{SessionName}}"}
    ]
    return raw


def _hand_over(raw: Raw) -> Raw:
    raw["eks-access:identity"] = {**IDENTITY, "mode": "handover"}
    return raw


def _reference(raw: Raw) -> Raw:
    raw["eks-access:identity"] = dict(IDENTITY)
    return raw


def _identity_stacks(raw: Raw) -> dict[str, Raw]:
    return {"identity": identity_stack(raw)}


U = "aws:iam/user:User"
KEY = "aws:iam/accessKey:AccessKey"
MEMBERS = "aws:iam/userGroupMembership:UserGroupMembership"
GROUP = "aws:iam/group:Group"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
PATCH = "kubernetes:core/v1:ConfigMapPatch"
NS = "kubernetes:core/v1:Namespace"
RB = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CRB = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOC = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
CU = "eks-access:index:ClusterUser"
UA = "eks-access:index:UserAccess"
AE = "eks-access:index:AccessEntries"
AWS_AUTH = "eks-access:index:AwsAuth"

SSO = "AWSReservedSSO_PaymentsDev_0123456789abcdef"
PAYMENTS = {"alice": "user", "bob": "user", SSO: "role"}  # payments' principals, entry kinds


def _entry(name: str, kind: str) -> str:
    return f"access-entries-{kind}-111122223333-{name}"


def _assoc(policy: str, names: dict[str, str] = PAYMENTS) -> Expect:
    return {(ASSOC, f"{_entry(n, k)}-{policy}"): "replace" for n, k in names.items()}


NEW_NAMESPACE: Expect = {
    (NS, "namespaces-payments-batch"): "create",
    (RB, "payments-rbac-binding-payments-batch-edit"): "create",
}

ROWS: tuple[Row, ...] = (
    Row(
        "add a user",
        _add_user,
        {
            (CU, "dave"): "create",
            (U, "dave-user"): "create",
            (UA, "dave"): "create",
            (MEMBERS, "dave-groups"): "create",
            (PATCH, "aws-auth-patch"): "update",
        },
        "the user, its group membership; one new mapping in aws-auth's mapUsers",
    ),
    Row(
        "remove a user",
        _remove_user,
        {
            (CU, "bob"): "delete",
            (U, "bob-user"): "delete",
            (UA, "bob"): "delete",
            (MEMBERS, "bob-groups"): "delete",
            (PATCH, "aws-auth-patch"): "update",
        },
        "the user and its membership are deleted; its mapping leaves mapUsers",
    ),
    Row(
        "move a user to another team",
        _move_user,
        {(MEMBERS, "bob-groups"): "update", (PATCH, "aws-auth-patch"): "update"},
        "the membership and the mapping's groups change in place; the user and its keys stay",
    ),
    Row(
        "add a key generation",
        _alice_keys("2026-11", "2026-12"),
        {(KEY, "alice-key-2026-12"): "create"},
        "one new access key beside the old one",
    ),
    Row(
        "drop the old key generation",
        _alice_keys("2026-12"),
        {(KEY, "alice-key-2026-11"): "delete"},
        "the old key is deleted; nothing else changes",
        base=_alice_keys("2026-11", "2026-12"),
    ),
    Row(
        "set or change pgpKey",
        _pgp,
        {},
        "nothing: existing keys keep their secret (pgpKey is ignored on them); keys created "
        "from now on are encrypted",
    ),
    Row(
        "add a namespace (CONFIG_MAP)",
        _add_namespace,
        NEW_NAMESPACE,
        "the namespace and the team's binding in it",
    ),
    Row(
        "add a namespace (API_AND_CONFIG_MAP)",
        _add_namespace,
        NEW_NAMESPACE,
        "the namespace and the team's binding in it",
        base=in_mode("API_AND_CONFIG_MAP"),
    ),
    Row(
        "add a namespace (API_AND_CONFIG_MAP, namespace-scoped access policy)",
        _add_namespace,
        {**NEW_NAMESPACE, **_assoc("view")},
        "as above, and each member's policy association is re-made with the new scope, "
        "delete first: a gap of seconds in that policy's access (docs/lifecycle.md)",
        base=in_mode("API_AND_CONFIG_MAP", policies=True),
    ),
    Row(
        "add a namespace (API)",
        _add_namespace,
        NEW_NAMESPACE,
        "the namespace and the team's binding in it",
        base=in_mode("API"),
    ),
    Row(
        "add a namespace (API, namespace-scoped access policy)",
        _add_namespace,
        {**NEW_NAMESPACE, **_assoc("view")},
        "as above, with the same brief gap in the re-made associations",
        base=in_mode("API", policies=True),
    ),
    Row(
        "add an access policy",
        _add_policy,
        {(ASSOC, f"{_entry(n, k)}-edit"): "create" for n, k in PAYMENTS.items()},
        "one association per member; entries and RBAC unchanged",
        base=in_mode("API_AND_CONFIG_MAP"),
    ),
    Row(
        "change namespaceAccess",
        _namespace_access,
        {
            (RB, "payments-rbac-binding-payments-edit"): "delete",
            (RB, "payments-rbac-binding-payments-jobs-edit"): "delete",
            (RB, "payments-rbac-binding-payments-view"): "create",
            (RB, "payments-rbac-binding-payments-jobs-view"): "create",
        },
        "new bindings are created first, the old ones deleted at the end: no gap",
    ),
    Row(
        "rename a team",
        _rename,
        {
            (GROUP, "payments-eng-group"): "update",
            (GROUP_POLICY, "payments-eng-describe-cluster"): "replace",
            (MEMBERS, "alice-groups"): "update",
            (MEMBERS, "bob-groups"): "update",
            (NS, "namespaces-payments"): "update",
            (NS, "namespaces-payments-jobs"): "update",
            (RB, "payments-eng-rbac-binding-payments-edit"): "replace",
            (RB, "payments-eng-rbac-binding-payments-jobs-edit"): "replace",
        },
        "with renamedFrom: the IAM group is renamed in place (members kept); its policy, whose "
        "name the program sets, is re-made delete-first (as the bridge asks), the bindings, "
        "whose names hold the team's, create-first",
    ),
    Row(
        "a grant expires",
        lambda raw: raw,  # the same file, a minute later
        {
            (MEMBERS, "alice-groups"): "delete",
            (KEY, "alice-key-2026-11"): "update",
            (PATCH, "aws-auth-patch"): "update",
        },
        "at the next run after the end: the membership and the mapping go, the user stays, its "
        "keys are set Inactive in place",
        base=_alice_until("2026-12-24"),
        at=(EVE, CHRISTMAS),
    ),
    Row(
        "a grant is extended",
        _alice_until("2027-01-31"),
        {
            (MEMBERS, "alice-groups"): "create",
            (KEY, "alice-key-2026-11"): "update",
            (PATCH, "aws-auth-patch"): "update",
        },
        "the membership and the mapping come back, the same keys Active again: no new secret",
        base=_alice_until("2026-12-24"),
        at=(CHRISTMAS, CHRISTMAS),
    ),
    Row(
        "add a user to a role team",
        _add_user,
        {
            (CU, "dave"): "create",
            (U, "dave-user"): "create",
            (UA, "dave"): "create",
            (MEMBERS, "dave-groups"): "create",
        },
        "IAM only: the user and its membership of the team's group, which may assume the team's "
        "role; no Kubernetes write",
        base=lambda raw: _payments_by_role(_payments_without_roles(raw)),
    ),
    Row(
        "switch a team to access: role",
        _payments_by_role,
        {
            ("aws:iam/role:Role", "payments-role"): "create",
            ("aws:iam/rolePolicy:RolePolicy", "payments-role-describe-cluster"): "create",
            (GROUP_POLICY, "payments-describe-cluster"): "update",
            (PATCH, "aws-auth-patch"): "update",
        },
        "the team's role (which may describe the cluster), its group's permission to assume "
        "it, and in one aws-auth write the "
        "role's line in, the members' lines out: no moment without a mapping",
        base=_payments_without_roles,
    ),
    Row(
        "switch a team back to access: user",
        _payments_by_user,
        {
            ("aws:iam/role:Role", "payments-role"): "delete",
            ("aws:iam/rolePolicy:RolePolicy", "payments-role-describe-cluster"): "delete",
            (GROUP_POLICY, "payments-describe-cluster"): "update",
            (PATCH, "aws-auth-patch"): "update",
        },
        "the members' own lines come back in the aws-auth write that drops the role's; the "
        "role and its policy are deleted after it: no moment without a mapping",
        base=lambda raw: _payments_by_role(_payments_without_roles(raw)),
    ),
    Row(
        "add a role",
        _add_role,
        {(PATCH, "aws-auth-patch"): "update"},
        "one new mapping in aws-auth's mapRoles; no IAM resource",
    ),
    Row(
        "switch to API_AND_CONFIG_MAP",
        in_mode("API_AND_CONFIG_MAP"),
        {
            (AE, "access-entries"): "create",
            **{(ENTRY, _entry(n, k)): "create" for n, k in PAYMENTS.items()},
            (ENTRY, _entry("eks_user", "user")): "create",
            (ENTRY, _entry("carol", "user")): "create",
            (ENTRY, _entry("platform-admin", "role")): "create",
        },
        "one access entry per principal; aws-auth unchanged (after the cluster switch)",
    ),
    Row(
        "switch to API",
        in_mode("API"),
        {
            (AWS_AUTH, "aws-auth"): "delete",
            (PATCH, "aws-auth-patch"): "delete",
            (ENTRY, "access-entries-node-111122223333-eks-node-group"): "create",
        },
        "node roles get their entries; aws-auth leaves the stack but stays in the cluster",
        base=in_mode("API_AND_CONFIG_MAP"),
    ),
    Row(
        "switch a team to access: role (API)",
        lambda raw: _payments_by_role(raw),
        {
            ("aws:iam/role:Role", "payments-role"): "create",
            ("aws:iam/rolePolicy:RolePolicy", "payments-role-describe-cluster"): "create",
            (GROUP_POLICY, "payments-describe-cluster"): "update",
            (ENTRY, "access-entries-teamrole-111122223333-eks-access-dev-payments"): "create",
            (ENTRY, _entry("alice", "user")): "delete",
            (ENTRY, _entry("bob", "user")): "delete",
        },
        "the role's one access entry is created (after the role) before the members' own "
        "entries are deleted, at the end of the update: no moment without an entry",
        base=lambda raw: _payments_without_roles(in_mode("API")(raw)),
    ),
    Row(
        "hand users over to an identity stack",
        _hand_over,
        {},
        "nothing changes in AWS; users and keys are now kept if this stack lets go of them",
    ),
    Row(
        "move to an identity stack",
        _reference,
        {
            **{(CU, n): "delete" for n in ("alice", "bob", "carol", "eks_user")},
            **{(U, f"{n}-user"): "delete" for n in ("alice", "bob", "carol", "eks_user")},
            (KEY, "alice-key-2026-11"): "delete",
            (KEY, "eks_user-key-v1"): "delete",
        },
        "users and keys leave this stack's state and stay in AWS (retained); memberships and "
        "mappings are unchanged",
        base=_hand_over,
        stacks=_identity_stacks,
    ),
)

RETAINED: dict[str, set[tuple[str, str]]] = {
    "switch to API": {(PATCH, "aws-auth-patch")},
    "move to an identity stack": {
        *((U, f"{n}-user") for n in ("alice", "bob", "carol", "eks_user")),
        (KEY, "alice-key-2026-11"),
        (KEY, "eks_user-key-v1"),
    },
}
"""Deletes that only drop the resource from the state; every other delete deletes."""


@functools.cache
def planned(title: str) -> tuple[Any, Any]:
    """A row's two plans with the real program under the mock runtime (``offline.run``
    results), once per test process: the lifecycle and the comment tests share them."""
    import tempfile

    from eks_access import clock, stackfile
    from offline.run import run
    from tests.conftest import write_stack

    row = next(r for r in ROWS if r.title == title)
    plans = []
    for raw, at in zip(row.configs(), row.at, strict=True):
        folder = Path(tempfile.mkdtemp(prefix="eks-access-everyday-"))
        for name, other in (row.stacks(raw) if row.stacks else {}).items():
            write_stack(folder, other, name)
        with clock.fixed(at):
            plans.append(run(stackfile.read(write_stack(folder, raw, "dev"))))
    return plans[0], plans[1]


def markdown() -> str:
    """The README's table."""
    lines = ["| edit | operations | what you see |", "|---|---|---|"]
    for row in ROWS:
        counts: dict[str, int] = {}
        for op in row.expect.values():
            counts[op] = counts.get(op, 0) + 1
        ops = ", ".join(f"{n} {op}" for op, n in sorted(counts.items())) or "none"
        lines.append(f"| {row.title} | {ops} | {row.sees} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
