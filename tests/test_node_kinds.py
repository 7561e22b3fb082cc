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
from tests.conftest import minimal_raw
from tests.test_adopt import _api_export, import_live
from tests.test_modes import ENTRY, PATCH, run_mode

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
        with pytest.raises(core.ConfigError, match=rf"cluster\.{kind.key}\[0\]"):
            core.load(_cluster(kind.key, f"arn:aws:iam::{ACCOUNT}:user/someone"))


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
