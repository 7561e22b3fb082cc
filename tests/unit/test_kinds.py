"""Principal kinds as modules: the registry is what the rest reads, and IAM Identity Center
permission sets by name work end to end offline (lookup, aws-auth, access entries, can-i)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_access import authz, kinds, stackfile
from eks_access import config as core
from eks_access.kinds import permission_set
from offline import plan
from offline.mocks import PlaceholderCloud
from offline.run import run
from tests.conftest import ROOT, minimal_raw, write_stack

ACCOUNT = "111122223333"
TEAM = {
    "name": "payments",
    "namespaces": ["payments"],
    "namespaceAccess": "edit",
    "permissionSets": [{"name": "PaymentsDev", "username": "payments-sso:{{SessionName}}"}],
}


def raw(mode: str = "API_AND_CONFIG_MAP") -> dict[str, Any]:
    config = minimal_raw(**{"eks-access:teams": [TEAM]})
    config["eks-access:cluster"]["authenticationMode"] = mode
    return config


def test_every_kind_is_a_field_of_its_model_and_a_config_key() -> None:
    for kind in kinds.TEAM_KINDS:
        assert kind.model_field in core.Team.model_fields, kind.config_key
        assert core.Team.model_fields[kind.model_field].alias in (kind.config_key, None)
    for node in kinds.NODE_KINDS:
        assert node.model_field in core.Cluster.model_fields, node.config_key
        assert core.Cluster.model_fields[node.model_field].alias in (node.config_key, None)


def test_a_permission_set_is_path_less_in_aws_auth_and_whole_in_access_entries(tmp_path: Path):
    result = run(stackfile.read(write_stack(tmp_path, raw())))
    expected = permission_set.placeholder_arn("PaymentsDev", kinds.Context(ACCOUNT))
    assert "/aws-reserved/sso.amazonaws.com/us-east-1/AWSReservedSSO_PaymentsDev_" in expected
    roles = yaml.safe_load(plan.aws_auth_data(result)["mapRoles"])
    path_less = expected.replace("/aws-reserved/sso.amazonaws.com/us-east-1/", "/")
    assert {"rolearn": path_less, "username": "payments-sso:{{SessionName}}",
            "groups": ["eks-access:payments"]} in roles  # fmt: skip
    (entry,) = [e for e in plan.access_entries(result) if e["type"] == "STANDARD"]
    assert entry["principalArn"] == expected
    # Keyed by the permission set's name, not by the role's random suffix.
    names = {r.name for r in result.of_type("aws:eks/accessEntry:AccessEntry")}
    assert names == {f"access-entries-permset-{ACCOUNT}-PaymentsDev"}


def test_a_session_of_the_permission_set_gets_its_access() -> None:
    state = authz.state_of(core.load(raw("CONFIG_MAP")))
    # Any suffix IAM Identity Center gave the role: the session is recognised by the name.
    jane = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_PaymentsDev_9f8e7d6c5b4a3210/jane@example.com"
    ident = state.resolve(jane)
    assert ident is not None and ident.username == "payments-sso:jane-example.com"
    assert state.can(jane, authz.Request("create", "deployments", "apps", namespace="payments"))
    assert not state.can(jane, authz.Request("get", "pods", namespace="default"))
    other = jane.replace("PaymentsDev", "PaymentsProd")
    assert state.resolve(other) is None
    # The role lives in one account and partition: a session elsewhere is not it.
    assert state.resolve(jane.replace(ACCOUNT, "999999999999")) is None
    assert state.resolve(jane.replace("arn:aws:", "arn:aws-cn:")) is None


@pytest.mark.parametrize(
    ("teams", "path", "message"),
    [
        (
            [TEAM, {**TEAM, "name": "ops", "namespaces": ["ops"],
                    "permissionSets": [{"name": "paymentsdev", "username": "x"}]}],
            "teams[1].permissionSets[0].name",
            "IAM compares role names ignoring case",
        ),
        (
            [{**TEAM, "roles": [{"arn": f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/"
                                        "AWSReservedSSO_PaymentsDev_0123456789abcdef",
                                 "username": "b"}]}],
            "teams[0].roles[0].arn",
            "this is the role of permission set 'PaymentsDev'",
        ),
        ([{**TEAM, "permissionSets": ["Dévß"]}], "teams[0].permissionSets[0]", "Dévß"),
    ],
    ids=["case-twins", "by-name-and-by-arn", "non-ascii"],
)  # fmt: skip
def test_one_permission_set_one_principal(teams: list[Any], path: str, message: str) -> None:
    config = minimal_raw(**{"eks-access:teams": teams})
    with pytest.raises(core.ConfigError) as e:
        core.load(config)
    assert any(str(p).startswith(path) and message in str(p) for p in e.value.problems), [
        str(p) for p in e.value.problems
    ]


class Roles(PlaceholderCloud):
    """The lookup answering with the roles given."""

    def __init__(self, found: list[str]):
        super().__init__(ACCOUNT, "us-east-1", authentication_mode="API_AND_CONFIG_MAP")
        self.found = found

    def call(self, args: Any) -> dict[str, Any]:  # type: ignore[override]
        if args.token == "aws:iam/getRoles:getRoles":
            # What AWS is asked: only the reserved path, only this permission set's names.
            assert args.args["pathPrefix"] == permission_set.PATH_PREFIX, args.args
            assert args.args["nameRegex"] == permission_set.name_regex("PaymentsDev"), args.args
            return {"arns": self.found, "names": [a.rsplit("/", 1)[-1] for a in self.found]}
        return super().call(args)


@pytest.mark.parametrize(
    ("found", "message"),
    [
        ([], "permission set 'PaymentsDev': no role AWSReservedSSO_PaymentsDev_*"),
        (
            [
                f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PaymentsDev_0000000000000001",
                f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_PaymentsDev_0000000000000002",
            ],
            "permission set 'PaymentsDev': 2 roles match",
        ),
    ],
    ids=["none", "several"],
)
def test_missing_and_ambiguous_permission_sets_stop_the_program(
    tmp_path: Path, found: list[str], message: str
) -> None:
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import pulumi
from eks_access import stackfile
from offline.run import run
from tests.unit.test_kinds import Roles
try:
    run(stackfile.read({str(write_stack(tmp_path, raw()))!r}), Roles({found!r}))
except pulumi.RunError as e:
    print(e)
"""
    # A program that fails in the SDK's event loop runs in its own process (offline/run.py).
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert message in out.stdout, out.stdout + out.stderr


def test_the_right_role_is_picked_among_others() -> None:
    real = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PaymentsDev_abcdef0123456789"
    decoy = f"arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_PaymentsDev_abcdef0123456789"  # no path
    other = real.replace("PaymentsDev", "PaymentsDevOps")
    assert permission_set.pick("PaymentsDev", [decoy, other, real]) == real


def test_import_names_identity_center_roles(tmp_path: Path) -> None:
    from eks_access import adopt

    role = permission_set.placeholder_arn("Ops", kinds.Context(ACCOUNT))
    data = {"mapRoles": yaml.safe_dump([
        {"rolearn": f"arn:aws:iam::{ACCOUNT}:role/nodes", "username": "system:node:{{EC2PrivateDNSName}}",
         "groups": ["system:bootstrappers", "system:nodes"]},
        {"rolearn": role.replace("/aws-reserved/sso.amazonaws.com/us-east-1/", "/"),
         "username": "ops:{{SessionName}}", "groups": ["ops"]},
    ])}  # fmt: skip
    imported, _ = adopt.from_aws_auth(data, "prod", "us-east-1")
    assert any("permissionSets: [{name: Ops}]" in n for n in imported.notes)
    assert json.dumps(imported.config).count("AWSReservedSSO_Ops_") == 1  # imported by ARN


def test_the_policy_pack_agrees_with_the_presets_table() -> None:
    # The pack runs in a virtualenv of its own and cannot import the core: it keeps a copy.
    from eks_access import presets
    from offline.policy import pack

    assert {p.name for p in presets.PRESETS if p.reads_secrets and p.cluster_role} == (
        pack.SECRET_READING_PRESETS
    )
    assert presets.BY_NAME[presets.ADMIN].access_policy in pack.CLUSTER_ADMIN_POLICY


def test_the_permission_sets_role_is_in_the_clusters_account_not_the_users() -> None:
    # Users owned by an identity stack in another account; the cluster (node roles) and its
    # IAM Identity Center roles in this one, where the program looks them up.
    config = raw("CONFIG_MAP")
    config["eks-access:identity"] = {"mode": "reference", "account": "999988887777",
                                     "stack": "acme/eks-access/identity"}  # fmt: skip
    state = authz.state_of(core.load(config))
    (role,) = state.permission_sets.values()
    assert role.split(":")[4] == ACCOUNT
    jane = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_PaymentsDev_0a1b2c/jane"
    assert state.resolve(jane) is not None


def test_the_plan_maps_the_permission_sets_role_that_can_i_resolves(tmp_path: Path) -> None:
    # The same stack as above, planned: the role the plan writes into aws-auth and the access
    # entry is the one can-i answers for, in the cluster's account.
    config = raw()
    config["eks-access:identity"] = {"mode": "reference", "account": "999988887777",
                                     "stack": "acme/eks-access/identity"}  # fmt: skip
    owner = {"aws:region": "us-east-1", "eks-access:identity": {"mode": "owner",
             "account": "999988887777"}, "eks-access:teams": []}  # fmt: skip
    (tmp_path / "Pulumi.identity.yaml").write_text(yaml.safe_dump({"config": owner}))
    stack = stackfile.read(write_stack(tmp_path, config))
    result = run(stack)
    (entry,) = [e for e in plan.access_entries(result) if e["type"] == "STANDARD"]
    mapped = [r["rolearn"] for r in yaml.safe_load(plan.aws_auth_data(result)["mapRoles"])]
    (role,) = [a for a in mapped if "AWSReservedSSO_" in a]
    assert role.split(":")[4] == entry["principalArn"].split(":")[4] == ACCOUNT
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.rsplit('/', 1)[-1]}/jane"
    assert authz.state_of(stack.load()).resolve(session) is not None


def test_a_permission_set_in_a_config_with_a_bad_region_is_a_config_error() -> None:
    """Found by make test-full's fuzz (seed 4): a blank aws:region made the permission set's
    placeholder ARN unparsable, a traceback instead of the region's own problem."""
    config = raw()
    config["aws:region"] = " "
    with pytest.raises(core.ConfigError) as e:
        core.load(config)
    assert any(str(p).startswith("aws:region") for p in e.value.problems)
