"""Exact answers: who is who and who can do what, the way EKS, the authenticator and Kubernetes
decide it (issue "Exact answers"). Each test here failed before its fix."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from eks_access import (
    access_entries,
    adopt,
    authz,
    awsauth,
    comment,
    iam,
    principals,
    review,
    stackfile,
)
from eks_access import config as core
from tests.conftest import DEV, NODE_ROLE, minimal_raw
from tests.strategies import HOSTILE_GROUPS, HOSTILE_USERS

ACCOUNT = "111122223333"


def load(**teams_and_more: Any) -> core.StackConfig:
    return core.load(minimal_raw(**teams_and_more))


def problems(**teams_and_more: Any) -> list[str]:
    with pytest.raises(core.ConfigError) as e:
        load(**teams_and_more)
    return [str(p) for p in e.value.problems]


# --- RBAC: names, named subresources, URLs --------------------------------------------------------

NAMED = [
    {
        "name": "ops",
        "namespaces": ["apps"],
        "bindTo": "users",
        "users": ["dana"],
        "rules": [
            {"apiGroups": [""], "resources": ["pods/exec"], "resourceNames": ["web-0"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app-config"], "verbs": ["list", "watch"]},
        ],
    }
]  # fmt: skip


def test_can_i_answers_named_requests_as_rbac_does(tmp_path, invoke):
    from tests.conftest import write_stack

    stack = write_stack(tmp_path, minimal_raw(**{"eks-access:teams": NAMED}))
    dana = f"arn:aws:iam::{ACCOUNT}:user/dana"

    def ask(*request: str) -> str:
        r = invoke("can-i", *request, "-n", "apps", "--as", dana, "--config-file", str(stack))
        return r.stdout.strip()

    assert ask("create", "pods/web-0", "--subresource", "exec") == "yes"
    assert ask("create", "pods/web-1", "--subresource", "exec") == "no"
    assert ask("create", "pods", "--subresource", "exec") == "no"
    assert ask("list", "configmaps/app-config") == "yes"
    assert ask("watch", "configmaps/app-config") == "yes"
    assert ask("list", "configmaps") == "no"


def test_can_i_says_what_a_node_role_is(invoke):
    r = invoke("can-i", "get", "pods", "--as", "arn:aws:iam::111122223333:role/eks-node-group",
            "--config-file", str(DEV))  # fmt: skip
    assert r.returncode == 1 and r.stdout.strip() == "unknown"
    assert "is a node role, mapped as system:node:{{EC2PrivateDNSName}}" in r.stderr
    assert "Node authorizer" in r.stderr and "not mapped" not in r.stderr


def test_review_reports_named_objects_urls_and_nodes_proxy():
    base = load(**{"eks-access:teams": [{"name": "ops", "users": ["dana"], "namespaces": ["apps"],
                                         "namespaceAccess": "view"}]})  # fmt: skip
    head_team = {
        "name": "ops",
        "users": ["dana"],
        "namespaces": ["apps"],
        "namespaceAccess": "view",
        "rules": [
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db-password"], "verbs": ["get"]}
        ],
        "clusterRules": [
            {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["create"]},
            {"nonResourceURLs": ["/debug/pprof/*"], "verbs": ["get"]},
        ],
    }  # fmt: skip
    head = load(**{"eks-access:teams": [head_team]})
    doc = review.review(base, head)
    gained = {c.permission for c in doc.rule_changes if c.change == "gains"}
    assert gained == {
        "get secrets db-password in namespace apps",
        "create nodes/proxy cluster-wide",
        "get /debug/pprof/*",
    }
    assert not [c for c in doc.rule_changes if c.change == "loses"]
    # The fixed grid sees none of the three.
    assert not doc.changes
    md = comment.markdown([("dev", doc)])
    assert "| dana | apps | secrets db-password | get |  |" in md
    assert "| dana | (cluster-wide) | nodes/proxy | create |  |" in md
    assert "| dana | (cluster-wide) | /debug/pprof/\\* | get |  |" in md
    # And back: losing them is reported as well.
    back = review.review(head, base)
    assert {c.permission for c in back.rule_changes if c.change == "loses"} == gained


def test_a_wider_rule_covers_a_narrower_one_in_review():
    team = {"name": "ops", "users": ["dana"], "namespaces": ["apps"],
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"], "verbs": ["get"]}]}  # fmt: skip
    wider = copy.deepcopy(team)
    wider["rules"] = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]
    doc = review.review(load(**{"eks-access:teams": [team]}), load(**{"eks-access:teams": [wider]}))
    changes = {(c.change, c.permission) for c in doc.rule_changes}
    # Reading every secret covers reading one: nothing is lost, two permissions are gained.
    assert changes == {
        ("gains", "get secrets in namespace apps"),
        ("gains", "list secrets in namespace apps"),
    }


P = review.Permission


@pytest.mark.parametrize(
    ("wide", "narrow", "covers"),
    [
        (P("*", "get", url="/healthz*"), P("*", "get", url="/healthz"), True),
        (P("*", "get", url="/healthz*"), P("*", "get", url="/healthz/etcd"), True),
        (P("*", "get", url="/healthz*"), P("*", "get", url="/healthz/*"), True),
        (P("*", "get", url="/healthz"), P("*", "get", url="/healthz*"), False),
        (P("*", "get", url="*"), P("*", "get", url="/metrics"), True),
        (P("*", "get", url="/metrics"), P("*", "get", url="*"), False),
        (P("*", "get", "apps", "*/scale"), P("*", "get", "apps", "deployments/scale"), True),
        (P("*", "get", "apps", "*/scale"), P("*", "get", "apps", "deployments"), False),
        (P("*", "get", "", "*"), P("*", "get", "", "*/exec"), True),
        (P("*", "get", "", "*/exec"), P("*", "get", "", "*"), False),
        # "pods/*" is a literal in RBAC, not every subresource of pods
        (P("*", "get", "", "pods/*"), P("*", "get", "", "pods/log"), False),
        (P("*", "get", "", "pods"), P("*", "get", "", "pods/log"), False),
        (P("*", "get", "", "secrets"), P("a", "get", "", "secrets", "db"), True),
        (P("a", "get", "", "secrets", "db"), P("a", "get", "", "secrets"), False),
    ],
)
def test_one_permission_covers_another_as_rbac_matches(wide, narrow, covers):
    assert wide.covers(narrow) is covers


# --- aws-auth as YAML 1.1 readers read it -----------------------------------------------------------

hostile = st.sampled_from(
    [*HOSTILE_USERS, *HOSTILE_GROUPS, "Yes", "OFF", "0o17", "0b101", ".5", "1e3", ".inf", "NULL",
     "2026-12-01 10:00:00", "+12", "-0", "=", "<<", "0X1F", "0B101", "-0o7", "1_0", "0x_1"]
)  # fmt: skip


iam_names = hostile.filter(lambda n: core.IAM_USER_NAME.match(n) is not None)


@settings(max_examples=300, database=None, deadline=None)
@given(name=iam_names, group=hostile, username=hostile)
def test_aws_auth_is_read_back_as_written_by_a_yaml_1_1_reader(name, group, username):
    data = awsauth.render(
        [
            principals.Principal(
                "node",
                core_arn(f"arn:aws:iam::{ACCOUNT}:role/nodes"),
                principals.NODE_USERNAME,
                principals.NODE_GROUPS,
            ),
            principals.Principal(
                "user", core_arn(f"arn:aws:iam::{ACCOUNT}:user/{name}"), username, (group,)
            ),
        ]
    )
    # ruamel.yaml's YAML 1.1 reader is the authenticator's reading (go-yaml v2) in Python; the
    # authenticator itself reads the same text in `make e2e`.
    (entry,) = awsauth.load_yaml11(data["mapUsers"])
    assert entry == {
        "userarn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "username": username,
        "groups": [group],
    }
    assert yaml.safe_load(data["mapUsers"]) == [entry]  # and PyYAML's YAML 1.1-ish reader
    # go-yaml v2 hands any plain scalar that starts like a number to Go's ParseInt(s, 0, 64),
    # which takes more than YAML 1.1 (0o17, 0X1F, 1_0): no such scalar may be left plain.
    plain = [
        ln.strip().removeprefix("- ").split(": ", 1)[-1] for ln in data["mapUsers"].splitlines()
    ]
    assert not [v for v in plain if v[:1] in set("-+.0123456789")], data["mapUsers"]


def core_arn(arn: str) -> Any:
    from eks_access import arns

    return arns.parse_iam_arn(arn)


def test_a_user_named_y_is_written_quoted():
    data = awsauth.render(
        principals.principals(
            load(**{"eks-access:teams": [{"name": "a", "users": ["y"]}]}), ACCOUNT
        )
    )
    assert "username: 'y'" in data["mapUsers"]
    assert awsauth.parse(data).lookup(f"arn:aws:iam::{ACCOUNT}:user/y").username == "y"


# --- which mapping the authenticator gives an ARN ---------------------------------------------------


def test_roles_are_looked_up_before_users_and_paths_never_match():
    data = {
        "mapUsers": f"- userarn: arn:aws:iam::{ACCOUNT}:user/bob\n  username: from-users\n",
        "mapRoles": f"- rolearn: arn:aws:iam::{ACCOUNT}:user/bob\n  username: from-roles\n"
        f"- rolearn: arn:aws:iam::{ACCOUNT}:role/path/admin\n  username: admin\n",
    }
    parsed = awsauth.parse(data)
    assert parsed.lookup(f"arn:aws:iam::{ACCOUNT}:user/bob").username == "from-roles"
    assert parsed.mappings[f"arn:aws:iam::{ACCOUNT}:user/bob"].username == "from-roles"
    assert parsed.lookup(f"arn:aws:iam::{ACCOUNT}:role/admin") is None
    # The migration's view of the cluster agrees: the path role is nobody.
    from eks_access import modes

    ids = modes.effective_identities(modes.ClusterState("CONFIG_MAP", data))
    assert f"arn:aws:iam::{ACCOUNT}:role/admin" not in ids


def test_import_counts_a_path_role_as_a_difference(tmp_path):
    data = {
        "mapRoles": yaml.safe_dump(
            [
                {"rolearn": NODE_ROLE, "username": principals.NODE_USERNAME,
                 "groups": list(principals.NODE_GROUPS)},
                {"rolearn": f"arn:aws:iam::{ACCOUNT}:role/teams/admin", "username": "admin",
                 "groups": ["ops"]},
            ]
        )
    }  # fmt: skip
    imported, _ = adopt.from_aws_auth(data, "prod", "us-east-1")
    assert any("never matched today" in n and "starts granting it" in n for n in imported.notes)
    planned = awsauth.render(principals.principals(core.load(imported.config), ACCOUNT), ())
    diffs = adopt.compare(imported, planned, [])
    assert diffs == [
        f"the plan maps arn:aws:iam::{ACCOUNT}:role/admin as 'admin' in ['ops']; today it is not"
    ]


# --- Windows nodes and principals without groups -----------------------------------------------------

WINDOWS = f"arn:aws:iam::{ACCOUNT}:role/windows-nodes"


def test_windows_node_roles_in_aws_auth_entries_and_import():
    raw = minimal_raw(**{"eks-access:teams": [{"name": "a", "users": ["alice"]}]})
    raw["eks-access:cluster"]["windowsNodeRoleArns"] = [WINDOWS]
    config = core.load(raw)
    data = awsauth.render(principals.principals(config, ACCOUNT))
    windows = awsauth.parse(data).lookup(WINDOWS)
    assert windows is not None and set(windows.groups) == {
        "system:bootstrappers",
        "system:nodes",
        "eks:kube-proxy-windows",
    }
    raw["eks-access:cluster"].update(authenticationMode="API", nodeAccessEntries="create")
    entries = {e.principal_arn: e for e in access_entries.entries(core.load(raw), ACCOUNT)}
    assert entries[WINDOWS].type == "EC2_WINDOWS" and entries[WINDOWS].kubernetes_groups == ()
    imported, _ = adopt.from_aws_auth(data, "prod", "us-east-1")
    assert imported.config["eks-access:cluster"]["windowsNodeRoleArns"] == [WINDOWS]
    assert adopt.compare(imported, data, []) == []


def test_a_principal_without_groups():
    team = {"name": "solo", "mapGroup": False, "bindTo": "users", "namespaces": ["apps"],
            "namespaceAccess": "view", "users": ["sam"]}  # fmt: skip
    config = load(**{"eks-access:teams": [team]})
    (sam,) = [p for p in principals.principals(config, ACCOUNT) if not p.is_node]
    assert sam.groups == ()
    assert (
        awsauth.parse(awsauth.render([*principals.principals(config, ACCOUNT)]))
        .lookup(sam.arn.arn)
        .groups
        == ()
    )
    state = authz.state_of(config)
    assert state.can(sam.arn.arn, authz.Request("get", "pods", namespace="apps"))
    # A group binding would name a group nobody has: refused.
    assert any(
        "set bindTo: users" in p
        for p in problems(**{"eks-access:teams": [{**team, "bindTo": "group"}]})
    )


# --- IAM names ignore case; AWS limits --------------------------------------------------------------


def test_iam_user_names_are_case_insensitive():
    found = problems(**{"eks-access:teams": [{"name": "a", "users": ["Alice"]},
                                              {"name": "b", "users": ["alice"]}]})  # fmt: skip
    assert any("teams[1].users[0].name: IAM user 'alice' is 'Alice'" in p for p in found)
    found = problems(
        **{"eks-access:teams": [{"name": "a", "users": ["alice"],
                                 "existingUsers": [f"arn:aws:iam::{ACCOUNT}:user/ALICE"]}]}
    )  # fmt: skip
    assert any("IAM names ignore case" in p for p in found)


def test_a_user_in_more_than_ten_teams():
    teams = [{"name": f"t{i}", "users": ["alice"]} for i in range(11)]
    found = problems(**{"eks-access:teams": teams})
    assert any(
        p.startswith("teams[10].users[0]: IAM user 'alice' would be in more than 10") for p in found
    )
    load(**{"eks-access:teams": teams[:10]})


def test_more_than_3000_access_entries(monkeypatch):
    raw = minimal_raw(**{"eks-access:teams": [{"name": "a", "users": [f"u{i}" for i in range(6)]}]})
    raw["eks-access:cluster"]["authenticationMode"] = "API_AND_CONFIG_MAP"
    from eks_access.config import checks

    monkeypatch.setattr(checks, "MAX_ACCESS_ENTRIES", 5)
    with pytest.raises(core.ConfigError, match="6 access entries, over EKS's limit of 5"):
        core.load(raw)
    raw["eks-access:cluster"]["authenticationMode"] = "CONFIG_MAP"  # no entries: no limit
    core.load(raw)


def test_a_group_policy_over_iams_limit(monkeypatch):
    size = iam.policy_size(iam.describe_cluster_policy("arn:aws:eks:us-east-1:1:cluster/demo"))
    monkeypatch.setattr(iam, "MAX_GROUP_POLICY", size - 1)
    with pytest.raises(core.ConfigError, match=r"over IAM's limit of .* for a group's inline"):
        load(**{"eks-access:teams": [{"name": "a", "users": ["alice"]}]})
    monkeypatch.undo()
    assert stackfile.read(DEV).load()  # at IAM's real limit the same config loads


def test_the_fleet_compares_iam_names_ignoring_case_and_sums_groups():
    from eks_access import fleet

    def stack(name: str, users: list[str], teams: int = 1) -> fleet.FleetStack:
        config = load(
            **{"eks-access:teams": [{"name": f"t{i}", "users": users} for i in range(teams)]}
        )
        return fleet.FleetStack(f"Pulumi.{name}.yaml", name, config)

    found = fleet.problems([stack("a", ["Alice"]), stack("b", ["alice"])])
    assert any("IAM user 'Alice'" in p and "defined with different settings" in p for p in found)
    found = fleet.problems([stack("a", ["alice"], teams=6), stack("b", ["alice"], teams=5)])
    assert any("would be in 11 team groups across the fleet" in p for p in found)
    assert not any("team groups" in p for p in fleet.problems([stack("a", ["alice"], teams=6)]))


def test_rbac_yaml_is_read_back_as_written_by_kubectl_s_yaml_1_1_reader(tmp_path):
    from offline import plan

    team = {"name": "a", "namespaces": ["apps"], "users": ["y"],
            "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                       "resourceNames": ["y", "0777", "off", "2026-12-01"], "verbs": ["get"]}]}  # fmt: skip
    from eks_access import rbac

    docs = [o.manifest for o in rbac.all_objects(load(**{"eks-access:teams": [team]}).teams)]
    text = plan.dump_yaml(docs)
    from ruamel.yaml import YAML

    reader = YAML(typ="safe", pure=True)
    reader.version = (1, 1)
    assert list(reader.load_all(text)) == docs
