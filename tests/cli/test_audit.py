"""The cluster's answer: export folders read (`cluster_view`), the cluster's state with where each
grant comes from, the audit against the config, `can-i --live`, and the EKS side of `export`
through an unmodified boto3 client against the EKS API stand-in (botocore's model judging both
requests and responses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.engine import add_cluster, locked_state
from eks_access import audit, authz, awsauth, cluster_view, stackfile
from eks_access.live import LiveError
from eks_access.principals import principals
from offline import plan
from offline.run import run
from tests import golden_audit
from tests.conftest import DEV

ACCOUNT = "111122223333"
DAVE = f"arn:aws:iam::{ACCOUNT}:user/dave"
SSO = f"arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_PaymentsDev_0123456789abcdef"


@pytest.fixture(scope="module")
def dev_plan() -> Any:
    return run(stackfile.read(DEV))


def _configmap(data: dict[str, str]) -> dict[str, Any]:
    meta = {"name": "aws-auth", "namespace": "kube-system"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def _binding(name: str, role: str, *subjects: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": list(subjects),
    }


def export_of(dev_plan: Any, folder: Path, extra_users: str = "", extra: Any = ()) -> Path:
    """An export folder of the cluster as the dev plan leaves it, plus hand-made changes."""
    folder.mkdir(parents=True, exist_ok=True)
    data = plan.aws_auth_data(dev_plan)
    data = {**data, "mapUsers": data["mapUsers"] + extra_users}
    (folder / "aws-auth.yaml").write_text(yaml.safe_dump(_configmap(data)))
    # Kubernetes' own bootstrap binding, as every cluster has it
    masters = _binding(
        "cluster-admin", "cluster-admin", {"kind": "Group", "name": "system:masters"}
    )
    masters["metadata"]["labels"] = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    objects = [*plan.kubernetes_objects(dev_plan), masters, *extra]
    (folder / "rbac.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": objects})
    )
    return folder


# --- reading exports ------------------------------------------------------------------------------


def test_an_empty_folder_reads_nothing_and_says_so(tmp_path: Path):
    found = cluster_view.read(tmp_path)
    assert found.not_read == list(cluster_view.FILES)
    assert found.mode is None


def test_aws_cli_shapes_are_read_wrapped_or_bare(tmp_path: Path):
    (tmp_path / "cluster.json").write_text(
        json.dumps({"cluster": {"name": "dev", "accessConfig": {"authenticationMode": "API"}}})
    )
    (tmp_path / "nodegroups.json").write_text(json.dumps({"nodegroups": [{"nodeRole": "r"}]}))
    (tmp_path / "fargate-profiles.json").write_text(json.dumps([{"podExecutionRoleArn": "f"}]))
    found = cluster_view.read(tmp_path)
    assert found.mode == "API"
    assert found.nodegroups == [{"nodeRole": "r"}]
    assert found.fargate_profiles == [{"podExecutionRoleArn": "f"}]


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("rbac.yaml", "kind: List\nitems: 3\n", "a List without items"),
        ("rbac.yaml", "- 1\n- 2\n", "not Kubernetes objects"),
        (
            "rbac.yaml",
            yaml.safe_dump(
                {"kind": "List", "items": [{"kind": "RoleBinding", "metadata": {"name": "x"}}]}
            ),
            "roleRef needs kind and name",
        ),
        ("cluster.json", '{"clusters": []}', "not describe-cluster output"),
        ("access-entries.json", '[{"accessEntry": {}}]', "no accessEntry.principalArn"),
        ("access-entries.json", "{not json", "does not parse"),
        ("nodegroups.json", '"text"', "expected a JSON list"),
        ("aws-auth.yaml", "kind: Secret\n", "not a ConfigMap"),
    ],
)
def test_a_malformed_file_is_named_with_what_is_wrong(
    tmp_path: Path, name: str, text: str, fragment: str
):
    (tmp_path / name).write_text(text)
    with pytest.raises(LiveError, match=fragment) as e:
        cluster_view.read(tmp_path)
    assert name in str(e.value)


def test_a_bad_live_folder_is_exit_2_without_a_traceback(tmp_path: Path, invoke: Any):
    (tmp_path / "rbac.yaml").write_text("- 1\n")
    r = invoke("audit", "--config-file", str(DEV), "--live", str(tmp_path))
    code = r.returncode
    err = r.stderr
    assert code == 2 and "rbac.yaml" in err and "Traceback" not in err


# --- the cluster's state --------------------------------------------------------------------------


def _entries(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return list(items)


def _entry(arn: str, kind: str = "STANDARD", username: str = "", groups: tuple[str, ...] = (),
           policies: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:  # fmt: skip
    entry: dict[str, Any] = {"principalArn": arn, "type": kind, "kubernetesGroups": list(groups)}
    if username:
        entry["username"] = username
    return {"accessEntry": entry, "associatedAccessPolicies": list(policies)}


VIEW = {
    "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
    "accessScope": {"type": "namespace", "namespaces": ["payments"]},
}


def test_entries_win_over_aws_auth_and_get_eks_default_usernames():
    data = {"mapUsers": f"- userarn: {DAVE}\n  username: old-dave\n  groups: [a]\n"}
    export = cluster_view.Export(
        "x",
        aws_auth=cluster_view.LiveAwsAuth(data, {}, "x"),
        entries=_entries(_entry(DAVE, groups=("b",)), _entry(f"arn:aws:iam::{ACCOUNT}:role/ops")),
    )
    state = cluster_view.state_of(export, "API_AND_CONFIG_MAP").state
    dave = state.resolve(DAVE)
    assert (
        dave is not None and dave.username == DAVE and "b" in dave.groups and "a" not in dave.groups
    )
    ops = state.resolve(f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/jane")
    assert ops is not None and ops.username == f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/jane"
    # API mode: aws-auth is not read at all
    api = cluster_view.state_of(cluster_view.Export("x", aws_auth=export.aws_auth), "API").state
    assert api.resolve(DAVE) is None
    # CONFIG_MAP: entries are not read
    cm = cluster_view.state_of(export, "CONFIG_MAP").state
    assert cm.resolve(DAVE) is not None and cm.resolve(DAVE).username == "old-dave"  # type: ignore[union-attr]


def test_access_policies_grant_with_their_scope_and_unknown_ones_are_noted():
    unknown = {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSFuturePolicy",
               "accessScope": {"type": "cluster"}}  # fmt: skip
    export = cluster_view.Export("x", entries=_entries(_entry(DAVE, policies=(VIEW, unknown))))
    found = cluster_view.state_of(export, "API")
    get_pods = authz.parse_request("get", "pods", "payments")
    assert found.state.can(DAVE, get_pods)
    assert not found.state.can(DAVE, authz.parse_request("get", "pods", "default"))
    assert any("AmazonEKSFuturePolicy" in n for n in found.notes)


def test_node_entries_and_the_creator_are_platform():
    creator = f"arn:aws:iam::{ACCOUNT}:role/admin"
    export = cluster_view.Export(
        "x",
        entries=_entries(
            _entry(f"arn:aws:iam::{ACCOUNT}:role/nodes", kind="EC2_LINUX"),
            _entry(
                creator,
                policies=(
                    {
                        "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
                        "accessScope": {"type": "cluster"},
                    },
                ),
            ),
        ),
    )
    found = cluster_view.state_of(export, "API", creator)
    assert found.platform == {
        f"arn:aws:iam::{ACCOUNT}:role/nodes": "EC2_LINUX access entry (nodes)",
        creator: "the cluster creator's access entry",
    }


# --- the audit ------------------------------------------------------------------------------------


def _audit_doc(folder: Path, allow: Any = ()) -> Any:
    config = stackfile.read(DEV).load()
    export = cluster_view.read(folder)
    return audit.audit(
        config, cluster_view.state_of(export, "CONFIG_MAP"), list(allow), export.not_read
    )


def _audit(folder: Path, allow: Any = ()) -> dict[str, Any]:
    """The audit as `audit --format json` writes it."""
    return dict(_audit_doc(folder, allow).to_json())


def test_an_unchanged_cluster_is_as_configured(dev_plan: Any, tmp_path: Path):
    doc = _audit(export_of(dev_plan, tmp_path))
    assert doc["flagged"] == 0
    assert {p["status"] for p in doc["principals"]} == {"as configured"}


def test_a_hand_aws_auth_line_is_beyond_config_with_its_source(dev_plan: Any, tmp_path: Path):
    doc = _audit(
        export_of(
            dev_plan, tmp_path, f"- userarn: {DAVE}\n  username: dave\n  groups: [system:masters]\n"
        )
    )
    (dave,) = [p for p in doc["principals"] if p["principal"] == DAVE]
    assert dave["status"] == "beyond config" and not dave["inConfig"]
    assert dave["mappedBy"] == "aws-auth mapUsers line"
    assert any("cluster-admin" in c["via"] for c in dave["beyondConfig"])
    assert doc["flagged"] == 1


def test_a_binding_to_a_session_username_is_the_roles_access(dev_plan: Any, tmp_path: Path):
    hand = _binding("hand-made", "cluster-admin",
                    {"kind": "User", "name": "payments-sso:alice", "apiGroup": "rbac.authorization.k8s.io"})  # fmt: skip
    doc = _audit(export_of(dev_plan, tmp_path, extra=[hand]))
    (alice,) = [p for p in doc["principals"] if p["username"] == "payments-sso:alice"]
    assert alice["principal"] == SSO and alice["status"] == "beyond config"
    assert {c["via"] for c in alice["beyondConfig"]} == {
        "ClusterRoleBinding hand-made -> ClusterRole cluster-admin"
    }
    # the role's other sessions are as configured
    others = [p for p in doc["principals"] if p["username"] == "payments-sso:{{SessionName}}"]
    assert [p["status"] for p in others] == ["as configured"]


def test_service_accounts_are_listed_out_of_scope_and_unmatched_users_noted(
    dev_plan: Any, tmp_path: Path
):
    hand = _binding("ci", "edit", {"kind": "ServiceAccount", "name": "deployer", "namespace": "ci"},
                    {"kind": "User", "name": "nobody-maps-me"})  # fmt: skip
    doc = _audit(export_of(dev_plan, tmp_path, extra=[hand]))
    assert doc["serviceAccounts"] == [
        {"serviceAccount": "ci/deployer", "via": "ClusterRoleBinding ci -> ClusterRole edit"}
    ]
    assert any("nobody-maps-me" in n for n in doc["notes"])
    assert doc["flagged"] == 0


def test_a_missing_binding_is_drift(dev_plan: Any, tmp_path: Path):
    folder = export_of(dev_plan, tmp_path)
    listed = yaml.safe_load((folder / "rbac.yaml").read_text())
    listed["items"] = [
        o for o in listed["items"] if o["metadata"]["name"] != "eks-access:auditors:view"
    ]
    (folder / "rbac.yaml").write_text(yaml.safe_dump(listed))
    doc = _audit(folder)
    (carol,) = [p for p in doc["principals"] if p["username"] == "carol"]
    assert carol["status"] == "drift" and carol["missingFromCluster"]
    assert doc["flagged"] == 0


def test_the_allow_list_labels_a_reviewed_exception(dev_plan: Any, tmp_path: Path):
    folder = export_of(dev_plan, tmp_path, f"- userarn: {DAVE}\n  username: dave\n  groups: []\n")
    doc = _audit(
        folder,
        [
            audit.Allowance(
                DAVE.upper().replace("ARN:AWS", "arn:aws"), "SEC-12: break-glass, reviewed 2026-11"
            )
        ],
    )
    (dave,) = [p for p in doc["principals"] if p["principal"] == DAVE]
    assert dave["status"] == "allowed" and dave["allowedBecause"].startswith("SEC-12")
    assert doc["flagged"] == 0


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"principal": DAVE}, "exactly 'principal'"),
        ([{"principal": DAVE, "reason": " "}], "non-empty reason"),
        ("text", "expected a list"),
    ],
)
def test_a_bad_allow_list_is_refused(doc: Any, fragment: str):
    with pytest.raises(audit.AllowError, match=fragment):
        audit.allowances(doc if isinstance(doc, list | str) else [doc], "allow.yaml")


def test_audit_cli_exit_codes_and_formats(dev_plan: Any, tmp_path: Path, invoke: Any):
    clean = export_of(dev_plan, tmp_path / "clean")
    r = invoke("audit", "--config-file", str(DEV), "--live", str(clean))
    assert r.returncode == 0
    out = r.stdout
    assert "**0 principals have access the config does not grant" in out
    dirty = export_of(
        dev_plan, tmp_path / "dirty", f"- userarn: {DAVE}\n  username: dave\n  groups: []\n"
    )
    argv = ["audit", "--config-file", str(DEV), "--live", str(dirty)]
    r = invoke(*argv, "--format", "json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["flagged"] == 1 and "cluster.json" in doc["notRead"]
    r = invoke(*argv, "--format", "html")
    assert r.returncode == 1
    assert "<table" in r.stdout
    allow = tmp_path / "allow.yaml"
    allow.write_text(yaml.safe_dump([{"principal": DAVE, "reason": "reviewed"}]))
    r = invoke(*argv, "--allow", str(allow))
    assert r.returncode == 0


# --- can-i with a live source ---------------------------------------------------------------------


def test_can_i_live_answers_for_the_cluster_and_says_so(dev_plan: Any, tmp_path: Path, invoke: Any):
    folder = export_of(
        dev_plan, tmp_path, f"- userarn: {DAVE}\n  username: dave\n  groups: [system:masters]\n"
    )
    argv = ["can-i", "delete", "nodes", "--as", DAVE, "--config-file", str(DEV)]
    r = invoke(*argv)
    assert r.returncode == 1  # the config does not map dave
    assert "the config in Pulumi.dev.yaml" in r.stderr
    r = invoke(*argv, "--live", str(folder), "--format", "json")
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["answer"] == "yes" and doc["source"].startswith("the cluster as exported in")


def test_who_can_live_names_the_hand_mapped_principal(dev_plan: Any, tmp_path: Path, invoke: Any):
    folder = export_of(
        dev_plan, tmp_path, f"- userarn: {DAVE}\n  username: dave\n  groups: [system:masters]\n"
    )
    argv = [
        "who-can",
        "get",
        "secrets",
        "-n",
        "payments",
        "--config-file",
        str(DEV),
        "--live",
        str(folder),
        "--format",
        "json",
    ]
    r = invoke(*argv)
    assert r.returncode == 0
    assert DAVE in {r["principal"] for r in json.loads(r.stdout)["principals"]}


# --- the EKS side of export, through boto3 and the stand-in ---------------------------------------


def test_export_reads_eks_through_boto3_judged_by_botocore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import boto3

    from e2e.eks_api import serve
    from eks_access import export

    state = tmp_path / "eks.json"
    add_cluster(state, "dev", authentication_mode="API_AND_CONFIG_MAP")
    with locked_state(state) as s:
        s["accessEntries"]["dev"] = {
            DAVE: {
                "principalArn": DAVE,
                "type": "STANDARD",
                "kubernetesGroups": ["ops"],
                "userName": "dave",
            },
            "arn:aws:iam::111122223333:role/nodes": {
                "principalArn": "arn:aws:iam::111122223333:role/nodes",
                "type": "EC2_LINUX",
                "userName": "system:node:{{EC2PrivateDNSName}}",
            },
        }
        s["associations"]["dev"] = {DAVE: {VIEW["policyArn"]: {"accessScope": VIEW["accessScope"]}}}
        s["nodegroups"] = {"dev": {"ng-1": "arn:aws:iam::111122223333:role/nodes"}}
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    calls: list[str] = []
    with serve(state, calls) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", url)
        files = export.read_aws(boto3.client("eks", region_name="us-east-1"), "dev")
    assert "DescribeAccessEntry" in calls and "ListAssociatedAccessPolicies" in calls
    for name, text in files.items():
        if name.endswith(".json"):
            (tmp_path / name).write_text(text)
    found = cluster_view.read(tmp_path)
    assert found.mode == "API_AND_CONFIG_MAP"
    state_ = cluster_view.state_of(found, found.mode or "")
    assert state_.state.can(DAVE, authz.parse_request("list", "pods", "payments"))
    assert state_.platform == {
        "arn:aws:iam::111122223333:role/nodes": "EC2_LINUX access entry (nodes)"
    }
    assert found.nodegroups and found.nodegroups[0]["nodeRole"].endswith("role/nodes")
    kube = json.loads(files[".kubeconfig"])
    assert kube["users"][0]["user"]["exec"]["command"] == "aws"


def test_the_stand_in_refuses_what_botocore_would_not_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The control: a response field of the wrong type is refused by botocore's validator."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    from e2e.eks_api import serve

    state = tmp_path / "eks.json"
    add_cluster(state, "dev", authentication_mode="API")
    with locked_state(state) as s:
        s["accessEntries"]["dev"] = {DAVE: {"principalArn": DAVE, "type": 5}}
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with serve(state) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", url)
        client = boto3.client(
            "eks",
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}),
        )
        with pytest.raises(ClientError, match=r"Invalid type for parameter accessEntry\.type"):
            client.describe_access_entry(clusterName="dev", principalArn=DAVE)


def test_awsauth_of_the_plan_maps_the_configs_principals(dev_plan: Any):
    # the fixture export above starts from the plan's own aws-auth
    mapped = awsauth.parse(plan.aws_auth_data(dev_plan)).mappings
    assert {p.arn.match_key for p in principals(stackfile.read(DEV).load())} <= set(mapped) | {
        f"arn:aws:iam::{ACCOUNT}:role/eks-node-group"
    }


def test_the_configs_bindings_grant_what_the_clusters_builtin_roles_say(
    dev_plan: Any, tmp_path: Path
):
    """The config binds `edit` by name: on a cluster whose `edit` has more rules (a newer
    Kubernetes, or a role aggregated into it), that is the config's access too, not access
    beyond it; a non-default role aggregated into a built-in one is noted."""
    edit = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "edit", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "rules": [{"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["get"]},
                  {"apiGroups": ["*"], "resources": ["*"], "verbs": ["list"]}],
    }  # fmt: skip
    extra = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "crd-editor",
                     "labels": {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}},
        "rules": [],
    }  # fmt: skip
    doc = _audit(export_of(dev_plan, tmp_path, extra=[edit, extra]))
    (alice,) = [p for p in doc["principals"] if p["username"] == "alice"]
    assert alice["status"] == "as configured", alice
    assert not alice["beyondConfig"]
    assert any("crd-editor is aggregated into edit" in n for n in doc["notes"])


# --- what the reviewers tried ---------------------------------------------------------------------


def test_a_binding_to_everyone_or_anyone_is_flagged(dev_plan: Any, tmp_path: Path):
    oops = _binding("oops", "cluster-admin", {"kind": "Group", "name": "system:unauthenticated"},
                    {"kind": "User", "name": "system:anonymous"})  # fmt: skip
    doc = _audit(export_of(dev_plan, tmp_path, extra=[oops]))
    (anyone,) = [p for p in doc["principals"] if p["principal"] == "system:anonymous"]
    assert anyone["status"] == "beyond config" and anyone["beyondConfig"]
    assert doc["flagged"] >= 1


def test_the_platforms_own_bindings_are_not_flagged(dev_plan: Any, tmp_path: Path):
    public = _binding("system:public-info-viewer", "system:public-info-viewer",
                      {"kind": "Group", "name": "system:unauthenticated"})  # fmt: skip
    public["metadata"]["labels"] = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:public-info-viewer",
                         "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "rules": [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]}  # fmt: skip
    assert _audit(export_of(dev_plan, tmp_path, extra=[public, role]))["flagged"] == 0
    # a person added to a default binding is not the platform's (export_of's cluster-admin
    # binding of system:masters is one)
    folder = export_of(dev_plan, tmp_path / "b", extra=[public, role])
    listed = yaml.safe_load((folder / "rbac.yaml").read_text())
    (masters,) = [o for o in listed["items"] if o["metadata"]["name"] == "cluster-admin"]
    masters["subjects"].append({"kind": "User", "name": "payments-sso:eve"})
    (folder / "rbac.yaml").write_text(yaml.safe_dump(listed))
    doc = _audit(folder)
    assert [p["username"] for p in doc["principals"] if p["status"] == "beyond config"] == [
        "payments-sso:eve"
    ]


def test_map_accounts_and_a_binding_to_one_of_its_arns_are_flagged(dev_plan: Any, tmp_path: Path):
    folder = export_of(dev_plan, tmp_path, extra=[
        _binding("x-admin", "cluster-admin",
                 {"kind": "User", "name": "arn:aws:iam::444455556666:role/Admin"})])  # fmt: skip
    cm = yaml.safe_load((folder / "aws-auth.yaml").read_text())
    cm["data"]["mapAccounts"] = "- '444455556666'\n"
    (folder / "aws-auth.yaml").write_text(yaml.safe_dump(cm))
    doc = _audit(folder)
    flagged = {p["principal"] for p in doc["principals"] if p["status"] == "beyond config"}
    assert flagged == {"account 444455556666", "arn:aws:iam::444455556666:role/Admin"}


def test_a_node_shaped_line_with_more_groups_is_a_person(dev_plan: Any, tmp_path: Path):
    line = ("- rolearn: arn:aws:iam::111122223333:role/ci\n  username: system:node:{{EC2PrivateDNSName}}\n"
            "  groups: [system:masters, system:nodes]\n")  # fmt: skip
    folder = export_of(dev_plan, tmp_path)
    cm = yaml.safe_load((folder / "aws-auth.yaml").read_text())
    cm["data"]["mapRoles"] += line
    (folder / "aws-auth.yaml").write_text(yaml.safe_dump(cm))
    doc = _audit(folder)
    (ci,) = [p for p in doc["principals"] if p["principal"].endswith("role/ci")]
    assert ci["status"] == "beyond config"


@pytest.mark.parametrize(
    ("items", "fragment"),
    [
        ([{"kind": "ClusterRoleBinding", "metadata": {"name": "b"},
           "roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "User"}]}],
         "every subject needs a kind and a name"),
        ([{"kind": "ClusterRoleBinding", "metadata": {},
           "roleRef": {"kind": "ClusterRole", "name": "v"}}],
         "metadata.name is missing"),
        ([{"kind": "ClusterRole", "metadata": {"name": "r"}, "rules": "all"}], "rules is not a list"),
    ],
)  # fmt: skip
def test_rbac_objects_missing_what_evaluation_reads_are_refused(
    tmp_path: Path, items: list[Any], fragment: str
):
    (tmp_path / "rbac.yaml").write_text(yaml.safe_dump({"kind": "List", "items": items}))
    with pytest.raises(LiveError, match=fragment):
        cluster_view.read(tmp_path)


def test_rules_null_of_an_aggregated_role_is_no_rules(tmp_path: Path):
    items = [{"kind": "ClusterRole", "metadata": {"name": "agg"}, "rules": None}]
    (tmp_path / "rbac.yaml").write_text(yaml.safe_dump({"kind": "List", "items": items}))
    assert cluster_view.read(tmp_path).rbac == [
        {"kind": "ClusterRole", "metadata": {"name": "agg"}, "rules": []}
    ]


def test_a_namespace_pattern_scope_is_a_prefix_and_an_unknown_policy_is_unknown(
    tmp_path: Path, invoke: Any
):
    pattern = {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
               "accessScope": {"type": "namespace", "namespaces": ["payments-*"]}}  # fmt: skip
    reader = {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSSecretReaderPolicy",
              "accessScope": {"type": "cluster"}}  # fmt: skip
    (tmp_path / "access-entries.json").write_text(
        json.dumps([_entry(DAVE, policies=(pattern, reader))])
    )
    (tmp_path / "cluster.json").write_text(
        json.dumps({"cluster": {"name": "dev", "accessConfig": {"authenticationMode": "API"}}})
    )
    base = ["--as", DAVE, "--config-file", str(DEV), "--live", str(tmp_path), "--format", "json"]
    r = invoke("can-i", "delete", "pods", "-n", "payments-jobs", *base)
    assert r.returncode == 0
    assert json.loads(r.stdout)["answer"] == "yes"
    r = invoke("can-i", "get", "secrets", "-n", "default", *base)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["answer"] == "unknown" and "AmazonEKSSecretReaderPolicy" in doc["note"]


def test_access_live_lists_the_clusters_principals(dev_plan: Any, tmp_path: Path, invoke: Any):
    folder = export_of(dev_plan, tmp_path, f"- userarn: {DAVE}\n  username: dave\n  groups: []\n")
    argv = ["access", "--config-file", str(DEV), "--live", str(folder), "--format", "json"]
    r = invoke(*argv)
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert DAVE in {p["principal"] for p in doc["principals"]}
    assert doc["source"].startswith("the cluster as exported in")
    r = invoke(*argv[:-2])
    assert r.returncode == 0
    assert "answered for the cluster" in r.stderr


def test_a_session_pattern_takes_only_what_a_session_name_can_be():
    pattern = authz.session_pattern("dev:{{SessionName}}")
    assert pattern is not None
    assert pattern.match("dev:alice-example.com") and not pattern.match("dev:alice@example.com")
    raw = authz.session_pattern("dev:{{SessionNameRaw}}")
    assert raw is not None and raw.match("dev:alice@example.com")


def test_export_into_a_used_folder_leaves_no_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from eks_access import export

    (tmp_path / "aws-auth.yaml").write_text("stale")
    monkeypatch.setattr(
        export, "read_aws", lambda eks, cluster: {"cluster.json": "{}\n", ".kubeconfig": "{}"}
    )
    monkeypatch.setattr(export, "read_kubernetes", lambda kubeconfig, kubectl: {"rbac.yaml": "x\n"})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "t")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "t")
    assert export.export("dev", "us-east-1", tmp_path) == ["cluster.json", "rbac.yaml"]
    assert not (tmp_path / "aws-auth.yaml").exists()


def test_node_roles_are_labelled_with_their_node_groups(dev_plan: Any, tmp_path: Path):
    folder = export_of(dev_plan, tmp_path)
    (folder / "nodegroups.json").write_text(json.dumps(
        [{"nodegroupName": "ng-1", "nodeRole": "arn:aws:iam::111122223333:role/eks-node-group"}]
    ))  # fmt: skip
    typed = _audit_doc(folder)
    assert typed.to_json()["nodeRoles"] == [
        {"role": "arn:aws:iam::111122223333:role/eks-node-group",
         "username": "system:node:{{EC2PrivateDNSName}}", "usedBy": "node group ng-1"}
    ]  # fmt: skip
    assert "node group ng-1" in audit.markdown(typed, "dev")


def test_an_api_cluster_read_through_boto3_imports_as_equivalent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The EKS side of `import`: the stand-in's entries (a console-made one with a policy, and
    EKS's node entry) read by `export` through boto3, then `import --live` of that folder."""
    import subprocess
    import sys

    import boto3

    from e2e.eks_api import serve
    from eks_access import export
    from tests.conftest import ROOT

    state = tmp_path / "eks.json"
    add_cluster(state, "prod", authentication_mode="API")
    nodes = "arn:aws:iam::111122223333:role/nodes"
    with locked_state(state) as s:
        s["accessEntries"]["prod"] = {
            DAVE: {"principalArn": DAVE, "type": "STANDARD", "kubernetesGroups": ["ops"],
                   "userName": "dave"},
            nodes: {"principalArn": nodes, "type": "EC2_LINUX",
                    "userName": "system:node:{{EC2PrivateDNSName}}"},
        }  # fmt: skip
        s["associations"]["prod"] = {
            DAVE: {VIEW["policyArn"]: {"accessScope": VIEW["accessScope"]}}
        }
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    folder = tmp_path / "live"
    folder.mkdir()
    with serve(state) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", url)
        files = export.read_aws(boto3.client("eks", region_name="us-east-1"), "prod")
    for name, text in files.items():
        if name.endswith(".json"):
            (folder / name).write_text(text)
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (project / name).write_text((ROOT / name).read_text())
    out = project / "Pulumi.prod.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "eks_access", "import", "--live", str(folder), "--cluster", "prod",
         "--region", "us-east-1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "equivalent: after the offline plan" in proc.stdout
    config = yaml.safe_load(out.read_text())["config"]
    assert config["eks-access:cluster"]["nodeRoleArns"] == [nodes]
    teams = {t["name"]: t for t in config["eks-access:teams"]}
    assert teams["ops"]["existingUsers"] == [{"arn": DAVE}]  # username dave is the default


def test_everyone_added_to_a_default_binding_or_an_eks_named_one_is_flagged(
    dev_plan: Any, tmp_path: Path
):
    folder = export_of(dev_plan, tmp_path)
    listed = yaml.safe_load((folder / "rbac.yaml").read_text())
    (masters,) = [o for o in listed["items"] if o["metadata"]["name"] == "cluster-admin"]
    masters["subjects"].append({"kind": "Group", "name": "system:authenticated"})
    (folder / "rbac.yaml").write_text(yaml.safe_dump(listed))
    doc = _audit(folder)
    flagged = {p["username"] for p in doc["principals"] if p["status"] == "beyond config"}
    assert "(any authenticated caller)" in flagged
    debug = _binding(
        "eks:debug", "cluster-admin", {"kind": "Group", "name": "system:authenticated"}
    )
    doc = _audit(export_of(dev_plan, tmp_path / "b", extra=[debug]))
    assert "(any authenticated caller)" in {
        p["username"] for p in doc["principals"] if p["status"] == "beyond config"
    }


def test_a_default_role_bound_to_everyone_edited_to_read_secrets_is_flagged(
    dev_plan: Any, tmp_path: Path
):
    basic = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "system:basic-user",
                     "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "rules": [*authz.builtin_rules("system:basic-user"),
                  {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
    }  # fmt: skip
    binding = _binding("system:basic-user", "system:basic-user",
                       {"kind": "Group", "name": "system:authenticated"})  # fmt: skip
    binding["metadata"]["labels"] = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    doc = _audit(export_of(dev_plan, tmp_path, extra=[basic, binding]))
    everyone = next(p for p in doc["principals"] if p["username"] == "(any authenticated caller)")
    assert everyone["status"] == "beyond config"
    assert {c["permission"] for c in everyone["beyondConfig"]} == {"get secrets cluster-wide"}
    # the same default unedited is the platform's
    basic["rules"] = authz.builtin_rules("system:basic-user")
    assert _audit(export_of(dev_plan, tmp_path / "b", extra=[basic, binding]))["flagged"] == 0


@pytest.mark.parametrize("case", golden_audit.CASES)
def test_the_audit_renders_as_the_golden_copy(case: str) -> None:
    """JSON, Markdown and the HTML page of two audits, byte for byte as before the audit's
    document was typed (tests/golden_audit.py)."""
    import difflib
    import itertools

    for ext, text in golden_audit.rendered(case).items():
        want = golden_audit.stored(case, ext)
        if text != want:
            diff = difflib.unified_diff(want.splitlines(), text.splitlines(), lineterm="", n=1)
            pytest.fail(f"{ext} differs:\n" + "\n".join(itertools.islice(diff, 40)))
