"""Authentication modes, access entries, migration and the pulumi-eks create mode."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pulumi
import pytest

from eks_access import access_entries, modes, stackfile
from eks_access import config as core
from offline import migration, plan
from offline.mocks import PlaceholderCloud
from offline.run import placeholder_cloud, run
from tests.conftest import DEV, ROOT, minimal_raw, write_stack

ENTRY = "aws:eks/accessEntry:AccessEntry"
PATCH = "kubernetes:core/v1:ConfigMapPatch"
SSO_PATH_ARN = (
    "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/us-east-1/"
    "AWSReservedSSO_PaymentsDev_0123456789abcdef"
)


def run_mode(tmp_path, raw, mode, live=None, **cluster):
    raw = copy.deepcopy(raw)
    raw["eks-access:cluster"].update(authenticationMode=mode, **cluster)
    stack = stackfile.read(write_stack(tmp_path, raw, f"m{len(list(tmp_path.iterdir()))}"))
    cloud = placeholder_cloud(stack)
    cloud.authentication_mode = live or (
        "CONFIG_MAP" if mode == "CONFIG_MAP" else "API_AND_CONFIG_MAP"
    )
    return run(stack, cloud)


@pytest.mark.parametrize(
    ("mode", "patches", "entries"),
    [("CONFIG_MAP", 1, 0), ("API_AND_CONFIG_MAP", 1, 7), ("API", 0, 7)],
)
def test_each_mode_writes_its_mechanisms_from_the_same_config(
    tmp_path, dev_raw, mode, patches, entries
):
    extra = {} if mode == "CONFIG_MAP" else {"nodeAccessEntries": "create"}
    result = run_mode(tmp_path, dev_raw, mode, **extra)
    assert len(result.of_type(PATCH)) == patches
    assert len(result.of_type(ENTRY)) == entries
    if entries:
        by_arn = {e["principalArn"]: e for e in plan.access_entries(result)}
        # Real IAM ARN, path kept, unlike aws-auth.
        assert by_arn[SSO_PATH_ARN]["kubernetesGroups"] == ["eks-access:payments"]
        assert by_arn[SSO_PATH_ARN]["userName"] == "payments-sso:{{SessionName}}"
        node = by_arn["arn:aws:iam::111122223333:role/eks-node-group"]
        assert (
            node["type"] == "EC2_LINUX"
            and node["kubernetesGroups"] == []
            and node["userName"] is None
        )
        assert all(
            not g.startswith("system:") for e in by_arn.values() for g in e["kubernetesGroups"]
        )


def test_adding_one_user_adds_exactly_one_entry(tmp_path, dev_raw):
    before = run_mode(tmp_path, dev_raw, "API", nodeAccessEntries="eks-managed")
    dev_raw["eks-access:teams"][2]["users"].append("dave")
    after = run_mode(tmp_path, dev_raw, "API", nodeAccessEntries="eks-managed")
    new = {r.name for r in after.of_type(ENTRY)} - {r.name for r in before.of_type(ENTRY)}
    assert new == {"access-entries-user-111122223333-dave"}
    assert {r.name for r in before.of_type(ENTRY)} <= {r.name for r in after.of_type(ENTRY)}


def test_user_entries_follow_their_iam_user(tmp_path, dev_raw):
    result = run_mode(tmp_path, dev_raw, "API", nodeAccessEntries="eks-managed")
    entry = next(r for r in result.of_type(ENTRY) if r.name.endswith("-eks_user"))
    user = next(r for r in result.of_type("aws:iam/user:User") if r.name == "eks_user-user")
    assert user.urn in entry.options["dependsOn"]
    assert entry.options["replacementTrigger"].startswith("placeholder-unique-id-")


def test_access_policies_are_associated_with_scope(tmp_path, dev_raw):
    dev_raw["eks-access:teams"][1]["accessPolicies"] = [
        {"policy": "view"},
        {"policy": "admin-view", "scope": "cluster"},
    ]
    result = run_mode(tmp_path, dev_raw, "API", nodeAccessEntries="eks-managed")
    alice = next(e for e in plan.access_entries(result) if e["principalArn"].endswith("user/alice"))
    assert alice["policies"] == [
        {
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy",
            "scope": "cluster",
        },
        {
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
            "scope": "namespace",
            "namespaces": ["payments", "payments-jobs"],
        },
    ]


class CountingCloud(PlaceholderCloud):
    created = 0

    def new_resource(self, args):
        CountingCloud.created += 1
        return super().new_resource(args)


@pytest.mark.parametrize(
    ("live", "desired", "message"),
    [
        ("API", "CONFIG_MAP", "EKS cannot go back"),
        ("API", "API_AND_CONFIG_MAP", "EKS cannot go back"),
        (
            "CONFIG_MAP",
            "API_AND_CONFIG_MAP",
            "aws eks update-cluster-config --region us-east-1 --name dev",
        ),
        ("CONFIG_MAP", "API", "EKS refuses access entries"),
    ],
)
def test_program_refuses_a_mode_the_live_cluster_cannot_take(
    tmp_path, dev_raw, live, desired, message
):
    dev_raw["eks-access:cluster"].update(authenticationMode=desired)
    if desired != "CONFIG_MAP":
        dev_raw["eks-access:cluster"]["nodeAccessEntries"] = "eks-managed"
    stack = stackfile.read(write_stack(tmp_path, dev_raw))
    CountingCloud.created = 0
    with pytest.raises(pulumi.RunError, match=message):
        run(stack, CountingCloud("111122223333", "us-east-1", authentication_mode=live))
    assert CountingCloud.created == 0  # stopped before any resource


def test_live_mode_ahead_of_config_but_still_reading_aws_auth_is_fine():
    assert modes.live_mode_problems("API_AND_CONFIG_MAP", "CONFIG_MAP", "c", "us-east-1") == []
    assert modes.live_mode_problems("API_AND_CONFIG_MAP", "API", "c", "us-east-1") == []


def problems(raw):
    with pytest.raises(core.ConfigError) as e:
        core.load(raw)
    return [str(p) for p in e.value.problems]


@pytest.mark.parametrize(
    ("cluster", "teams", "expected"),
    [
        ({"authenticationMode": "API"}, [], "cluster.nodeAccessEntries: required in API mode"),
        (
            {"authenticationMode": "CONFIG_MAP"},
            [{"name": "a", "namespaces": ["x"], "accessPolicies": [{"policy": "view"}]}],
            "teams[0].accessPolicies: EKS access policies need access entries",
        ),
        (
            {
                "authenticationMode": "API",
                "nodeAccessEntries": "eks-managed",
                "creatorPrincipalArn": "arn:aws:iam::111122223333:role/creator",
            },
            [{"name": "a", "roles": ["arn:aws:iam::111122223333:role/creator"]}],
            "teams[0].roles[0].arn: arn:aws:iam::111122223333:role/creator is the cluster creator",
        ),
        (
            {"authenticationMode": "API_AND_CONFIG_MAP"},
            [
                {
                    "name": "a",
                    "roles": [
                        {
                            "arn": "arn:aws:iam::111122223333:role/r",
                            "username": "r:{{AccessKeyID}}",
                        }
                    ],
                }
            ],
            "{{AccessKeyID}} is not substituted in access-entry usernames",
        ),
        (
            {"authenticationMode": "API_AND_CONFIG_MAP"},
            [
                {
                    "name": "a",
                    "accessPolicies": [{"policy": "edit", "scope": "cluster", "namespaces": ["x"]}],
                }
            ],
            "teams[0].accessPolicies[0].namespaces: cluster scope takes no namespaces",
        ),
        (
            {"authenticationMode": "CONFIG_MAP", "nodeAccessEntries": "create"},
            [],
            "cluster.nodeAccessEntries: only used with access entries",
        ),
        (
            {"authenticationMode": "PARTIAL"},
            [],
            "cluster.authenticationMode: expected one of CONFIG_MAP, API_AND_CONFIG_MAP or API",
        ),
        # A cluster-admin team cannot be mapped to system:masters: that group is reserved.
        (
            {"authenticationMode": "API_AND_CONFIG_MAP"},
            [{"name": "a", "group": "system:masters"}],
            "reserved prefix 'system:'",
        ),
    ],
)
def test_mode_validation_names_the_path(cluster, teams, expected):
    raw = minimal_raw(**{"eks-access:teams": teams})
    raw["eks-access:cluster"].update(cluster)
    found = problems(raw)
    assert any(expected in p for p in found), found


# --- migration ---------------------------------------------------------------------------------


def migrate(*args):
    return subprocess.run(
        [sys.executable, "-m", "eks_access", "migrate", "--config-file", str(DEV), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_migration_to_api_is_ordered_and_keeps_everyone():
    m = migration.plan_migration(stackfile.read(DEV), "API", "create")
    titles = [s.title for s in m.steps]
    assert [t.split(" ")[0] for t in titles] == ["Switch", "Set", "Set", "Switch"]
    assert "API_AND_CONFIG_MAP" in titles[0] and titles[3].startswith("Switch the cluster to API ")
    assert m.safe and all(not s.lost for s in m.steps)
    # Node roles are resolved as nodes in every state.
    for s in m.steps:
        ids = modes.effective_identities(s.state)
        assert (
            ids["arn:aws:iam::111122223333:role/eks-node-group"][0]
            == "system:node:{{EC2PrivateDNSName}}"
        )
    # Step 2 creates one entry per principal; step 3 releases (but retains) aws-auth.
    assert sum(c.startswith("+ " + ENTRY) for c in m.steps[1].changes) == 7
    assert m.steps[2].changes == [f"- {PATCH} aws-auth-patch (retained: the cluster keeps it)"]


def test_migration_flags_a_program_that_would_drop_someone(monkeypatch):
    real = access_entries.entries
    monkeypatch.setattr(
        access_entries,
        "entries",
        lambda *a, **k: [e for e in real(*a, **k) if not e.key.endswith("-carol")],
    )
    m = migration.plan_migration(stackfile.read(DEV), "API", "create")
    assert not m.safe
    assert any("user/carol: loses access" in line for s in m.steps for line in s.lost)


def test_migrate_command_prints_steps_and_refuses_backwards_or_unsafe_moves():
    ok = migrate("--to", "API", "--node-access-entries", "eks-managed")
    assert (
        ok.returncode == 0
        and "Verdict: safe" in ok.stdout
        and "authenticationMode=API_AND_CONFIG_MAP" in ok.stdout
    )
    no_nodes = migrate("--to", "API")
    assert no_nodes.returncode == 2 and "node roles are known only from aws-auth" in no_nodes.stderr
    same = migrate("--to", "CONFIG_MAP")
    assert same.returncode == 0 and "nothing to do" in same.stdout


def test_migrate_refuses_to_go_backwards(tmp_path, dev_raw):
    dev_raw["eks-access:cluster"].update(authenticationMode="API", nodeAccessEntries="create")
    with pytest.raises(ValueError, match="only move forward"):
        migration.plan_migration(stackfile.read(write_stack(tmp_path, dev_raw)), "CONFIG_MAP")


def test_plan_writes_access_entries_json(tmp_path, dev_raw):
    dev_raw["eks-access:cluster"].update(authenticationMode="API_AND_CONFIG_MAP")
    stack = stackfile.read(write_stack(tmp_path, dev_raw))
    cloud = placeholder_cloud(stack)
    cloud.authentication_mode = "API_AND_CONFIG_MAP"
    out = tmp_path / "out"
    plan.write(run(stack, cloud), out, "eks-access", "test")
    doc = json.loads((out / "access-entries.json").read_text())
    assert {e["principalArn"] for e in doc} >= {
        SSO_PATH_ARN,
        "arn:aws:iam::111122223333:user/eks_user",
    }
    assert set(doc[0]) == {"principalArn", "type", "kubernetesGroups", "userName", "policies"}


# --- create mode -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["CONFIG_MAP", "API"])
def test_create_mode_hands_every_mapping_to_pulumi_eks(tmp_path, dev_raw, mode):
    dev_raw["eks-access:cluster"].update(
        authenticationMode=mode, create={"nodeCount": 2, "version": "1.34"}
    )
    result = run(stackfile.read(write_stack(tmp_path, dev_raw)))
    (cluster,) = result.of_type("eks:index:Cluster")
    assert not result.of_type(PATCH) and not result.of_type(ENTRY)  # no second writer
    assert cluster.inputs["authenticationMode"] == mode
    if mode == "CONFIG_MAP":
        assert {m["userArn"] for m in cluster.inputs["userMappings"]} >= {
            "arn:aws:iam::111122223333:user/eks_user"
        }
        assert "arn:aws:iam::111122223333:role/AWSReservedSSO_PaymentsDev_0123456789abcdef" in {
            m["roleArn"] for m in cluster.inputs["roleMappings"]
        }
    else:
        assert not cluster.inputs.get("userMappings") and len(cluster.inputs["accessEntries"]) == 6
    group_policy = result.of_type("aws:iam/groupPolicy:GroupPolicy")[0]
    assert "cluster/dev" in group_policy.inputs["policy"]
    assert json.loads(result.outputs["users"]["eks_user"]["kubeconfig"])["profile"] == "eks_user"


def test_the_account_check_needs_an_account_named_in_the_config():
    """Where the IAM users are made: the node roles' account, or the identity stack's. A config
    naming neither (EKS makes the nodes' entries) makes them where the stack runs; a reference
    stack in another account than its users cannot add them to its groups."""
    users = [{"name": "t", "clusterAccess": "view", "users": ["alice"]}]
    eks_managed = {"name": "demo", "authenticationMode": "API", "nodeAccessEntries": "eks-managed"}
    config = core.load({"aws:region": "us-east-1", "eks-access:cluster": eks_managed,
                        "eks-access:teams": users})  # fmt: skip
    assert modes.account_problems(config, "999988887777") == []
    nodes = core.load({"aws:region": "us-east-1", "eks-access:teams": users,
                       "eks-access:cluster": {"name": "demo", "nodeRoleArns":
                                              ["arn:aws:iam::111122223333:role/n"]}})  # fmt: skip
    (problem,) = modes.account_problems(nodes, "999988887777")
    assert problem.startswith("cluster.nodeRoleArns: says account 111122223333")
    reference = core.load({"aws:region": "us-east-1", "eks-access:teams": users,
                           "eks-access:cluster": eks_managed,
                           "eks-access:identity": {"mode": "reference", "account": "444455556666",
                                                   "stack": "acme/eks-access/identity"}})  # fmt: skip
    (problem,) = modes.account_problems(reference, "999988887777")
    assert problem.startswith("eks-access:identity.account: the IAM users of teams t")
    assert modes.account_problems(reference, "444455556666") == []
