"""Every access-entry type EKS lists: accepted where EKS takes it, refused with the fix where it
does not, written as the guide says, recognised by `import` (issue 25, part 2).

The list of types is botocore's EKS service model (CreateAccessEntry ``type``), an oracle we did
not write; the usernames and groups are the EKS user guide's ("Create access entries", "Prepare
cluster access for hybrid nodes")."""

from __future__ import annotations

import copy
import gzip
import json
import re
from pathlib import Path
from typing import Any

import botocore
import pytest

from eks_access import adopt, awsauth, kinds
from eks_access import config as core
from offline import plan
from tests.conftest import NODE_ROLE, minimal_raw
from tests.program.test_adopt import _api_export, import_live
from tests.unit.test_modes import ENTRY, PATCH, run_mode

ACCOUNT = "111122223333"
ROLE = {
    "nodeRoleArns": f"arn:aws:iam::{ACCOUNT}:role/nodes",
    "autoNodeRoleArns": f"arn:aws:iam::{ACCOUNT}:role/AmazonEKSAutoNodeRole",
    "hybridNodeRoleArns": f"arn:aws:iam::{ACCOUNT}:role/hybrid-nodes",
    "hyperpodNodeRoleArns": f"arn:aws:iam::{ACCOUNT}:role/hyperpod-exec",
}


def _botocore_request(operation: str) -> dict[str, Any]:
    folder = Path(botocore.__file__).parent / "data" / "eks"
    (model,) = sorted(folder.glob("*/service-2.json*"))[-1:]
    text = gzip.decompress(model.read_bytes()) if model.suffix == ".gz" else model.read_bytes()
    shapes = json.loads(text)["shapes"]
    return shapes[f"{operation}Request"]["members"]  # type: ignore[no-any-return]


def test_the_entry_types_are_botocores() -> None:
    doc = _botocore_request("CreateAccessEntry")["type"]["documentation"]
    listed = doc.split("Valid values are", 1)[1].split(".", 1)[0]
    published = set(re.findall(r"<code>([A-Z0-9_]+)</code>", listed))
    assert published == {"STANDARD"} | {k.entry_type for k in kinds.NODE_KINDS}
    # "For nodes (...), the only valid ARN is IAM roles": every node list takes roles only.
    principal = _botocore_request("CreateAccessEntry")["principalArn"]["documentation"]
    nodes = set(re.findall(r"<code>([A-Z0-9_]+)</code>", principal.split("For nodes", 1)[1]))
    assert nodes - {"STANDARD"} <= {k.entry_type for k in kinds.NODE_KINDS}
    for kind in kinds.NODE_KINDS:
        with pytest.raises(core.ConfigError, match=rf"cluster\.{kind.config_key}\[0\]"):
            core.load(_cluster(kind.config_key, f"arn:aws:iam::{ACCOUNT}:user/someone"))


def _cluster(key: str, arn: str, **cluster: Any) -> dict[str, Any]:
    raw = minimal_raw()
    raw["eks-access:cluster"].update({"authenticationMode": "API_AND_CONFIG_MAP", key: [arn]})
    raw["eks-access:cluster"].update(cluster)
    return raw


def _problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(core.ConfigError) as e:
        core.load(raw)
    return [str(p) for p in e.value.problems]


def test_each_node_type_gets_its_entry_and_only_hybrid_an_aws_auth_line(tmp_path, dev_raw):
    raw = copy.deepcopy(dev_raw)
    for key in ("autoNodeRoleArns", "hybridNodeRoleArns", "hyperpodNodeRoleArns"):
        raw["eks-access:cluster"][key] = [ROLE[key]]
    result = run_mode(tmp_path, raw, "API_AND_CONFIG_MAP", nodeAccessEntries="create")
    by_arn = {e["principalArn"]: e for e in plan.access_entries(result)}
    auto = by_arn[ROLE["autoNodeRoleArns"]]
    assert (auto["type"], auto["kubernetesGroups"], auto["userName"]) == ("EC2", [], None)
    assert auto["policies"] == [
        {
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAutoNodePolicy",
            "scope": "cluster",
        }
    ]
    for key, entry_type in (
        ("hybridNodeRoleArns", "HYBRID_LINUX"),
        ("hyperpodNodeRoleArns", "HYPERPOD_LINUX"),
    ):
        entry = by_arn[ROLE[key]]
        # Node types take no groups, no username and no access policy (botocore's model; the
        # guide: "You cannot add policies to the Hybrid Linux access entry").
        assert (entry["type"], entry["kubernetesGroups"], entry["userName"]) == (
            entry_type,
            [],
            None,
        )
        assert entry["policies"] == []
    assert len(result.of_type(ENTRY)) == len(by_arn)
    mapped = awsauth.parse(plan.aws_auth_data(result)).mappings
    hybrid = mapped[ROLE["hybridNodeRoleArns"].lower()]
    assert hybrid.username == "system:node:{{SessionName}}"  # the guide's aws-auth line
    assert sorted(hybrid.groups) == ["system:bootstrappers", "system:nodes"]
    assert ROLE["autoNodeRoleArns"].lower() not in mapped
    assert ROLE["hyperpodNodeRoleArns"].lower() not in mapped
    assert len(result.of_type(PATCH)) == 1


def test_an_auto_mode_only_cluster_in_api_mode_plans(tmp_path) -> None:
    raw = minimal_raw()
    raw["eks-access:cluster"] = {
        "name": "auto",
        "authenticationMode": "API",
        "nodeAccessEntries": "create",
        "autoNodeRoleArns": [ROLE["autoNodeRoleArns"]],
    }
    raw["eks-access:teams"] = [{"name": "ops", "roles": [f"arn:aws:iam::{ACCOUNT}:role/ops"]}]
    result = run_mode(tmp_path, raw, "API", nodeAccessEntries="create")
    types = sorted(e["type"] for e in plan.access_entries(result))
    assert types == ["EC2", "STANDARD"] and not result.of_type(PATCH)


@pytest.mark.parametrize("key", ["autoNodeRoleArns", "hybridNodeRoleArns", "hyperpodNodeRoleArns"])
def test_config_map_mode_cannot_have_nodes_that_need_entries(key: str) -> None:
    raw = _cluster(key, ROLE[key], authenticationMode="CONFIG_MAP")
    (found,) = [p for p in _problems(raw) if p.startswith(f"cluster.{key}:")]
    assert "CONFIG_MAP" in found and "authenticationMode: API_AND_CONFIG_MAP" in found


@pytest.mark.parametrize("key", ["autoNodeRoleArns", "hyperpodNodeRoleArns"])
def test_nodes_without_an_aws_auth_form_need_someone_to_make_their_entry(key: str) -> None:
    (found,) = _problems(_cluster(key, ROLE[key]))
    assert found.startswith(f"cluster.{key}:") and "nodeAccessEntries: create" in found
    for who in ("create", "eks-managed"):
        core.load(_cluster(key, ROLE[key], nodeAccessEntries=who))


def test_hybrid_nodes_in_api_and_config_map_go_in_aws_auth_without_entries() -> None:
    config = core.load(_cluster("hybridNodeRoleArns", ROLE["hybridNodeRoleArns"]))
    assert config.cluster.hybrid_node_role_arns == (ROLE["hybridNodeRoleArns"],)


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (
            f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS",
            "service-linked",
        ),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/nodes/i-0123", "session"),
        ("arn:aws:iam::444455556666:role/other-account", "account"),
    ],
)
def test_node_roles_eks_refuses(arn: str, expected: str) -> None:
    raw = _cluster("autoNodeRoleArns", arn, nodeAccessEntries="create")
    found = [p for p in _problems(raw) if p.startswith("cluster.autoNodeRoleArns[0]")]
    assert found and expected in found[0], found


def test_groups_or_a_username_on_a_node_type_are_refused_with_the_fix() -> None:
    item = {"arn": ROLE["hybridNodeRoleArns"], "groups": ["admins"], "username": "me"}
    (found,) = _problems(_cluster("hybridNodeRoleArns", item))  # type: ignore[arg-type]
    assert found.startswith("cluster.hybridNodeRoleArns[0]:")
    assert "listed by its ARN alone" in found and "refuses groups, a username" in found


def test_import_recognises_a_hybrid_aws_auth_line() -> None:
    data = {
        "mapRoles": (
            f"- rolearn: {ROLE['nodeRoleArns']}\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n"
            "  groups: [system:bootstrappers, system:nodes]\n"
            f"- rolearn: {ROLE['hybridNodeRoleArns']}\n  username: system:node:{{{{SessionName}}}}\n"
            "  groups: [system:bootstrappers, system:nodes]\n"
        )
    }
    imported, _ = adopt.from_aws_auth(data, "prod", "us-east-1")
    cluster = imported.config["eks-access:cluster"]
    assert cluster["nodeRoleArns"] == [ROLE["nodeRoleArns"]]
    assert cluster["hybridNodeRoleArns"] == [ROLE["hybridNodeRoleArns"]]
    # CONFIG_MAP mode cannot have hybrid nodes: the import says the mode EKS allows them in,
    # and the config it wrote loads
    assert cluster["authenticationMode"] == "API_AND_CONFIG_MAP"
    assert core.load(imported.config).cluster.hybrid_node_role_arns == (ROLE["hybridNodeRoleArns"],)


def test_import_recognises_every_node_entry_type(tmp_path: Path) -> None:
    folder = _api_export(tmp_path / "live", "API")
    entries = json.loads((folder / "access-entries.json").read_text())
    for key, entry_type in (
        ("autoNodeRoleArns", "EC2"),
        ("hybridNodeRoleArns", "HYBRID_LINUX"),
        ("hyperpodNodeRoleArns", "HYPERPOD_LINUX"),
    ):
        entries.append(
            {
                "accessEntry": {
                    "principalArn": ROLE[key],
                    "type": entry_type,
                    "kubernetesGroups": [],
                },
                "associatedAccessPolicies": [],
            }
        )
    (folder / "access-entries.json").write_text(json.dumps(entries))
    code, output, config = import_live(tmp_path, folder)
    assert code == 0, output
    cluster = config["eks-access:cluster"]
    for key in ("autoNodeRoleArns", "hybridNodeRoleArns", "hyperpodNodeRoleArns"):
        assert cluster[key] == [ROLE[key]], key
    assert cluster["nodeAccessEntries"] == "eks-managed" and "equivalent" in output


# --- who makes which node entry ------------------------------------------------------------------


def test_the_program_makes_node_entries_except_those_eks_made(tmp_path) -> None:
    raw = minimal_raw()
    auto_default = f"arn:aws:iam::{ACCOUNT}:role/AmazonEKSAutoNodeRole"
    node_class = f"arn:aws:iam::{ACCOUNT}:role/gpu-nodeclass"
    raw["eks-access:cluster"].update(
        autoNodeRoleArns=[auto_default, node_class],
        eksManagedNodeRoles=[NODE_ROLE, auto_default],
    )
    raw["eks-access:teams"] = [{"name": "ops", "roles": [f"arn:aws:iam::{ACCOUNT}:role/ops"]}]
    result = run_mode(tmp_path, raw, "API", nodeAccessEntries="create")
    made = {e["principalArn"]: e["type"] for e in plan.access_entries(result)}
    # Auto Mode's default role and the managed node group's have EKS's entries: a second one
    # fails with ResourceInUseException. The NodeClass's own role needs one made.
    assert made == {node_class: "EC2", f"arn:aws:iam::{ACCOUNT}:role/ops": "STANDARD"}


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [
        (
            {"nodeAccessEntries": "create", "eksManagedNodeRoles": [ROLE["hybridNodeRoleArns"]]},
            "cluster.eksManagedNodeRoles[0]: arn:aws:iam::111122223333:role/hybrid-nodes is not "
            "in a node list",
        ),
        (
            {"nodeAccessEntries": "eks-managed", "eksManagedNodeRoles": [ROLE["nodeRoleArns"]]},
            "cluster.eksManagedNodeRoles[0]: only used with nodeAccessEntries: create",
        ),
    ],
)
def test_eks_managed_node_roles_are_checked(cluster: dict[str, Any], expected: str) -> None:
    raw = minimal_raw()
    raw["eks-access:cluster"].update(authenticationMode="API", **cluster)
    assert expected in _problems(raw)[0]


def test_import_of_a_cluster_with_eks_made_and_missing_node_entries(tmp_path: Path) -> None:
    """API_AND_CONFIG_MAP: a managed node group's entry (EKS made it) and a hybrid node role
    mapped by aws-auth only. eks-managed for all would claim an entry the hybrid role lacks,
    which a move to API would then drop."""
    import yaml

    folder = _api_export(tmp_path / "live", "API_AND_CONFIG_MAP")
    doc = yaml.safe_load((folder / "aws-auth.yaml").read_text())
    doc["data"]["mapRoles"] += (
        f"- rolearn: {ROLE['hybridNodeRoleArns']}\n  username: system:node:{{{{SessionName}}}}\n"
        "  groups: [system:bootstrappers, system:nodes]\n"
    )
    (folder / "aws-auth.yaml").write_text(yaml.safe_dump(doc))
    code, output, config = import_live(tmp_path, folder)
    assert code == 0, output
    cluster = config["eks-access:cluster"]
    assert cluster["hybridNodeRoleArns"] == [ROLE["hybridNodeRoleArns"]], output
    assert cluster["nodeAccessEntries"] == "create"
    assert cluster["eksManagedNodeRoles"] == [f"arn:aws:iam::{ACCOUNT}:role/nodes"]
    assert "equivalent" in output


# --- aws-auth: no line for entry-only nodes -------------------------------------------------------


def test_a_created_cluster_maps_no_entry_only_node_in_aws_auth() -> None:
    from eks_access import created_cluster, principals

    raw = minimal_raw()
    raw["eks-access:cluster"].update(
        authenticationMode="API_AND_CONFIG_MAP",
        nodeAccessEntries="create",
        autoNodeRoleArns=[ROLE["autoNodeRoleArns"]],
        create={"nodeCount": 1},
    )
    config = core.load(raw)
    args = created_cluster.cluster_args(config, principals.principals(config), [])
    mapped = [m["role_arn"] for m in args["role_mappings"]]
    assert mapped == [NODE_ROLE]


def test_auto_mode_only_nodes_leave_aws_auth_without_a_node_line_and_the_pack_agrees(
    tmp_path,
) -> None:
    from offline import policy as pack_run
    from policy import eks_access_policy as pack

    assert pack.ENTRY_ONLY_ANNOTATION == awsauth.ENTRY_ONLY_ANNOTATION
    raw = minimal_raw()
    raw["eks-access:cluster"] = {"name": "auto", "autoNodeRoleArns": [ROLE["autoNodeRoleArns"]]}
    raw["eks-access:teams"] = [{"name": "ops", "roles": [f"arn:aws:iam::{ACCOUNT}:role/ops"]}]
    result = run_mode(tmp_path, raw, "API_AND_CONFIG_MAP", nodeAccessEntries="create")
    data = plan.aws_auth_data(result)
    assert all("system:nodes" not in m.groups for m in awsauth.parse(data).mappings.values()), data
    (patch,) = result.of_type(PATCH)
    note = patch.inputs["metadata"]["annotations"][awsauth.ENTRY_ONLY_ANNOTATION]
    assert ROLE["autoNodeRoleArns"] in note
    found = [str(v) for v in pack_run.check(result) if "no node role" in str(v)]
    assert found == []
    # the control: the same patch without the note is refused by the pack
    del patch.inputs["metadata"]["annotations"][awsauth.ENTRY_ONLY_ANNOTATION]
    assert [v for v in pack_run.check(result) if "no node role" in str(v)]


def test_hybrid_nodes_in_api_and_config_map_get_the_guides_line_and_no_entry(tmp_path) -> None:
    raw = minimal_raw()
    raw["eks-access:cluster"]["hybridNodeRoleArns"] = [ROLE["hybridNodeRoleArns"]]
    raw["eks-access:teams"] = [{"name": "ops", "roles": [f"arn:aws:iam::{ACCOUNT}:role/ops"]}]
    result = run_mode(tmp_path, raw, "API_AND_CONFIG_MAP")
    line = awsauth.parse(plan.aws_auth_data(result)).mappings[ROLE["hybridNodeRoleArns"].lower()]
    assert (line.username, sorted(line.groups)) == (
        "system:node:{{SessionName}}",
        ["system:bootstrappers", "system:nodes"],
    )
    assert [e["type"] for e in plan.access_entries(result)] == ["STANDARD"]


# --- the live preflight, the review, the account ----------------------------------------------------


def test_the_preflight_stops_a_node_role_listed_under_another_kind() -> None:
    from eks_access import live, principals

    raw = minimal_raw()
    raw["eks-access:cluster"]["nodeRoleArns"].append(ROLE["hybridNodeRoleArns"])
    desired = awsauth.render(principals.principals(core.load(raw)))
    hybrid = (
        f"- rolearn: {ROLE['hybridNodeRoleArns']}\n  username: system:node:{{{{SessionName}}}}\n"
        "  groups: [system:bootstrappers, system:nodes]\n"
    )
    live_now = live.LiveAwsAuth({"mapRoles": desired["mapRoles"] + hybrid}, {}, "test")
    # the live hybrid line is replaced by the desired one (the ARN is the key): as a map it is
    # the same principal, so build the live data with the hybrid shape in its place
    lines = [
        {"rolearn": m.arn, "username": m.username, "groups": list(m.groups)}
        for m in awsauth.parse(desired).mappings.values()
        if m.arn != ROLE["hybridNodeRoleArns"]
    ]
    live_now = live.LiveAwsAuth(
        {"mapRoles": awsauth._dump(lines) + hybrid}, {live.RECORD_ANNOTATION: live.record(desired)},
        "test",
    )  # fmt: skip
    (stop,) = live.preflight(live_now, desired).stops
    assert (
        "cluster.nodeRoleArns" in stop
        and "move it to eks-access:cluster.hybridNodeRoleArns" in stop
    )


def test_the_review_warns_when_a_node_role_moves_to_another_list() -> None:
    from eks_access import changes

    raw = minimal_raw()
    raw["eks-access:cluster"].update(
        authenticationMode="API_AND_CONFIG_MAP",
        nodeRoleArns=[ROLE["nodeRoleArns"], ROLE["hybridNodeRoleArns"]],
    )
    head = copy.deepcopy(raw)
    head["eks-access:cluster"]["nodeRoleArns"] = [ROLE["nodeRoleArns"]]
    head["eks-access:cluster"]["hybridNodeRoleArns"] = [ROLE["hybridNodeRoleArns"]]
    doc = changes.review_document(core.load(raw), core.load(head))
    assert any(w.startswith("node role moved to another node list") for w in doc.warnings)
    (moved,) = [p for p in doc.principals if p.status == "changed"]
    assert "from nodeRoleArns to hybridNodeRoleArns" in moved.words[0]


def test_a_node_role_of_another_account_stops_the_program_in_api_modes() -> None:
    from eks_access import modes

    raw = _cluster("autoNodeRoleArns", "arn:aws:iam::444455556666:role/auto",
                   nodeAccessEntries="create")  # fmt: skip
    raw["eks-access:cluster"]["nodeRoleArns"] = []
    raw["eks-access:identity"] = {"mode": "reference", "account": "777788889999",
                                  "stack": "acme/eks-access/identity"}  # fmt: skip
    config = core.load(raw)
    (problem,) = modes.account_problems(config, ACCOUNT)
    assert problem.startswith("cluster.autoNodeRoleArns[0]:") and "444455556666" in problem
