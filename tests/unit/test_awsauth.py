"""aws-auth rendering: deterministic, lossless, node roles always present, one entry per ARN."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings

from eks_access import arns, awsauth, principals
from eks_access import config as core
from tests.conftest import NODE_ROLE, minimal_raw
from tests.strategies import ACCOUNT, stack_configs


def render(raw):
    cfg = core.load(raw)
    return (
        cfg,
        principals.principals(cfg, ACCOUNT),
        awsauth.render(principals.principals(cfg, ACCOUNT)),
    )


@settings(max_examples=150, deadline=None)
@given(stack_configs())
def test_render_round_trips_through_the_authenticator_rules(raw):
    cfg, ps, data = render(raw)
    parsed = awsauth.parse(data)
    assert not parsed.dropped and not parsed.shadowed
    # Every principal comes back with its username and the union of its teams' groups.
    assert {
        (k, m.username, tuple(sorted(m.groups))) for k, m in parsed.mappings.items()
    } == awsauth.identities(ps)
    # Node roles are there, exactly as EKS needs them.
    for arn in cfg.cluster.node_role_arns:
        m = parsed.mappings[arn.lower()]
        assert (m.username, m.groups) == (principals.NODE_USERNAME, principals.NODE_GROUPS)
    # Roles are written without their IAM path: STS never carries it.
    for m in parsed.mappings.values():
        if m.kind == "role":
            assert m.arn.split(":", 5)[5].count("/") == 1


@settings(max_examples=100, deadline=None)
@given(stack_configs())
def test_render_is_deterministic_and_order_independent(raw):
    _, _, data = render(raw)
    reversed_raw = {**raw, "eks-access:teams": list(reversed(raw["eks-access:teams"]))}
    cfg = core.load(reversed_raw)
    assert awsauth.render(principals.principals(cfg, ACCOUNT)) == data
    assert awsauth.render(list(reversed(principals.principals(cfg, ACCOUNT)))) == data


def test_adding_one_user_changes_only_map_users():
    base = minimal_raw(
        **{
            "eks-access:teams": [
                {"name": "a", "users": ["alice"], "roles": ["arn:aws:iam::111122223333:role/dev"]}
            ]
        }
    )
    more = minimal_raw(
        **{
            "eks-access:teams": [
                {
                    "name": "a",
                    "users": ["alice", "bob"],
                    "roles": ["arn:aws:iam::111122223333:role/dev"],
                }
            ]
        }
    )
    _, _, before = render(base)
    _, _, after = render(more)
    assert before["mapRoles"] == after["mapRoles"]
    added = set(after["mapUsers"].splitlines()) - set(before["mapUsers"].splitlines())
    assert added == {"  userarn: arn:aws:iam::111122223333:user/bob", "  username: bob"}


def test_refuses_to_render_without_node_roles():
    with pytest.raises(awsauth.AwsAuthError, match="no node or Fargate role"):
        awsauth.render([])


def test_refuses_a_principal_twice_even_spelled_differently():
    config = core.load(minimal_raw())
    ps = principals.principals(config, ACCOUNT)
    node = ps[0]
    # The same role in other case and with a path: the authenticator sees one principal.
    spelled = NODE_ROLE.replace("role/eks-node-group", "role/nodes/EKS-Node-Group")
    other = principals.Principal(**{**node.__dict__, "arn": arns.parse_iam_arn(spelled)})
    with pytest.raises(awsauth.AwsAuthError, match="listed twice"):
        awsauth.render([*ps, other])


def test_refuses_past_one_mebibyte():
    node = principals.Principal("node", principals.arns.parse_iam_arn(NODE_ROLE), "n", ("g",))
    many = [node] + [
        principals.Principal(
            "user",
            principals.arns.user_arn("aws", ACCOUNT, f"u{i:06d}"),
            f"u{i:06d}",
            ("eks-access:team-with-a-long-name",),
        )
        for i in range(12_000)
    ]
    with pytest.raises(awsauth.AwsAuthError, match="1 MiB"):
        awsauth.render(many)


def test_parse_reports_what_the_authenticator_drops_or_shadows():
    data = {
        "mapRoles": "- rolearn: arn:aws:iam::111122223333:role/a\n  username: a\n"
        "- username: no-arn\n"
        "- rolearn: arn:aws:iam::111122223333:role/team/b\n  username: b\n",
        "mapUsers": "- userarn: arn:aws:iam::111122223333:user/x\n  username: x\n  groups: [g1]\n"
        "- userarn: ARN:aws:iam::111122223333:user/X\n  username: x2\n  groups: [g2]\n",
        "mapAccounts": "- '111122223333'\n",
    }
    parsed = awsauth.parse(data)
    assert parsed.dropped == ["mapRoles[1]: no rolearn; entry ignored"]
    key = "arn:aws:iam::111122223333:user/x"
    assert parsed.mappings[key].username == "x2"  # the later one wins
    assert parsed.lookup("arn:aws:iam::111122223333:user/X").username == "x2"  # any case
    assert len(parsed.shadowed) == 1
    # A role written with its path is kept as written, and no caller ever reaches it.
    assert [m.arn for m in parsed.unreachable] == ["arn:aws:iam::111122223333:role/team/b"]
    assert "arn:aws:iam::111122223333:role/b" not in parsed.mappings
    assert parsed.lookup("arn:aws:iam::111122223333:role/b") is None
    assert parsed.accounts == ("111122223333",)
    broken = awsauth.parse({"mapUsers": "- userarn: a\n   username: [\n"})
    assert broken.mappings == {} and "whole key ignored" in broken.dropped[0]


def test_rendered_yaml_is_one_field_per_line():
    _, _, data = render(minimal_raw(**{"eks-access:teams": [{"name": "a", "users": ["alice"]}]}))
    assert yaml.safe_load(data["mapUsers"]) == [
        {
            "groups": ["eks-access:a"],
            "userarn": "arn:aws:iam::111122223333:user/alice",
            "username": "alice",
        }
    ]
    assert data["mapUsers"].count("\n") == 4


def test_map_accounts_are_rendered_and_parsed_back():
    config = core.load(minimal_raw())
    data = awsauth.render(principals.principals(config, ACCOUNT), ["444455556666"])
    assert awsauth.parse(data).accounts == ("444455556666",)
    assert "mapAccounts" not in awsauth.render(principals.principals(config, ACCOUNT))
