"""The Kubernetes objects teams get; the seed's Role and RoleBinding exactly."""

from eks_access import config as core
from eks_access import rbac
from tests.conftest import minimal_raw


def objects(dev_config, team):
    return {
        (o.kind, o.namespace, o.manifest["metadata"]["name"]): o.manifest
        for o in rbac.team_objects(next(t for t in dev_config.teams if t.name == team))
    }


def test_seed_role_and_binding_are_the_walkthroughs(dev_config):
    objs = objects(dev_config, "seed")
    assert set(objs) == {("Role", "default", "test"), ("RoleBinding", "default", "test")}
    role = objs[("Role", "default", "test")]
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["pods", "secrets", "configmaps", "services", "serviceaccounts"],
            "verbs": ["create", "delete", "get", "list", "patch", "update"],
        }
    ]
    binding = objs[("RoleBinding", "default", "test")]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "test",
    }
    assert binding["subjects"] == [
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "eks_user"}
    ]


def test_preset_binds_the_team_group_to_the_builtin_clusterrole_in_each_namespace(dev_config):
    objs = objects(dev_config, "payments")
    for ns in ("payments", "payments-jobs"):
        b = objs[("RoleBinding", ns, "eks-access:payments:edit")]
        assert b["roleRef"]["kind"] == "ClusterRole" and b["roleRef"]["name"] == "edit"
        assert b["subjects"] == [
            {
                "kind": "Group",
                "apiGroup": "rbac.authorization.k8s.io",
                "name": "eks-access:payments",
            }
        ]


def test_cluster_admin_team_gets_a_clusterrolebinding(dev_config):
    b = objects(dev_config, "platform")[
        ("ClusterRoleBinding", None, "eks-access:platform:cluster-admin")
    ]
    assert b["roleRef"]["name"] == "cluster-admin"


def test_keys_do_not_depend_on_list_positions():
    one = core.load(
        minimal_raw(
            **{
                "eks-access:teams": [
                    {"name": "a", "namespaces": ["x", "y"], "namespaceAccess": "view"}
                ]
            }
        )
    )
    two = core.load(
        minimal_raw(
            **{"eks-access:teams": [{"name": "a", "namespaces": ["y"], "namespaceAccess": "view"}]}
        )
    )
    keys_one = {o.key: o.manifest for o in rbac.team_objects(one.teams[0])}
    keys_two = {o.key: o.manifest for o in rbac.team_objects(two.teams[0])}
    assert keys_two.items() <= keys_one.items()


def test_namespaces_are_keyed_by_name_not_by_team():
    a = core.load(
        minimal_raw(
            **{
                "eks-access:teams": [
                    {"name": "a", "namespaces": ["x"], "createNamespaces": True},
                    {"name": "b"},
                ]
            }
        )
    )
    b = core.load(
        minimal_raw(
            **{
                "eks-access:teams": [
                    {"name": "a"},
                    {"name": "b", "namespaces": ["x"], "createNamespaces": True},
                ]
            }
        )
    )
    assert (
        [o.key for o in rbac.namespace_objects(a.teams)]
        == [o.key for o in rbac.namespace_objects(b.teams)]
        == ["x"]
    )


def test_cluster_rules_make_a_clusterrole_and_binding():
    cfg = core.load(
        minimal_raw(
            **{
                "eks-access:teams": [
                    {
                        "name": "a",
                        "clusterRules": [
                            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]},
                            {"nonResourceURLs": ["/healthz"], "verbs": ["get"]},
                        ],
                    }
                ]
            }
        )
    )
    kinds = {(o.kind, o.manifest["metadata"]["name"]) for o in rbac.team_objects(cfg.teams[0])}
    assert kinds == {("ClusterRole", "eks-access:a"), ("ClusterRoleBinding", "eks-access:a")}
