"""Adopting a cluster: exported aws-auth and RBAC in, a stack config out, and the offline plan
of that config proven to map and grant the same (or every difference printed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eks_access import adopt, awsauth, stackfile
from offline import plan
from offline.run import run
from tests.conftest import ROOT

FIXTURES = Path(__file__).parent.parent / "fixtures" / "adopt"


def import_cmd(tmp_path: Path, aws_auth: Path, *rbac: Path) -> tuple[int, str, dict[str, Any]]:
    return run_import(tmp_path, ["--aws-auth", str(aws_auth), *(f"--rbac={r}" for r in rbac)])


def run_import(project: Path, source: list[str]) -> tuple[int, str, dict[str, Any]]:
    """`eks-access import` into Pulumi.imported.yaml of a project folder holding the program."""
    project.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        (project / name).write_text((ROOT / name).read_text())
    out = project / "Pulumi.imported.yaml"
    argv = ["import", *source, "--cluster", "prod", "--region", "us-east-1"]
    proc = subprocess.run(
        [sys.executable, "-m", "eks_access", *argv, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    written = yaml.safe_load(out.read_text())["config"] if out.exists() else {}
    return proc.returncode, proc.stdout + proc.stderr, written


def test_a_realistic_export_imports_with_every_lossy_item_reported(tmp_path):
    code, output, config = import_cmd(tmp_path, FIXTURES / "aws-auth.yaml", FIXTURES / "rbac.yaml")
    cluster = config["eks-access:cluster"]
    assert len(cluster["nodeRoleArns"]) == 2 and len(cluster["fargateRoleArns"]) == 1
    assert cluster["mapAccounts"] == ["777788889999"]
    teams = {t["name"]: t for t in config["eks-access:teams"]}
    assert set(teams) == {"auditors", "deployers", "developers", "cluster-admins"}
    dev = teams["developers"]
    assert dev["namespaceAccess"] == "edit" and sorted(dev["namespaces"]) == ["api", "web"]
    assert {u["arn"] for u in dev["existingUsers"]} == {
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::111122223333:user/ops/bob",
    }
    assert teams["auditors"]["clusterAccess"] == "view"
    assert teams["deployers"]["rules"][0]["resources"] == ["deployments"]
    # The authenticator keeps the last of two mappings of one ARN: so does the import.
    assert teams["deployers"]["roles"] == [
        {"arn": "arn:aws:iam::111122223333:role/ci-deployer", "username": "ci-deployer-v2"}
    ]
    for reported in (
        "mapRoles[7]: no rolearn; entry ignored",
        "ci-deployer is mapped again; the earlier mapping is lost",
        "group system:masters cannot be configured",
        "mapAccounts 777788889999",
        "monitoring-reader: role not in the export",
    ):
        assert reported in output, reported
    # system:masters became a cluster-admin binding: same access, different group. That is
    # a difference, so the proof says so and the exit code is 1.
    assert code == 1
    assert "NOT equivalent: 2 differences" in output
    assert (
        "awsreservedsso_admins_fedcba9876543210 is 'admin:{{SessionName}}' in ['system:masters']"
        in output
    )
    # The written file says what was lost or changed, for the reviewer.
    assert "# NOTE: " in (tmp_path / "Pulumi.imported.yaml").read_text()


def test_an_export_the_model_can_hold_imports_equivalent(tmp_path):
    data = yaml.safe_load((FIXTURES / "aws-auth.yaml").read_text())
    roles = yaml.safe_load(data["data"]["mapRoles"])
    data["data"]["mapRoles"] = yaml.safe_dump(
        [r for r in roles if "rolearn" in r and "system:masters" not in r["groups"]]
    )
    clean = tmp_path / "aws-auth.yaml"
    clean.write_text(yaml.safe_dump(data))
    code, output, _ = import_cmd(tmp_path, clean, FIXTURES / "rbac.yaml")
    assert code == 0, output
    assert "equivalent: the offline plan" in output and "maps the same 8 principals" in output
    assert "grants the same 4 bindings" in output


def test_the_proof_fails_when_the_plan_differs(tmp_path):
    data = (FIXTURES / "aws-auth.yaml").read_text()
    imported, teams = adopt.from_aws_auth(
        adopt.aws_auth_data(adopt.documents(data, "f"), "f"), "prod", "us-east-1"
    )
    adopt.add_rbac(imported, teams, adopt.documents((FIXTURES / "rbac.yaml").read_text(), "r"))
    # Drop carol from the written config, as a buggy importer or a hand edit would.
    auditors = next(t for t in imported.config["eks-access:teams"] if t["name"] == "auditors")
    auditors["existingUsers"] = auditors["existingUsers"][:1]
    auditors["clusterAccess"] = "edit"
    result = _plan(tmp_path, imported.config)
    diffs = adopt.compare(imported, plan.aws_auth_data(result), plan.kubernetes_objects(result))
    assert any("user/carol is 'carol'" in d and "does not map it" in d for d in diffs)
    assert any("group auditors has view in * today" in d for d in diffs)
    assert any("grants group auditors edit in *" in d for d in diffs)


def test_unreadable_exports_are_clean_errors(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("kind: ConfigMap\nmetadata: {name: other}\n")
    code, output, _ = import_cmd(tmp_path, bad)
    assert code == 2 and "no ConfigMap named aws-auth" in output
    bad.write_text("data: [unclosed")
    code, output, _ = import_cmd(tmp_path, bad)
    assert code == 2 and "not YAML" in output


def _plan(folder: Path, config: dict[str, Any]):
    for name in ("Pulumi.yaml", "__main__.py"):
        (folder / name).write_text((ROOT / name).read_text())
    path = folder / "Pulumi.adopt.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return run(stackfile.read(path))


# --- any valid aws-auth round-trips ------------------------------------------------------------

ACCOUNT = "111122223333"
GROUPS = ["developers", "ops", "read-only", "data"]


@st.composite
def aws_auth_exports(draw: st.DrawFn) -> dict[str, Any]:
    nodes = [
        {"rolearn": f"arn:aws:iam::{ACCOUNT}:role/nodes-{i}",
         "username": "system:node:{{EC2PrivateDNSName}}",
         "groups": ["system:bootstrappers", "system:nodes"]}
        for i in range(draw(st.integers(1, 2)))
    ]  # fmt: skip
    if draw(st.booleans()):
        nodes.append({"rolearn": f"arn:aws:iam::{ACCOUNT}:role/windows-nodes",
                      "username": "system:node:{{EC2PrivateDNSName}}",
                      "groups": ["system:bootstrappers", "system:nodes", "eks:kube-proxy-windows"]})  # fmt: skip
    # Names a YAML 1.1 reader keeps as text: others are mis-exported by PyYAML (see below).
    name = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True).filter(
        lambda n: isinstance(awsauth.load_yaml11(n), str)
    )
    names = draw(st.lists(name, unique=True, max_size=8))
    roles, users = list(nodes), []
    for name in names:
        groups = draw(st.lists(st.sampled_from(GROUPS), min_size=0, max_size=2, unique=True))
        path = draw(st.sampled_from(["/", "/teams/"]))
        if draw(st.booleans()):
            role_path = "/" if path == "/" else "/aws-reserved/sso.amazonaws.com/"
            arn = f"arn:aws:iam::{ACCOUNT}:role{role_path}R{name}"
            username = draw(st.sampled_from([f"r-{name}", f"r-{name}:{{{{SessionName}}}}"]))
            roles.append({"rolearn": arn, "username": username, "groups": groups})
        else:
            arn = f"arn:aws:iam::{ACCOUNT}:user{path}{name}"
            users.append({"userarn": arn, "username": draw(st.sampled_from([name, f"u-{name}"])),
                          "groups": groups})  # fmt: skip
    data = {"mapRoles": yaml.safe_dump(roles), "mapUsers": yaml.safe_dump(users)}
    if draw(st.booleans()):
        data["mapAccounts"] = yaml.safe_dump(["444455556666"])
    return data


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(aws_auth_exports())
def test_any_valid_aws_auth_imports_to_a_plan_that_maps_the_same_identities(tmp_path_factory, data):
    imported, _ = adopt.from_aws_auth(data, "prod", "us-east-1")
    result = _plan(tmp_path_factory.mktemp("adopt"), imported.config)
    diffs = adopt.compare(imported, plan.aws_auth_data(result), plan.kubernetes_objects(result))
    # The one difference: a role written with its path matches nobody today; the plan maps it
    # path-less, so it starts to work (and the proof must say so).
    never_matched = sorted(
        f"the plan maps {r['rolearn'].replace('/aws-reserved/sso.amazonaws.com/', '/').lower()}"
        for r in yaml.safe_load(data["mapRoles"])
        if "/aws-reserved/" in r["rolearn"]
    )
    assert [d.split(" as ")[0] for d in diffs] == never_matched


def test_a_name_yaml_1_1_reads_as_a_boolean_is_reported_not_trusted(tmp_path):
    # PyYAML (and so many hand-written aws-auth files) leaves `n` unquoted; the authenticator
    # reads it as false and maps the user with no username. The import says so, and the proof
    # does not call the plan (which maps the username `n`) equivalent.
    data = {
        "mapRoles": yaml.safe_dump(
            [{"rolearn": f"arn:aws:iam::{ACCOUNT}:role/nodes", "username": NODE, "groups": NODES}]
        ),
        "mapUsers": f"- userarn: arn:aws:iam::{ACCOUNT}:user/n\n  username: n\n  groups: [ops]\n",
    }
    imported, _ = adopt.from_aws_auth(data, "prod", "us-east-1")
    assert any("username False is not a string" in n for n in imported.notes)
    result = _plan(tmp_path, imported.config)
    diffs = adopt.compare(imported, plan.aws_auth_data(result), plan.kubernetes_objects(result))
    assert diffs == [
        f"today arn:aws:iam::{ACCOUNT}:user/n is '' in ['ops']; the plan does not map it so",
        f"the plan maps arn:aws:iam::{ACCOUNT}:user/n as 'n' in ['ops']; today it is not",
    ]
    # What the program writes is read back as written.
    assert "username: 'n'" in plan.aws_auth_data(result)["mapUsers"]


NODE = "system:node:{{EC2PrivateDNSName}}"
NODES = ["system:bootstrappers", "system:nodes"]


def test_existing_users_get_mappings_entries_and_bindings_but_are_never_created(tmp_path):
    config = {
        "aws:region": "us-east-1",
        "eks-access:cluster": {
            "name": "prod",
            "authenticationMode": "API_AND_CONFIG_MAP",
            "nodeAccessEntries": "eks-managed",
            "nodeRoleArns": ["arn:aws:iam::111122223333:role/nodes"],
        },
        "eks-access:teams": [
            {"name": "ops", "namespaces": ["ops"], "namespaceAccess": "edit", "bindTo": "users",
             "users": ["alice"],
             "existingUsers": [{"arn": "arn:aws:iam::111122223333:user/legacy/bob"}]}
        ],
    }  # fmt: skip
    result = _plan(tmp_path, config)
    assert [u.inputs["name"] for u in result.of_type("aws:iam/user:User")] == ["alice"]
    assert "bob" in plan.aws_auth_data(result)["mapUsers"]
    entries = {
        e.inputs["principalArn"]: e for e in result.of_type("aws:eks/accessEntry:AccessEntry")
    }
    bob = entries["arn:aws:iam::111122223333:user/legacy/bob"]
    # Only the principals this stack creates follow a unique ID; the others, their groups.
    assert bob.inputs["userName"] == "bob"
    # bob has the team's group: the mark of a grouped principal, never re-made for its ID
    assert bob.options["replacementTrigger"] == "kubernetes-groups"
    # alice follows her user's unique ID (the mock's placeholder) with no mark: she has a group
    alice = entries["arn:aws:iam::111122223333:user/alice"].options["replacementTrigger"]
    assert alice.startswith("placeholder-unique-id-") and "/" not in alice
    (binding,) = result.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    assert {s["name"] for s in binding.inputs["subjects"]} == {"alice", "bob"}


def test_a_binding_to_a_session_username_is_not_equivalent(tmp_path):
    """A cluster-admin ClusterRoleBinding that names a group and also `User dev:alice`, the
    session username of a role mapped as `dev:{{SessionName}}`: the config cannot hold the User
    grant, so the import says so and is not equivalent (it said "equivalent" before)."""
    role = "arn:aws:iam::111122223333:role/developer"
    aws_auth = tmp_path / "aws-auth.yaml"
    aws_auth.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "aws-auth", "namespace": "kube-system"},
                "data": {
                    "mapRoles": awsauth._dump(
                        [
                            {"rolearn": "arn:aws:iam::111122223333:role/nodes",
                             "username": "system:node:{{EC2PrivateDNSName}}",
                             "groups": ["system:bootstrappers", "system:nodes"]},
                            {"rolearn": role, "username": "dev:{{SessionName}}", "groups": ["admins"]},
                        ]
                    )
                },
            }
        )
    )  # fmt: skip
    rbac = tmp_path / "rbac.yaml"
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "admins"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
        "subjects": [{"kind": "Group", "name": "admins"}, {"kind": "User", "name": "dev:alice"}],
    }  # fmt: skip
    rbac.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [binding]}))
    (tmp_path / "out").mkdir()
    code, output, config = import_cmd(tmp_path / "out", aws_auth, rbac)
    assert code == 1, output
    assert "NOT equivalent" in output
    assert "binds User dev:alice, which arn:aws:iam::111122223333:role/developer" in output
    # the group's grant is still taken over
    (team,) = config["eks-access:teams"]
    assert team["clusterAccess"] == "cluster-admin"


def _api_export(folder: Path, mode: str, extra_policy: dict[str, Any] | None = None) -> Path:
    """An export folder of a cluster in an API mode: EKS's node entry, a console-made admin
    role with a cluster-scoped policy, a user with groups and a namespace-scoped view policy."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    view = {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
            "accessScope": {"type": "namespace", "namespaces": ["payments"]}}  # fmt: skip
    admin = {"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
             "accessScope": {"type": "cluster", "namespaces": []}}  # fmt: skip
    entries = [
        {"accessEntry": {"principalArn": "arn:aws:iam::111122223333:role/nodes",
                         "type": "EC2_LINUX", "username": "system:node:{{EC2PrivateDNSName}}",
                         "kubernetesGroups": []}, "associatedAccessPolicies": []},
        {"accessEntry": {"principalArn": "arn:aws:iam::111122223333:role/ops/admin",
                         "type": "STANDARD",
                         "username": "arn:aws:sts::111122223333:assumed-role/admin/{{SessionName}}",
                         "kubernetesGroups": []}, "associatedAccessPolicies": [admin]},
        {"accessEntry": {"principalArn": "arn:aws:iam::111122223333:user/alice",
                         "type": "STANDARD", "username": "alice", "kubernetesGroups": ["devs"]},
         "associatedAccessPolicies": [view, *([extra_policy] if extra_policy else [])]},
    ]  # fmt: skip
    (folder / "access-entries.json").write_text(json.dumps(entries))
    (folder / "cluster.json").write_text(
        json.dumps({"cluster": {"name": "prod", "accessConfig": {"authenticationMode": mode}}})
    )
    if mode != "API":
        data = {"mapRoles": awsauth._dump([{"rolearn": "arn:aws:iam::111122223333:role/nodes",
                                            "username": "system:node:{{EC2PrivateDNSName}}",
                                            "groups": ["system:bootstrappers", "system:nodes"]}])}  # fmt: skip
        (folder / "aws-auth.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "data": data,
                    "metadata": {"name": "aws-auth", "namespace": "kube-system"},
                }
            )
        )
    return folder


def import_live(tmp_path: Path, folder: Path) -> tuple[int, str, dict[str, Any]]:
    return run_import(tmp_path / "project", ["--live", str(folder)])


def test_an_api_cluster_is_adopted_with_its_entries_and_proven_equivalent(tmp_path):
    import json

    for mode in ("API", "API_AND_CONFIG_MAP"):
        code, output, config = import_live(
            tmp_path / mode, _api_export(tmp_path / mode / "live", mode)
        )
        assert code == 0, output
        assert "equivalent" in output
        cluster = config["eks-access:cluster"]
        assert cluster["authenticationMode"] == mode
        assert cluster["nodeAccessEntries"] == "eks-managed"  # EKS's node entry, recognised
        assert cluster["nodeRoleArns"] == ["arn:aws:iam::111122223333:role/nodes"]
        teams = {t["name"]: t for t in config["eks-access:teams"]}
        assert teams["devs"]["existingUsers"] == [{"arn": "arn:aws:iam::111122223333:user/alice"}]
        policy_teams = [t for t in teams.values() if "accessPolicies" in t]
        assert sorted(p["policy"] for t in policy_teams for p in t["accessPolicies"]) == [
            "cluster-admin",
            "view",
        ]
        # the role keeps its real ARN (path included), as access entries take it
        assert any(
            r["arn"] == "arn:aws:iam::111122223333:role/ops/admin"
            for t in policy_teams
            for r in t.get("roles", [])
        )
        # the existing entries are imported into the state before the first up
        imports = json.loads(
            (tmp_path / mode / "project" / "Pulumi.imported.import.json").read_text()
        )
        ids = sorted(r["id"] for r in imports["resources"] if "id" in r)
        assert "prod:arn:aws:iam::111122223333:user/alice" in ids
        assert (
            "prod#arn:aws:iam::111122223333:role/ops/admin#"
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" in ids
        )


def test_an_entry_policy_the_config_cannot_hold_is_not_equivalent(tmp_path):
    networking = {  # EKS's own component policy: no preset offers it to people
        "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSNetworkingPolicy",
        "accessScope": {"type": "cluster", "namespaces": []},
    }
    folder = _api_export(tmp_path / "live", "API", networking)
    code, output, _ = import_live(tmp_path, folder)
    assert code == 1, output
    assert "AmazonEKSNetworkingPolicy has no preset here" in output
    assert "NOT equivalent" in output


def test_a_secret_reader_association_imports_as_its_preset(tmp_path):
    secret_reader = {
        "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSSecretReaderPolicy",
        "accessScope": {"type": "namespace", "namespaces": ["dev-*"]},
    }
    folder = _api_export(tmp_path / "live", "API", secret_reader)
    code, output, config = import_live(tmp_path, folder)
    assert code == 0 and "equivalent" in output, output
    held = [p for t in config["eks-access:teams"] for p in t.get("accessPolicies", [])]
    assert {"policy": "secret-reader", "scope": "namespace", "namespaces": ["dev-*"]} in held


def test_the_import_file_registers_parents_before_their_children(tmp_path):
    import json

    code, output, _ = import_live(tmp_path, _api_export(tmp_path / "live", "API"))
    assert code == 0, output
    doc = json.loads((tmp_path / "project" / "Pulumi.imported.import.json").read_text())
    resources = doc["resources"]
    names = [r["name"] for r in resources]
    # the AccessEntries component first, registered (not read), then each entry, then its
    # associations, each naming its parent in the file (`pulumi import` refuses unknown parents)
    assert resources[0] == {"type": "eks-access:index:AccessEntries", "name": "access-entries",
                            "component": True}  # fmt: skip
    for r in resources[1:]:
        assert r["parent"] in names[: names.index(r["name"])], r
        if r["type"].endswith("AccessPolicyAssociation"):
            parent = next(p for p in resources if p["name"] == r["parent"])
            assert parent["type"] == "aws:eks/accessEntry:AccessEntry"
            assert r["id"].split("#")[1] == parent["id"].split(":", 1)[1]


def test_an_api_cluster_binding_a_role_entrys_session_is_not_equivalent(tmp_path):
    import json

    folder = _api_export(tmp_path / "live", "API")
    entries = json.loads((folder / "access-entries.json").read_text())
    entries.append({"accessEntry": {"principalArn": "arn:aws:iam::111122223333:role/developer",
                                    "type": "STANDARD", "username": "dev:{{SessionName}}",
                                    "kubernetesGroups": ["devs"]},
                    "associatedAccessPolicies": []})  # fmt: skip
    (folder / "access-entries.json").write_text(json.dumps(entries))
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "dev-alice"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
        "subjects": [{"kind": "User", "name": "dev:alice"}],
    }  # fmt: skip
    (folder / "rbac.yaml").write_text(yaml.safe_dump({"kind": "List", "items": [binding]}))
    code, output, _ = import_live(tmp_path, folder)
    assert code == 1, output
    assert "binds User dev:alice, which arn:aws:iam::111122223333:role/developer" in output


def test_an_sso_role_known_only_from_aws_auth_is_not_expressible_with_entries(tmp_path):
    folder = _api_export(tmp_path / "live", "API_AND_CONFIG_MAP")
    cm = yaml.safe_load((folder / "aws-auth.yaml").read_text())
    sso = "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef"
    cm["data"]["mapRoles"] += (
        f"- rolearn: {sso}\n  username: admin:{{{{SessionName}}}}\n  groups: [admins]\n"
    )
    (folder / "aws-auth.yaml").write_text(yaml.safe_dump(cm))
    code, output, _ = import_live(tmp_path, folder)
    assert code == 1, output
    assert "its access entry needs the real ARN" in output


def test_an_auto_mode_cluster_imports(tmp_path):
    import json

    folder = _api_export(tmp_path / "live", "API")
    entries = [e for e in json.loads((folder / "access-entries.json").read_text())
               if e["accessEntry"]["type"] != "EC2_LINUX"]  # fmt: skip
    entries.append({"accessEntry": {"principalArn": "arn:aws:iam::111122223333:role/auto-nodes",
                                    "type": "EC2", "kubernetesGroups": []},
                    "associatedAccessPolicies": []})  # fmt: skip
    entries.append({"accessEntry": {"principalArn": "arn:aws:iam::111122223333:root",
                                    "type": "STANDARD", "kubernetesGroups": []},
                    "associatedAccessPolicies": []})  # fmt: skip
    (folder / "access-entries.json").write_text(json.dumps(entries))
    code, output, config = import_live(tmp_path, folder)
    assert code == 0, output
    assert config["eks-access:cluster"]["nodeAccessEntries"] == "eks-managed"
    cluster = config["eks-access:cluster"]
    assert cluster["autoNodeRoleArns"] == ["arn:aws:iam::111122223333:role/auto-nodes"]
    assert "role/auto-nodes" not in str(cluster.get("nodeRoleArns"))
    assert "root: not an IAM user or role" in output
