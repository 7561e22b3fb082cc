"""Config validation: every mistake is reported with its path and a fix, nothing else raises."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from eks_access import config as core
from eks_access import stackfile
from tests.conftest import NODE_ROLE, minimal_raw

SSO = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/us-east-1/AWSReservedSSO_Dev_0a1b"


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(core.ConfigError) as e:
        core.load(raw)
    return [str(p) for p in e.value.problems]


def team(**kw: Any) -> dict[str, Any]:
    return {"name": "a", **kw}


def test_dev_stack_is_valid(dev_config):
    assert [t.name for t in dev_config.teams] == ["seed", "payments", "auditors", "platform"]
    seed = dev_config.teams[0]
    assert seed.users[0].name == "eks_user" and seed.users[0].keys == ("v1",)


def test_models_are_immutable(dev_config):
    with pytest.raises(ValidationError, match="frozen"):
        dev_config.teams[0].name = "x"  # type: ignore[misc]


def test_user_shorthand_is_one_line():
    cfg = core.load(minimal_raw(**{"eks-access:teams": [team(users=["alice", "bob"])]}))
    assert [u.name for u in cfg.teams[0].users] == ["alice", "bob"]


@pytest.mark.parametrize(
    ("teams", "expected"),
    [
        ([team(userz=[])], "teams[0].userz: unknown key 'userz'; did you mean 'users'?"),
        ([team(name="Payments")], "teams[0].name: 'Payments' is not a DNS-1123 label"),
        ([team(), team()], "teams[1].name: team 'a' is defined at teams[0].name too"),
        (
            [team(users=[{"name": "bad name"}])],
            "teams[0].users[0].name: 'bad name' is not an IAM user name",
        ),
        (
            [team(roles=["arn:aws:iam::1234:role/x"])],
            "teams[0].roles[0].arn: 'arn:aws:iam::1234:role/x' is not an IAM role ARN",
        ),
        (
            [team(roles=["arn:aws:iam::111122223333:user/x"])],
            "is an IAM user ARN, but an IAM role ARN is needed",
        ),
        (
            [team(namespaces=["Pay_ments"])],
            "teams[0].namespaces[0]: 'Pay_ments' is not a DNS-1123 label",
        ),
        (
            [
                team(
                    namespaces=["x"],
                    rules=[{"apiGroups": [""], "resources": ["pods"], "verbs": ["gett"]}],
                )
            ],
            "teams[0].rules[0].verbs[0]: unknown verb 'gett'; did you mean 'get'?",
        ),
        (
            [team(users=[{"name": "x", "username": "system:admin"}])],
            "teams[0].users[0].username: username 'system:admin' starts with the reserved prefix 'system:'",
        ),
        (
            [team(group="eks:admins")],
            "teams[0].group: group 'eks:admins' starts with the reserved prefix 'eks:'",
        ),
        ([team(group="system:masters")], "reserved prefix 'system:'"),
        ([team(roles=[{"arn": SSO, "username": "amazon:x"}])], "reserved prefix 'amazon:'"),
        (
            [team(users=[{"name": "x", "keys": ["a", "b", "c"]}])],
            "teams[0].users[0].keys: an IAM user can hold at most 2 access keys",
        ),
        (
            [
                team(roles=[{"arn": SSO, "username": "a:{{SessionName}}"}]),
                {"name": "b", "roles": [{"arn": SSO, "username": "b:{{SessionName}}"}]},
            ],
            "teams[1].roles[0].username: role "
            + SSO
            + " is mapped at teams[0].roles[0] as 'a:{{SessionName}}'",
        ),
        # Two spellings of one role (with and without path) are one principal to aws-auth.
        (
            [
                team(roles=[{"arn": SSO, "username": "a"}]),
                {
                    "name": "b",
                    "roles": [
                        {
                            "arn": "arn:aws:iam::111122223333:role/AWSReservedSSO_Dev_0a1b",
                            "username": "b",
                        }
                    ],
                },
            ],
            "is mapped at teams[0].roles[0] as 'a' and here as 'b'",
        ),
        (
            [
                team(users=[{"name": "x", "keys": ["v1"]}]),
                {"name": "b", "users": [{"name": "x", "keys": ["v2"]}]},
            ],
            "teams[1].users[0]: IAM user 'x' is defined at teams[0].users[0] with other settings",
        ),
        ([team(roles=[NODE_ROLE])], "is a node role (cluster.nodeRoleArns[0])"),
        (
            [team(namespaces=["kube-system"], createNamespaces=True)],
            "'kube-system' exists in every cluster",
        ),
        (
            [
                team(namespaces=["x"], createNamespaces=True),
                {"name": "b", "namespaces": ["x"], "createNamespaces": True},
            ],
            "teams[1].namespaces[0]: namespace 'x' is created by teams[0].namespaces[0] too",
        ),
        ([team(namespaceAccess="edit")], "teams[0].namespaceAccess: needs at least one namespace"),
        (
            [team(namespaceAccess="owner", namespaces=["x"])],
            "teams[0].namespaceAccess: expected one of view, edit or admin, got the text 'owner'",
        ),
        (
            [
                team(
                    bindTo="users",
                    clusterAccess="view",
                    roles=[{"arn": SSO, "username": "dev:{{SessionName}}"}],
                )
            ],
            "is a template, which a RoleBinding cannot name",
        ),
        (
            [team(roles=[{"arn": SSO, "username": "dev:{{Session}}"}])],
            "unknown template {{Session}}",
        ),
        (
            [team(users=["x"]), {"name": "b", "users": [{"name": "y", "username": "x"}]}],
            "username 'x' is used by teams[0].users[0] too",
        ),
        (
            [team(namespaces=["x"], rules=[{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}])],
            "teams[0].rules[0].nonResourceURLs: non-resource URLs are cluster-wide",
        ),
        (
            [team(clusterRules=[{"resources": ["nodes"], "verbs": ["get"]}])],
            "'resources' need 'apiGroups'",
        ),
    ],
)
def test_bad_team_config_names_the_path_and_the_fix(teams, expected):
    found = problems(minimal_raw(**{"eks-access:teams": teams}))
    assert any(expected in p for p in found), found


def test_team_whose_iam_group_name_would_be_too_long_is_refused():
    raw = minimal_raw(**{"eks-access:teams": [team(name="t" * 63)]})
    raw["eks-access:cluster"]["name"] = "c" * 60
    assert any(p.startswith("teams[0].name: the team's IAM group") for p in problems(raw))


def test_every_problem_is_reported_at_once():
    found = problems(minimal_raw(**{"eks-access:teams": [team(name="X", users=[{"name": "a b"}])]}))
    assert len(found) == 2


def test_unknown_top_level_key_and_missing_region():
    raw = minimal_raw(**{"eks-access:teamz": []})
    del raw["aws:region"]
    found = problems(raw)
    assert any(
        p.startswith("eks-access:teamz: unknown config key; did you mean 'eks-access:teams'?")
        for p in found
    )
    assert any(p.startswith("aws:region: required") for p in found)


def test_other_namespaces_are_left_alone():
    """Keys of other providers' namespaces are theirs: accepted, and they change nothing (an
    unknown key of our own namespace is an error, tested above)."""
    with_others = core.load(minimal_raw(**{"aws:profile": "dev", "kubernetes:context": "x"}))
    assert with_others == core.load(minimal_raw())
    with pytest.raises(core.ConfigError):
        core.load(minimal_raw(**{"eks-access:profile": "dev"}))


def test_node_roles_are_required():
    raw = minimal_raw()
    raw["eks-access:cluster"] = {"name": "demo"}
    assert any(p.startswith("cluster.nodeRoleArns: required") for p in problems(raw))


def test_a_user_in_two_teams_is_one_iam_user():
    cfg = core.load(
        minimal_raw(**{"eks-access:teams": [team(users=["x"]), {"name": "b", "users": ["x"]}]})
    )
    assert core.iam_users(cfg)["x"][1] == ("a", "b")


# --- property: any input ends in a model or in path-named problems, never anything else -------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=12), st.floats(allow_nan=False)
)
json_values = st.recursive(
    scalars,
    lambda c: st.one_of(
        st.lists(c, max_size=3), st.dictionaries(st.text(max_size=8), c, max_size=3)
    ),
    max_leaves=12,
)
team_keys = st.sampled_from(
    [
        "name",
        "group",
        "namespaces",
        "createNamespaces",
        "namespaceAccess",
        "rules",
        "roleName",
        "clusterAccess",
        "clusterRules",
        "bindTo",
        "users",
        "roles",
        "x",
    ]
)
teams_strategy = st.lists(st.dictionaries(team_keys, json_values, max_size=6), max_size=4)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(teams=st.one_of(teams_strategy, json_values))
def test_any_input_is_a_model_or_clean_problems(teams):
    try:
        core.load(minimal_raw(**{"eks-access:teams": teams}))
    except core.ConfigError as e:
        assert e.problems
        for p in e.problems:
            assert p.path and p.message
            assert p.path.startswith(
                ("teams", "eks-access:teams", "cluster", "aws:region", "config")
            ), p


# --- reading the stack file as the Pulumi CLI does ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("config:\n  a: no\n  b: on\n", {"a": "no", "b": "on"}),  # YAML 1.1 booleans: text
        ("config:\n  k: [2026-12-01]\n", {"k": ["2026-12-01"]}),  # dates: text
        ("config:\n  t: 1:20\n", {"t": "1:20"}),  # base 60: text
        ("config:\n  n: 7\n  b: true\n  x: ~\n", {"n": 7, "b": True, "x": None}),
    ],
)
def test_stack_file_values_are_read_as_the_cli_reads_them(text, expected):
    assert stackfile.parse(text, "Pulumi.x.yaml") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config:\n  teams:\n    users: [a]\n    users: [b]\n", "key 'users' first defined"),
        ("config:\n  name: !!binary aGVsbG8=\n", "config.name: a bytes value"),
        ("config:\n  name: !!python/name:os.system ''\n", "could not determine a constructor"),
        ("config:\n  1: x\n", "key 1 is not a string"),
        ("config: &a\n  x: *a\n", "recursive"),
        ("config: {}\n---\nconfig: {}\n", "single document"),
    ],
)
def test_stack_file_oddities_are_clean_errors_naming_the_file(text, message):
    with pytest.raises(stackfile.StackFileError, match=re.escape(message)) as e:
        stackfile.parse(text, "Pulumi.x.yaml")
    assert str(e.value).startswith("Pulumi.x.yaml: ")


def test_existing_users_are_mapped_not_created_and_checked_like_other_principals():
    from eks_access import principals

    team = {"name": "ops", "clusterAccess": "view", "users": ["alice"],
            "existingUsers": ["arn:aws:iam::111122223333:user/legacy/bob",
                              {"arn": "arn:aws:iam::444455556666:user/carol", "username": "c"}]}  # fmt: skip
    config = core.load(minimal_raw(**{"eks-access:teams": [team]}))
    by_name = {p.arn.name: p for p in principals.principals(config, "111122223333")}
    assert by_name["alice"].managed and not by_name["bob"].managed
    assert by_name["bob"].arn.arn == "arn:aws:iam::111122223333:user/legacy/bob"
    assert (by_name["carol"].username, by_name["bob"].username) == ("c", "bob")
    assert "alice" in core.iam_users(config) and "bob" not in core.iam_users(config)

    team["existingUsers"].append("arn:aws:iam::111122223333:user/alice")
    with pytest.raises(core.ConfigError, match=r"existingUsers\[2\]\.arn: .*alice has the name"):
        core.load(minimal_raw(**{"eks-access:teams": [team]}))
    team["existingUsers"][2] = "arn:aws:iam::111122223333:role/not-a-user"
    with pytest.raises(core.ConfigError, match=r"existingUsers\[2\]\.arn: .*user ARN is needed"):
        core.load(minimal_raw(**{"eks-access:teams": [team]}))


def test_map_accounts_are_account_ids():
    cluster = {"name": "c", "nodeRoleArns": [NODE_ROLE], "mapAccounts": ["123"]}
    with pytest.raises(core.ConfigError, match=r"cluster\.mapAccounts\[0\]"):
        core.load(minimal_raw(**{"eks-access:cluster": cluster}))


def test_an_existing_user_named_like_a_user_a_later_team_creates_is_refused():
    teams = [
        {"name": "a", "clusterAccess": "view",
         "existingUsers": ["arn:aws:iam::111122223333:user/alice"]},
        {"name": "b", "clusterAccess": "view", "users": ["alice"]},
    ]  # fmt: skip
    with pytest.raises(
        core.ConfigError, match=r"teams\[0\]\.existingUsers\[0\]\.arn: .* at teams\[1\]"
    ):
        core.load(minimal_raw(**{"eks-access:teams": teams}))


def test_an_identity_stack_checks_its_users_as_a_cluster_stack_does():
    raw = {"aws:region": "us-east-1", "eks-access:identity": {"mode": "owner", "account": "111122223333"},
           "eks-access:teams": [{"name": "a", "users": [{"name": "x", "username": "x-{{Nope}}"}, "x"]}]}  # fmt: skip
    with pytest.raises(core.ConfigError) as e:
        core.load_identity(raw)
    assert {p.path for p in e.value.problems} == {"teams[0].users[0].username", "teams[0].users[1]"}
