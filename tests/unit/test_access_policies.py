"""EKS access policies evaluated as AWS publishes them (data/access_policies.yaml, generated
by scripts/access_policies.py from the EKS user guide's source at a pinned commit), not as the
Kubernetes roles they resemble. Each policy's test pins requests its published rules allow and
refuse, as can-i answers them for a principal whose only grant is that policy."""

from __future__ import annotations

from typing import Any

import pytest

from eks_access import authz
from eks_access import config as core
from tests.conftest import minimal_raw

ALICE = "arn:aws:iam::111122223333:user/alice"


def only_policy(policy: str, scope: str = "namespace") -> authz.State:
    association = {"policy": policy, "scope": scope}
    if scope == "namespace":
        association["namespaces"] = ["apps"]
    raw = minimal_raw(**{"eks-access:teams": [
        {"name": "t", "users": ["alice"], "accessPolicies": [association]}]})  # fmt: skip
    raw["eks-access:cluster"].update(authenticationMode="API", nodeAccessEntries="create")
    return authz.state_of(core.load(raw))


def answers(state: authz.State, asks: list[tuple[str, str, str | None]]) -> list[bool]:
    ident = state.resolve(ALICE)
    assert ident is not None
    out = []
    for verb, target, ns in asks:
        resource, _, sub = target.partition("/")
        req = authz.parse_request(verb, resource, ns, sub)
        out.append(bool(state.matching(ident, req)))
    return out


def test_the_data_says_where_it_came_from() -> None:
    source = authz.access_policies()["source"]
    assert source["repository"] == "awsdocs/amazon-eks-user-guide"
    assert len(source["commit"]) == 40 and source["page"].endswith("access-policy-permissions.html")
    people = {n for n, p in authz.access_policies()["policies"].items() if p["forPeople"]}
    assert people == {"AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy",
                      "AmazonEKSAdminViewPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy"}  # fmt: skip
    # EKS's own components' policies are described in words: no rules, so never guessed
    assert authz.access_policy_rules("AmazonEKSAutoNodePolicy") is None
    assert authz.access_policy_rules("AmazonEKSNoSuchPolicy") is None


EDIT = [  # (verb, resource[.group][/sub], namespace) -> published rule allows?
    (("create", "deployments.apps", "apps"), True),
    (("patch", "deployments.apps/scale", "apps"), True),
    (("create", "pods/exec", "apps"), True),
    (("get", "secrets", "apps"), True),
    (("create", "secrets", "apps"), True),
    (("impersonate", "serviceaccounts", "apps"), True),
    (("create", "ingresses.networking.k8s.io", "apps"), True),
    (("get", "pods/log", "apps"), True),
    (("list", "namespaces", "apps"), True),
    (("create", "pods/eviction", "apps"), False),  # Kubernetes' edit role allows it
    (("create", "serviceaccounts/token", "apps"), False),  # so does edit
    (("get", "leases.coordination.k8s.io", "apps"), False),
    (("create", "rolebindings.rbac.authorization.k8s.io", "apps"), False),
    (("get", "pods", "other"), False),  # scoped to its namespace
]
VIEW = [
    (("get", "pods", "apps"), True),
    (("list", "deployments.apps", "apps"), True),
    (("watch", "cronjobs.batch", "apps"), True),
    (("get", "pods/log", "apps"), True),
    (("get", "endpointslices.discovery.k8s.io", "apps"), True),
    (("get", "secrets", "apps"), False),
    (("create", "pods", "apps"), False),
    (("create", "pods/exec", "apps"), False),
    (("get", "roles.rbac.authorization.k8s.io", "apps"), False),
    (("list", "pods", "other"), False),
]
ADMIN = [
    (("create", "rolebindings.rbac.authorization.k8s.io", "apps"), True),
    (("create", "roles.rbac.authorization.k8s.io", "apps"), True),
    (("impersonate", "serviceaccounts", "apps"), True),
    (("create", "localsubjectaccessreviews.authorization.k8s.io", "apps"), True),
    (("update", "deployments.extensions", "apps"), True),
    (("get", "secrets", "apps"), True),
    (("create", "pods/eviction", "apps"), False),
    (("create", "serviceaccounts/token", "apps"), False),
    (("bind", "roles.rbac.authorization.k8s.io", "apps"), False),
    (("escalate", "roles.rbac.authorization.k8s.io", "apps"), False),
    (("update", "leases.coordination.k8s.io", "apps"), False),
]
ADMIN_VIEW = [
    (("get", "secrets", None), True),
    (("list", "nodes", None), True),
    (("watch", "widgets.example.com", None), True),
    (("get", "clusterroles.rbac.authorization.k8s.io", None), True),
    (("list", "pods", "anywhere"), True),
    (("create", "pods", "apps"), False),
    (("delete", "secrets", "apps"), False),
    (("patch", "nodes", None), False),
    (("create", "pods/exec", "apps"), False),
    (("impersonate", "users", None), False),
]
CLUSTER_ADMIN = [
    (("create", "pods/eviction", "apps"), True),
    (("bind", "clusterroles.rbac.authorization.k8s.io", None), True),
    (("escalate", "roles.rbac.authorization.k8s.io", "apps"), True),
    (("impersonate", "users", None), True),
    (("delete", "nodes", None), True),
    (("get", "widgets.example.com", None), True),
    (("create", "serviceaccounts/token", "kube-system"), True),
    (("update", "leases.coordination.k8s.io", "kube-system"), True),
    (("deletecollection", "secrets", "x"), True),
    (("approve", "certificatesigningrequests.certificates.k8s.io", None), True),
]


@pytest.mark.parametrize(
    ("preset", "scope", "table"),
    [("edit", "namespace", EDIT), ("view", "namespace", VIEW), ("admin", "namespace", ADMIN),
     ("admin-view", "cluster", ADMIN_VIEW), ("cluster-admin", "cluster", CLUSTER_ADMIN)],
)  # fmt: skip
def test_each_policy_allows_and_refuses_what_its_published_rules_say(
    preset: str, scope: str, table: list[tuple[tuple[str, str, str | None], bool]]
) -> None:
    assert len(table) >= 10
    got = answers(only_policy(preset, scope), [ask for ask, _ in table])
    wrong = [f"{ask}: {'yes' if g else 'no'}" for (ask, want), g in zip(table, got, strict=True)
             if g != want]  # fmt: skip
    assert not wrong, wrong


def test_the_edit_policy_is_not_kubernetes_edit_role() -> None:
    """The difference the issue found: can-i said yes to create pods/eviction for an Edit-policy
    principal, because the policy was evaluated as the edit ClusterRole."""
    edit_role = authz.State()
    ident = authz.Identity("k", ALICE, "user", "alice", frozenset({"g"}))
    edit_role.identities["k"] = ident
    edit_role.grants.append(authz.Grant("edit", tuple(authz.builtin_rules("edit")), "apps",
                                        frozenset(), frozenset({"g"})))  # fmt: skip
    eviction = authz.parse_request("create", "pods", "apps", "eviction")
    assert edit_role.matching(ident, eviction)
    assert answers(only_policy("edit"), [("create", "pods/eviction", "apps")]) == [False]


def test_writing_a_binding_through_an_access_policy_alone_says_what_the_api_server_adds() -> None:
    """containers-roadmap #2682: the Admin policy allows `create rolebindings` (SAR: yes), but
    RBAC's escalation check does not count access policies; ClusterAdmin's `*` includes bind."""
    for preset, scope, noted in (("admin", "namespace", True), ("cluster-admin", "cluster", False)):
        state = only_policy(preset, scope)
        ident = state.resolve(ALICE)
        assert ident is not None
        req = authz.parse_request("create", "rolebindings.rbac.authorization.k8s.io", "apps")
        grants = state.matching(ident, req)
        assert grants, preset
        note = authz.escalation_note(state, ident, req, grants)
        assert bool(note) is noted and (not noted or "escalation check counts RBAC alone" in note)


def test_a_policy_whose_rules_are_not_published_here_is_associated_and_answered_unknown(
    tmp_path, invoke
) -> None:
    """AmazonEKSSecretReaderPolicy is newer than the guide this version read: the entry gets it,
    and can-i / who-can say they cannot tell, instead of a `no` that may be wrong."""
    import json

    from eks_access import access_entries
    from tests.conftest import write_stack

    assert authz.access_policy_rules("AmazonEKSSecretReaderPolicy") is None  # else: test rules
    association = {"policy": "secret-reader", "scope": "namespace", "namespaces": ["apps"]}
    raw = minimal_raw(**{"eks-access:teams": [
        {"name": "t", "users": ["alice"], "accessPolicies": [association]}]})  # fmt: skip
    raw["eks-access:cluster"].update(authenticationMode="API", nodeAccessEntries="create")
    (alice,) = [e for e in access_entries.entries(core.load(raw)) if e.type == "STANDARD"]
    assert [g.arn for g in alice.policies] == [
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSSecretReaderPolicy"
    ]
    stack = write_stack(tmp_path, raw)

    def cli(*argv: str) -> Any:
        return invoke(*argv, "--config-file", str(stack), "--format", "json")

    can = cli("can-i", "get", "secrets", "-n", "apps", "--as", ALICE)
    assert can.returncode == 1, can.stderr
    answer = json.loads(can.stdout)
    answer = answer[0] if isinstance(answer, list) else answer
    assert answer["answer"] == "unknown" and answer["allowed"] is None
    assert "AmazonEKSSecretReaderPolicy" in answer["note"]
    who = json.loads(cli("who-can", "get", "secrets", "-n", "apps").stdout)
    who = who[0] if isinstance(who, list) else who
    assert [m["principal"] for m in who["unknown"]] == [ALICE] and who["principals"] == []
    # outside its scope it cannot allow anything: a plain no
    for argv in (("get", "secrets", "-n", "other"), ("get", "nodes")):
        out = cli("can-i", *argv, "--as", ALICE)
        doc = json.loads(out.stdout)
        doc = doc[0] if isinstance(doc, list) else doc
        assert doc["answer"] == "no", (argv, doc)
        who = json.loads(cli("who-can", *argv).stdout)
        who = who[0] if isinstance(who, list) else who
        assert who["unknown"] == [], argv


def test_the_review_counts_a_policy_of_unknown_rules_as_a_gain_and_warns() -> None:
    import copy

    from eks_access import changes

    raw = minimal_raw(**{"eks-access:teams": [{"name": "t", "users": ["alice"]}]})
    raw["eks-access:cluster"].update(authenticationMode="API", nodeAccessEntries="create")
    head = copy.deepcopy(raw)
    head["eks-access:teams"][0]["accessPolicies"] = [
        {"policy": "secret-reader", "scope": "namespace", "namespaces": ["apps"]}
    ]
    doc = changes.review_document(core.load(raw), core.load(head))
    (alice,) = doc.principals
    assert alice.gains and "AmazonEKSSecretReaderPolicy" in alice.words[0]
    assert any(w.startswith("an EKS access policy whose rules") for w in doc.warnings)
    # and taking it away again is a loss
    back = changes.review_document(core.load(head), core.load(raw))
    assert back.principals[0].loses and not back.principals[0].gains
