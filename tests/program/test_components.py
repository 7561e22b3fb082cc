"""Components under Pulumi's mock runtime: what they register, with which options, what is secret."""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from components import (
    AwsAuth,
    AwsAuthArgs,
    ClusterUser,
    ClusterUserArgs,
    Namespaces,
    NamespacesArgs,
    Team,
    TeamArgs,
    UserAccess,
    UserAccessArgs,
)
from eks_access import config as core
from eks_access import live, principals, rbac
from offline.mocks import PLACEHOLDER_SECRET_PREFIX, PlaceholderCloud
from offline.run import SECRET_MASK, run_program
from tests.conftest import minimal_raw

CLOUD = PlaceholderCloud("111122223333", "us-east-1")
CLUSTER_ARN = "arn:aws:eks:us-east-1:111122223333:cluster/demo"


def everything(result) -> str:
    return json.dumps([r.to_json() for r in result.resources]) + json.dumps(result.outputs)


def test_cluster_user_keys_are_secret_and_named_by_generation():
    def program():
        u = ClusterUser("alice", ClusterUserArgs("alice", key_generations=["2026-11", "2026-12"]))
        UserAccess("alice", UserAccessArgs("alice", groups=["g1", "g2"], user=u))
        pulumi.export("secrets", u.secrets)
        pulumi.export("ids", u.access_key_ids)

    result = run_program(program, CLOUD)
    keys = result.of_type("aws:iam/accessKey:AccessKey")
    assert sorted(k.name for k in keys) == ["alice-key-2026-11", "alice-key-2026-12"]
    assert all(k.parent.endswith("eks-access:index:ClusterUser::alice") for k in keys)
    assert all("secret" in k.options["additionalSecretOutputs"] for k in keys)
    assert result.outputs["secrets"] == SECRET_MASK
    assert sorted(result.outputs["ids"]) == ["2026-11", "2026-12"]
    assert PLACEHOLDER_SECRET_PREFIX not in everything(result)
    membership = result.of_type("aws:iam/userGroupMembership:UserGroupMembership")[0]
    assert membership.inputs == {"user": "alice", "groups": ["g1", "g2"]}
    # Not a child of the user: the user can move to an identity stack without its memberships.
    assert membership.parent.endswith("eks-access:index:UserAccess::alice")
    assert membership.options["aliases"] == [
        {"spec": {"parentUrn": "urn:pulumi:test::eks-access::eks-access:index:ClusterUser::alice"}}
    ]
    assert not result.of_type("aws:iam/userLoginProfile:UserLoginProfile")  # no console login
    # A later PGP key must not replace existing keys (pgp_key forces a new key).
    assert all(k.options["ignoreChanges"] == ["pgpKey"] for k in keys)
    assert not any(r.options["retainOnDelete"] for r in result.resources)


def test_a_user_handed_over_is_kept_in_aws_when_the_stack_lets_go():
    def program():
        ClusterUser("a", ClusterUserArgs("a", key_generations=["v1"], retain=True))

    result = run_program(program, CLOUD)
    kept = {r.type for r in result.resources if r.options.get("retainOnDelete")}
    assert kept == {"aws:iam/user:User", "aws:iam/accessKey:AccessKey"}


def test_outputs_follow_what_each_key_holds():
    from components.cluster_user import _set

    assert _set({"v1": "plain", "v2": None}) == {"v1": "plain"}
    assert _set([]) == {}


def test_cluster_user_with_pgp_keeps_only_the_encrypted_secret():
    def program():
        u = ClusterUser(
            "bob", ClusterUserArgs("bob", key_generations=["v1"], pgp_key="keybase:bob")
        )
        pulumi.export("secrets", u.secrets)
        pulumi.export("encrypted", u.encrypted_secrets)

    result = run_program(program, CLOUD)
    assert result.of_type("aws:iam/accessKey:AccessKey")[0].inputs["pgpKey"] == "keybase:bob"
    assert result.outputs["encrypted"]["v1"].startswith("placeholder-pgp-encrypted-")
    assert result.outputs["secrets"] == SECRET_MASK


def test_rotation_adds_a_generation_without_touching_the_old_key():
    def with_keys(labels):
        return run_program(
            lambda: ClusterUser("a", ClusterUserArgs("a", key_generations=labels)) and None,
            CLOUD,
        )

    before = {r.urn for r in with_keys(["v1"]).resources}
    during = {r.urn for r in with_keys(["v1", "v2"]).resources}
    after = {r.urn for r in with_keys(["v2"]).resources}
    assert before < during and after < during
    assert {u.rsplit("::", 1)[1] for u in during - before} == {"a-key-v2"}
    assert {u.rsplit("::", 1)[1] for u in during - after} == {"a-key-v1"}


def test_aws_auth_is_one_server_side_apply_patch_that_is_never_deleted():
    cfg = core.load(minimal_raw(**{"eks-access:teams": [{"name": "a", "users": ["alice"]}]}))

    def program():
        provider = k8s.Provider("k8s", kubeconfig="{}")
        AwsAuth(
            "aws-auth",
            AwsAuthArgs(principals=principals.principals(cfg, "111122223333")),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )

    result = run_program(program, CLOUD)
    patches = result.of_type("kubernetes:core/v1:ConfigMapPatch")
    assert len(patches) == 1 and not result.of_type("kubernetes:core/v1:ConfigMap")
    patch = patches[0]
    assert (
        patch.inputs["metadata"]["name"] == "aws-auth"
        and patch.inputs["metadata"]["namespace"] == "kube-system"
    )
    assert patch.inputs["metadata"]["annotations"] == {
        "pulumi.com/patchFieldManager": "eks-access",
        "pulumi.com/patchForce": "true",
        # the record the next run's live preflight reads (eks_access.live)
        "eks-access/mapped": live.record(patch.inputs["data"]),
    }
    assert set(patch.inputs["data"]) == {"mapRoles", "mapUsers"}
    assert "eks-node-group" in patch.inputs["data"]["mapRoles"]
    assert patch.options["retainOnDelete"] is True
    assert patch.options["replaceOnChanges"] == [] and patch.options["deleteBeforeReplace"] is False
    assert patch.options["provider"].startswith(
        "urn:pulumi:test::eks-access::pulumi:providers:kubernetes::k8s"
    )


def test_team_policy_names_only_its_cluster_and_rbac_hangs_under_the_team():
    cfg = core.load(
        minimal_raw(
            **{
                "eks-access:teams": [
                    {
                        "name": "a",
                        "namespaces": ["x"],
                        "namespaceAccess": "view",
                        "createNamespaces": True,
                    }
                ]
            }
        )
    )
    team = cfg.teams[0]

    def program():
        ns = Namespaces("namespaces", NamespacesArgs(rbac.namespace_objects(cfg.teams)))
        Team(
            "a", TeamArgs("grp", "eks-access:a", CLUSTER_ARN, rbac.team_objects(team), ns.resources)
        )

    result = run_program(program, CLOUD)
    policy = json.loads(result.of_type("aws:iam/groupPolicy:GroupPolicy")[0].inputs["policy"])
    assert [s["Resource"] for s in policy["Statement"]] == [CLUSTER_ARN]
    binding = result.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")[0]
    assert binding.name == "a-rbac-binding-x-view"
    assert binding.parent.endswith("eks-access:index:TeamRbac::a-rbac")
    namespace = result.of_type("kubernetes:core/v1:Namespace")[0]
    assert namespace.options["retainOnDelete"] is True
    assert namespace.urn in binding.options["dependsOn"]


def test_component_tokens_use_one_scheme(dev_raw):
    from eks_access import stackfile
    from offline.run import run
    from tests.conftest import DEV

    result = run(stackfile.read(DEV))
    components = {r.type for r in result.resources if not r.custom}
    assert components == {
        "eks-access:index:" + t
        for t in ("ClusterUser", "UserAccess", "Team", "TeamRbac", "AwsAuth", "Namespaces")
    }
