"""The CrossGuard pack: each policy on passing and failing resources, then the whole pack on
the dev plan (no mandatory violation) and on deliberately bad plans (each one caught)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from components.preflight import PreflightStop
from eks_access import awsauth, iam, live, rbac, stackfile
from eks_access import config as core
from eks_access import principals as principals_mod
from eks_access.principals import Principal
from offline import policy
from offline.run import run
from tests.conftest import DEV, NODE_ROLE, minimal_raw, write_stack

pack = policy.pack
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
CRB = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
PATCH = "kubernetes:core/v1:ConfigMapPatch"
OPTS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _policy(name: str) -> Any:
    return next(p for p in pack.POLICIES if p.name == name)


def resource_violations(name: str, type_: str, props: dict[str, Any], **config: Any) -> list[str]:
    found: list[str] = []
    # Wrapped as the analyzer wraps inputs: read-only proxies, not dicts and lists.
    args = ResourceValidationArgs(
        type_, unknown_checking_proxy(props), "urn:x", "res", OPTS, None, config
    )
    _policy(name).validate(args, lambda message, urn=None: found.append(message))
    return found


def stack_violations(name: str, resources: list[tuple[Any, ...]], **config: Any):
    """``(type, props)`` or ``(type, props, parent's index)`` each, as the engine hands them."""
    found: list[str] = []
    stack = [
        PolicyResource(r[0], unknown_checking_proxy(r[1]), f"urn:{i}", f"r{i}",
                       OPTS if len(r) < 3 else PolicyResourceOptions(
                           False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], f"urn:{r[2]}"),
                       None, None, [], {})
        for i, r in enumerate(resources)
    ]  # fmt: skip
    _policy(name).validate(StackValidationArgs(stack, config), lambda m, urn=None: found.append(m))
    return found


def aws_auth_props(roles: list[dict[str, Any]], users: list[dict[str, Any]] | None = None):
    data = {"mapRoles": yaml.safe_dump(roles)}
    if users is not None:
        data["mapUsers"] = yaml.safe_dump(users)
    return {"metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": data}


NODE = {"rolearn": NODE_ROLE, "username": "system:node:{{EC2PrivateDNSName}}",
        "groups": ["system:bootstrappers", "system:nodes"]}  # fmt: skip
ALICE = {"userarn": "arn:aws:iam::111122223333:user/alice", "username": "alice", "groups": ["t"]}


# --- each policy alone ---------------------------------------------------------------------------


def test_system_masters_is_refused_in_aws_auth_access_entries_and_bindings():
    ok = aws_auth_props([NODE], [ALICE])
    assert resource_violations("no-system-masters", PATCH, ok) == []
    bad = aws_auth_props([NODE], [{**ALICE, "groups": ["system:masters"]}])
    assert "system:masters" in resource_violations("no-system-masters", PATCH, bad)[0]
    entry = {"principalArn": ALICE["userarn"], "kubernetesGroups": ["system:masters"]}
    assert resource_violations("no-system-masters", "aws:eks/accessEntry:AccessEntry", entry)
    binding = {"metadata": {"name": "b"}, "subjects": [{"kind": "Group", "name": "system:masters"}]}
    assert resource_violations("no-system-masters", CRB, binding)
    binding["subjects"] = [{"kind": "Group", "name": "eks-access:payments"}]
    assert resource_violations("no-system-masters", CRB, binding) == []


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}, 0),
        ({"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}, 1),
        ({"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}, 1),
        ({"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]}, 1),
        (
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["bind"]},
            1,
        ),
        ({"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}, 1),
        (
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["*"], "verbs": ["escalate"]},
            2,
        ),
    ],
)
def test_wildcards_and_escalating_verbs_in_custom_rules(rule, expected):
    for kind in (ROLE, CLUSTER_ROLE):
        props = {"metadata": {"name": "r", "namespace": "a"}, "rules": [rule]}
        assert len(resource_violations("no-wildcard-or-escalation-rules", kind, props)) == expected


@pytest.mark.parametrize(
    ("statement", "bad"),
    [
        ({"Effect": "Allow", "Action": "eks:DescribeCluster",
          "Resource": "arn:aws:eks:us-east-1:111122223333:cluster/dev"}, False),
        ({"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": ["eks:Describe*"], "Resource": ["*"]}, True),
        ({"Effect": "Allow", "Action": "*",
          "Resource": "arn:aws:eks:us-east-1:111122223333:cluster/*"}, True),
        ({"Effect": "Deny", "Action": "eks:DescribeCluster", "Resource": "*"}, False),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, False),
    ],
)  # fmt: skip
def test_describe_cluster_is_never_on_every_cluster(statement, bad):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    found = resource_violations(
        "describe-cluster-not-on-star", "aws:iam/groupPolicy:GroupPolicy", {"policy": doc}
    )
    assert bool(found) is bad


def test_aws_auth_must_keep_node_roles():
    name = "aws-auth-keeps-node-roles"
    assert resource_violations(name, PATCH, aws_auth_props([NODE], [ALICE])) == []
    sso = {"rolearn": "arn:aws:iam::111122223333:role/sso", "username": "x", "groups": ["t"]}
    assert "locked out" in resource_violations(name, PATCH, aws_auth_props([sso], [ALICE]))[0]
    no_roles = {**aws_auth_props([NODE]), "data": {"mapUsers": "[]"}}
    assert resource_violations(name, PATCH, no_roles)
    # With the node roles in the pack config, each one must be there (path-less, any case).
    other = "arn:aws:iam::111122223333:role/other-nodes"
    assert resource_violations(name, PATCH, aws_auth_props([NODE]), nodeRoleArns=[other])
    spelled = NODE_ROLE.replace("eks-node-group", "some/path/EKS-node-group").lower()
    assert resource_violations(name, PATCH, aws_auth_props([NODE]), nodeRoleArns=[spelled]) == []
    # Another ConfigMap is not aws-auth.
    cm = {**aws_auth_props([sso]), "metadata": {"name": "other", "namespace": "kube-system"}}
    assert resource_violations(name, PATCH, cm) == []


def test_access_keys_without_pgp_are_reported():
    key = "aws:iam/accessKey:AccessKey"
    assert resource_violations("access-key-without-pgp", key, {"user": "alice"})
    assert resource_violations("access-key-without-pgp", key, {"user": "a", "pgpKey": "k"}) == []


def test_secrets_and_exec_are_reported_unless_the_team_is_ignored():
    name = "secrets-and-exec-access"
    meta = {"name": "r", "namespace": "a", "labels": {rbac.TEAM_LABEL: "data"}}
    reads = {"metadata": meta, "rules": [{"apiGroups": [""], "resources": ["secrets"],
                                          "verbs": ["list"]}]}  # fmt: skip
    execs = {"metadata": meta, "rules": [{"apiGroups": [""], "resources": ["pods/exec"],
                                          "verbs": ["create"]}]}  # fmt: skip
    pods = {"metadata": meta, "rules": [{"apiGroups": [""], "resources": ["pods"],
                                         "verbs": ["list"]}]}  # fmt: skip
    assert "Secrets" in resource_violations(name, ROLE, reads)[0]
    assert "exec" in resource_violations(name, ROLE, execs)[0]
    assert resource_violations(name, ROLE, pods) == []
    assert resource_violations(name, ROLE, reads, ignoreTeams=["data"]) == []
    edit = {"metadata": meta, "roleRef": {"kind": "ClusterRole", "name": "edit"}}
    view = {"metadata": meta, "roleRef": {"kind": "ClusterRole", "name": "view"}}
    binding = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
    assert resource_violations(name, binding, edit)
    assert resource_violations(name, binding, view) == []


def test_cluster_admin_only_for_teams_marked_in_config():
    name = "cluster-admin-only-for-marked-teams"
    ref = {"kind": "ClusterRole", "name": "cluster-admin"}
    marked = {"metadata": {"name": "b", "annotations": {rbac.CLUSTER_ADMIN_TEAM: "platform"}},
              "roleRef": ref}  # fmt: skip
    unmarked = {"metadata": {"name": "b"}, "roleRef": ref}
    assert stack_violations(name, [(CRB, marked)]) == []
    assert "not marked" in stack_violations(name, [(CRB, unmarked)])[0]
    assert stack_violations(name, [(CRB, marked)], clusterAdminTeams=["platform"]) == []
    assert "does not list" in stack_violations(name, [(CRB, marked)], clusterAdminTeams=["sre"])[0]
    # EKS access policy: the principal's access entry carries the team tag.
    arn = "arn:aws:iam::111122223333:role/admin"
    assoc = ("aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
             {"principalArn": arn,
              "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"})  # fmt: skip
    tagged = ("aws:eks/accessEntry:AccessEntry",
              {"principalArn": arn, "tags": {rbac.CLUSTER_ADMIN_TEAM: "platform"}})  # fmt: skip
    untagged = ("aws:eks/accessEntry:AccessEntry", {"principalArn": arn})
    assert stack_violations(name, [tagged, (*assoc, 0)]) == []
    assert stack_violations(name, [untagged, (*assoc, 0)])
    assert stack_violations(name, [tagged, assoc])  # an association of no entry: not marked


def test_one_mapping_per_principal_and_two_keys_per_user():
    name = "one-mapping-and-two-keys"
    key = "aws:iam/accessKey:AccessKey"
    assert stack_violations(name, [(key, {"user": "a"})] * 2) == []
    assert "3 access keys" in stack_violations(name, [(key, {"user": "a"})] * 3)[0]
    sso = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/X"
    twice = aws_auth_props(
        [NODE, {"rolearn": sso, "username": "a", "groups": ["a"]},
         {"rolearn": "arn:aws:iam::111122223333:role/x", "username": "b", "groups": ["b"]}]
    )  # fmt: skip
    assert "mapped 2 times" in stack_violations(name, [(PATCH, twice)])[0]
    assert stack_violations(name, [(PATCH, aws_auth_props([NODE], [ALICE]))]) == []
    assert (
        "2 resources write aws-auth"
        in stack_violations(
            name, [(PATCH, aws_auth_props([NODE])), (PATCH, aws_auth_props([NODE]))]
        )[0]
    )
    entry = ("aws:eks/accessEntry:AccessEntry", {"principalArn": ALICE["userarn"]})
    assert "access entry" in stack_violations(name, [entry, entry])[0]


def test_the_pack_and_the_program_name_the_same_markers():
    assert pack.CLUSTER_ADMIN_TEAM == rbac.CLUSTER_ADMIN_TEAM
    assert pack.TEAM_LABEL == rbac.TEAM_LABEL
    assert pack.match_key("arn:aws:iam::1:role/a/B") == "arn:aws:iam::1:role/b"


def test_levels_and_settings_come_from_the_pack_config():
    pgp = _policy("access-key-without-pgp")
    assert policy.settings(pgp, {}) == ("advisory", {})
    assert policy.settings(pgp, {"access-key-without-pgp": "mandatory"})[0] == "mandatory"
    admin = _policy("cluster-admin-only-for-marked-teams")
    assert policy.settings(admin, {}) == ("mandatory", {"clusterAdminTeams": []})
    level, values = policy.settings(
        admin, {"cluster-admin-only-for-marked-teams": {"clusterAdminTeams": ["p"]}}
    )
    assert (level, values) == ("mandatory", {"clusterAdminTeams": ["p"]})
    assert policy.settings(admin, {"all": "disabled"})[0] == "disabled"


# --- the whole pack on plans ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def dev_result():
    return run(stackfile.read(DEV))


def test_dev_plan_has_no_mandatory_violation_and_the_expected_advisories(dev_result):
    found = policy.check(dev_result)
    assert policy.mandatory(found) == []
    advisories = {(v.policy, v.resource.rsplit("::", 1)[-1]) for v in found}
    assert ("access-key-without-pgp", "eks_user-key-v1") in advisories
    assert ("secrets-and-exec-access", "seed-rbac-role-default") in advisories
    # The example pack config pins cluster-admin to platform, which the dev stack satisfies.
    example = json.loads((policy.PACK_DIR / "config.example.json").read_text())
    assert policy.mandatory(policy.check(dev_result, example)) == []
    assert policy.mandatory(
        policy.check(
            dev_result, {"cluster-admin-only-for-marked-teams": {"clusterAdminTeams": ["sre"]}}
        )
    )


def _caught(result, policy_name: str, config: dict[str, Any] | None = None) -> list[str]:
    return [
        v.message for v in policy.mandatory(policy.check(result, config)) if v.policy == policy_name
    ]


def _run_raw(tmp_path, raw):
    return run(stackfile.read(write_stack(tmp_path, raw)))


def test_bad_plan_wildcard_rule_accepted_by_the_loader_is_caught(tmp_path):
    team = {"name": "ops", "namespaces": ["apps"], "users": ["ann"],
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}  # fmt: skip
    core.load(minimal_raw(**{"eks-access:teams": [team]}))  # valid config: the pack is the guard
    assert _caught(_run_raw(tmp_path, minimal_raw(**{"eks-access:teams": [team]})),
                   "no-wildcard-or-escalation-rules")  # fmt: skip


def _drop_node_roles(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A broken renderer that leaves node roles out; the real one is returned."""
    real = awsauth.render

    def without_nodes(ps, *accounts):
        data = real(ps, *accounts)
        roles = [r for r in yaml.safe_load(data["mapRoles"]) if "system:nodes" not in r["groups"]]
        return {**data, "mapRoles": yaml.safe_dump(roles)}

    monkeypatch.setattr(awsauth, "render", without_nodes)
    return real


def test_bad_plan_renderer_that_drops_node_roles_is_caught(monkeypatch):
    real = _drop_node_roles(monkeypatch)
    # The node role is one this stack wrote before (in its record), so the live preflight lets
    # the write remove it: the pack is the guard here.
    stack = stackfile.read(DEV)
    before = real(principals_mod.principals(stack.load()))
    wrote = live.LiveAwsAuth(before, {live.RECORD_ANNOTATION: live.record(before)}, "test")
    assert _caught(run(stack, live_aws_auth=wrote), "aws-auth-keeps-node-roles")


def test_a_renderer_that_drops_node_roles_is_stopped_by_the_live_preflight(monkeypatch):
    _drop_node_roles(monkeypatch)
    # aws-auth as EKS leaves it: the node role is not this stack's to remove
    with pytest.raises(PreflightStop, match="node role arn:aws:iam::111122223333:role/eks-node"):
        run(stackfile.read(DEV))


def test_bad_plan_masters_group_is_caught(monkeypatch):
    real = principals_mod.principals

    def with_masters(*a, **k):
        out = real(*a, **k)
        return [
            Principal(**{**p.__dict__, "groups": (*p.groups, "system:masters")})
            if p.kind == "user" else p
            for p in out
        ]  # fmt: skip

    monkeypatch.setattr(principals_mod, "principals", with_masters)
    assert _caught(run(stackfile.read(DEV)), "no-system-masters")


def test_bad_plan_describe_cluster_on_star_is_caught(monkeypatch):
    real = iam.describe_cluster_policy
    monkeypatch.setattr(iam, "describe_cluster_policy", lambda arn: real("*"))
    assert _caught(run(stackfile.read(DEV)), "describe-cluster-not-on-star")


def test_bad_plan_unmarked_cluster_admin_binding_is_caught(monkeypatch):
    real = rbac.team_objects

    def admin_for_auditors(team):
        if team.name == "auditors":
            team = team.model_copy(update={"cluster_access": "cluster-admin"})
        return real(team)

    monkeypatch.setattr(rbac, "team_objects", admin_for_auditors)
    caught = _caught(
        run(stackfile.read(DEV)),
        "cluster-admin-only-for-marked-teams",
        {"cluster-admin-only-for-marked-teams": {"clusterAdminTeams": ["platform"]}},
    )
    assert any("auditors" in m for m in caught)


def test_bad_plan_duplicate_mapping_and_third_key_are_caught(monkeypatch):
    # The renderer itself refuses a principal twice, so the bad renderer adds it afterwards.
    real_render = awsauth.render

    def twice(ps, *accounts):
        data = real_render(ps, *accounts)
        roles = yaml.safe_load(data["mapRoles"])
        return {**data, "mapRoles": yaml.safe_dump([*roles, {**roles[-1], "groups": ["other"]}])}

    monkeypatch.setattr(awsauth, "render", twice)
    real_users = core.iam_users

    def three_keys(config):
        users = real_users(config)
        user, teams = users["eks_user"]
        users["eks_user"] = (user.model_copy(update={"keys": ("a", "b", "c")}), teams)
        return users

    monkeypatch.setattr(core, "iam_users", three_keys)
    caught = _caught(run(stackfile.read(DEV)), "one-mapping-and-two-keys")
    assert any("mapped 2 times" in m for m in caught)
    assert any("3 access keys" in m for m in caught)


def test_plan_exits_3_on_a_mandatory_violation_and_still_writes_the_files(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    team = {"name": "ops", "namespaces": ["apps"], "users": ["ann"],
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]}  # fmt: skip
    stack = write_stack(tmp_path, minimal_raw(**{"eks-access:teams": [team]}))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "eks_access", "plan", "--config-file", str(stack), "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 3
    assert "mandatory: no-wildcard-or-escalation-rules" in proc.stderr
    found = json.loads((out / "policy.json").read_text())
    assert any(v["level"] == "mandatory" for v in found) and (out / "rbac.yaml").exists()


def test_the_pack_answers_through_the_analyzer_protocol_the_cli_uses():
    """Start the pack as the Pulumi CLI does (its __main__ prints a port) and call it over gRPC."""
    import subprocess
    import sys

    import grpc
    from google.protobuf import empty_pb2, json_format, struct_pb2
    from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

    pack_proc = subprocess.Popen(
        [sys.executable, str(policy.PACK_DIR / "__main__.py")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        port = pack_proc.stdout.readline().decode().strip()
        stub = analyzer_pb2_grpc.AnalyzerStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=20)
        assert info.name == pack.PACK_NAME
        assert {p.name for p in info.policies} == {p.name for p in pack.POLICIES}

        def analyze(rule):
            props = struct_pb2.Struct()
            json_format.ParseDict(
                {"metadata": {"name": "r", "namespace": "a"}, "rules": [rule]}, props
            )
            request = analyzer_pb2.AnalyzeRequest(
                type=ROLE, properties=props, urn="urn:r", name="r"
            )
            return {d.policyName for d in stub.Analyze(request, timeout=20).diagnostics}

        assert "no-wildcard-or-escalation-rules" in analyze(
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}
        )
        assert analyze({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}) == set()
    finally:
        pack_proc.kill()
        pack_proc.wait()


# --- one rule set: the pack and the core's classifier agree ----------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from eks_access import authz, review  # noqa: E402
from eks_access import rules as shared  # noqa: E402

_RULE_WORDS = {
    "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "escalate", "bind"],
    "apiGroups": ["", "apps", "rbac.authorization.k8s.io", "batch"],
    "resources": ["pods", "pods/exec", "pods/portforward", "pods/attach", "pods/log", "secrets",
                  "configmaps", "nodes", "nodes/proxy", "rolebindings", "roles", "deployments",
                  "jobs", "services"],
}  # fmt: skip
rbac_rules = st.fixed_dictionaries(
    {k: st.lists(st.sampled_from(v), min_size=1, max_size=4, unique=True)
     for k, v in _RULE_WORDS.items()}
)  # fmt: skip


def _core_risks(rule: dict[str, Any], namespace: str | None) -> set[str]:
    """What the review's classifier says of the permissions one rule grants (review.permissions
    expands it, Permission.request() and review.danger classify it)."""
    ident = authz.Identity("k", "arn", "user", "u", frozenset({"g"}))
    state = authz.State(identities={"k": ident})
    state.grants = [authz.Grant("r", (rule,), namespace, groups=frozenset({"g"}))]
    warned = {label for label, _ in shared.RISKS} - {"wildcard"}
    return {review.danger(p.request())[1] for p in review.permissions(state, ident)} & warned


@settings(max_examples=150, deadline=None)
@given(rule=rbac_rules, cluster_role=st.booleans())
def test_the_pack_reports_what_the_reviews_classifier_flags(rule, cluster_role):
    kind = "kubernetes:rbac.authorization.k8s.io/v1:" + ("ClusterRole" if cluster_role else "Role")
    props = {"metadata": {"name": "r", "namespace": None if cluster_role else "a"}, "rules": [rule]}
    found = resource_violations("secrets-and-exec-access", kind, props)
    words = dict(shared.RISKS)
    reported = {label for label, text in words.items() if any(m.endswith(text) for m in found)}
    assert reported == _core_risks(rule, None if cluster_role else "a")


@pytest.mark.parametrize(
    ("rule", "risk"),
    [
        ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}, "secrets"),
        ({"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create"]},
         "exec into pods"),
        ({"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
         "the kubelet API (nodes/proxy)"),
        ({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"],
          "verbs": ["create"]}, "RBAC escalation"),
    ],
)  # fmt: skip
def test_the_four_the_pack_used_to_miss_are_reported_by_both(rule, risk):
    """Writing Secrets, pods/portforward, nodes/proxy and create rolebindings: the review's
    classifier flagged them and the pack reported none (issue 27)."""
    props = {"metadata": {"name": "r", "namespace": "a"}, "rules": [rule]}
    found = resource_violations("secrets-and-exec-access", ROLE, props)
    assert found == [f"a/r rules[0]: {dict(shared.RISKS)[risk]}"]
    assert risk in _core_risks(rule, "a")


def test_unparsable_aws_auth_is_a_violation_not_no_mappings():
    props = aws_auth_props([NODE])
    props["data"]["mapRoles"] = "- rolearn: [unclosed\n"
    found = resource_violations(
        "aws-auth-keeps-node-roles", "kubernetes:core/v1:ConfigMapPatch", props
    )
    assert found and "does not parse" in found[0]


def test_a_plan_reads_each_aws_auth_text_once(invoke, tmp_path, monkeypatch):
    """The program's record and preflight, the plan's summary and the policy pack's rules all
    read the rendered aws-auth: the YAML 1.1 reader (the slow part) runs once per text."""
    from collections import Counter

    from ruamel.yaml.main import YAML

    from eks_access import rules

    rules._load_yaml11.cache_clear()
    loaded: Counter[str] = Counter()
    real = YAML.load

    def counting(self, stream):
        loaded[stream] += 1
        return real(self, stream)

    monkeypatch.setattr(YAML, "load", counting)
    r = invoke("plan", "--config-file", str(DEV), "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    rendered = yaml.safe_load((tmp_path / "aws-auth.yaml").read_text())["data"]
    assert rendered["mapRoles"] in loaded and rendered["mapUsers"] in loaded
    assert max(loaded.values()) == 1, loaded.most_common(1)
    assert rules._load_yaml11.cache_info().hits >= 2  # the pack's two rules read it again


# --- admin-level grants must end (admin-grants-end) ------------------------------------------


ADMIN_RULE = {"admin-grants-end": {"enforcementLevel": "mandatory", "maxDays": 30}}


def test_admin_grants_end_reads_the_end_the_program_writes():
    from datetime import UTC, datetime

    from eks_access import clock, rules

    name = "admin-grants-end"
    at = datetime(2026, 12, 6, tzinfo=UTC)
    subjects = [{"kind": "Group", "name": "g"}]

    def binding(role: str, end: str | None, subjects=subjects):
        meta: dict[str, Any] = {"name": "b"}
        if end:
            meta["annotations"] = {rules.GRANTS_END: end}
        return (CRB, {"metadata": meta, "roleRef": {"kind": "ClusterRole", "name": role},
                      "subjects": subjects})  # fmt: skip

    with clock.fixed(at):
        assert "has no end" in stack_violations(name, [binding("cluster-admin", None)])[0]
        assert stack_violations(name, [binding("cluster-admin", "2026-12-20T00:00:00Z")]) == []
        late = stack_violations(name, [binding("admin", "2027-02-01T00:00:00Z")], maxDays=30)
        assert "57.0 days from now; the bound is 30 days" in late[0]
        assert stack_violations(name, [binding("edit", None)]) == []  # not admin-level
        assert stack_violations(name, [binding("admin", None, [])]) == []  # binds nobody
        assert stack_violations(name, [binding("admin", rules.NO_MEMBERS)]) == []
        arn = "arn:aws:iam::111122223333:role/admin"
        assoc = ("aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
                 {"principalArn": arn,
                  "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"})  # fmt: skip
        entry = ("aws:eks/accessEntry:AccessEntry", {"principalArn": arn, "tags": {}})
        assert "has no end" in stack_violations(name, [entry, (*assoc, 0)])[0]
        ends = ("aws:eks/accessEntry:AccessEntry",
                {"principalArn": arn, "tags": {rules.GRANTS_END: "2026-12-07T00:00:00Z"}})  # fmt: skip
        assert stack_violations(name, [ends, (*assoc, 0)]) == []
    assert policy.settings(_policy(name), {})[0] == "disabled"  # off unless a stack enables it


def _admin_raw(mode: str, **member: Any) -> dict[str, Any]:
    cluster = {"name": "demo", "nodeRoleArns": [NODE_ROLE], "authenticationMode": mode}
    if mode == "API":
        cluster["nodeAccessEntries"] = "create"
    team: dict[str, Any] = {"name": "ops", "users": [{"name": "ann", **member}, "ben"]}
    if mode == "CONFIG_MAP":
        team["clusterAccess"] = "cluster-admin"
    else:
        team["accessPolicies"] = [{"policy": "cluster-admin", "scope": "cluster"}]
        team["clusterAccess"] = "view"
    return minimal_raw(**{"eks-access:cluster": cluster, "eks-access:teams": [team]})


@pytest.mark.parametrize("mode", ["CONFIG_MAP", "API"])
def test_admin_grants_end_on_plans_of_both_mechanisms(tmp_path, mode):
    """The program writes each admin-level grant's end where the pack reads it: on the
    cluster-admin binding (aws-auth) or the access entry (access policies)."""
    from datetime import UTC, datetime

    from eks_access import clock

    at = datetime(2026, 12, 6, tzinfo=UTC)
    for sub in "abc":
        (tmp_path / sub).mkdir()
    with clock.fixed(at):
        # ben has no end: the grant is unbounded.
        result = _run_raw(tmp_path / "a", _admin_raw(mode, expires="2026-12-10"))
        assert _caught(result, "admin-grants-end", ADMIN_RULE)
        assert not _caught(result, "admin-grants-end")  # the rule is off by default
        raw = _admin_raw(mode, expires="2026-12-10")
        raw["eks-access:teams"][0]["expires"] = "2026-12-20"  # everyone's end: the team's
        assert _caught(_run_raw(tmp_path / "b", raw), "admin-grants-end", ADMIN_RULE) == []
        raw["eks-access:teams"][0]["expires"] = "2027-03-01"
        late = _caught(_run_raw(tmp_path / "c", raw), "admin-grants-end", ADMIN_RULE)
        assert late and "2027-03-02T00:00:00Z" in late[0]


def test_admin_grants_end_covers_namespace_admin_bindings(tmp_path):
    from datetime import UTC, datetime

    from eks_access import clock

    team = {"name": "ops", "namespaces": ["apps", "jobs"], "namespaceAccess": "admin",
            "users": [{"name": "ann", "expires": "2026-12-10"}, "ben"]}  # fmt: skip
    with clock.fixed(datetime(2026, 12, 6, tzinfo=UTC)):
        unbounded = _caught(
            _run_raw(tmp_path, minimal_raw(**{"eks-access:teams": [team]})),
            "admin-grants-end", ADMIN_RULE,
        )  # fmt: skip
        assert len(unbounded) == 2 and all("has no end" in m for m in unbounded)  # 2 namespaces
        team["users"][1] = {"name": "ben", "expires": "2026-12-12T12:00:00Z"}
        (tmp_path / "b").mkdir()
        result = _run_raw(tmp_path / "b", minimal_raw(**{"eks-access:teams": [team]}))
        assert _caught(result, "admin-grants-end", ADMIN_RULE) == []
        ends = {
            r.inputs["metadata"]["annotations"]["eks-access.io/grants-end"]
            for r in result.resources
            if r.type.endswith(":RoleBinding")
        }
        assert ends == {"2026-12-12T12:00:00Z"}  # the later of the two ends
