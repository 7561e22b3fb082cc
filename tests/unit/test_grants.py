"""Editing stack files (eks_access.grants): a break-glass grant, an early end and the removal of
ended lines change only the lines they must, keep comments and layout, and read back as the
config `pulumi up` reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eks_access import clock, grants
from eks_access import config as core
from eks_access.config import assembly
from eks_access.grants import GrantError, Principal
from eks_access.stackfile import parse
from tests.conftest import ROOT

DEV = (ROOT / "Pulumi.dev.yaml").read_text()
PROD = (ROOT / "Pulumi.prod.yaml").read_text()
AT = datetime(2026, 12, 6, 10, tzinfo=UTC)


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines removed and added, in order (a moved or doubled line counts)."""
    import difflib

    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return [d[2:] for d in diff if d.startswith("- ")], [d[2:] for d in diff if d.startswith("+ ")]


def load(text: str) -> core.StackConfig:
    raw = {k if ":" in k else f"eks-access:{k}": v for k, v in parse(text, "test").items()}
    return core.load_as_written(raw)


def test_a_grant_adds_one_line_and_keeps_every_comment():
    edit = grants.grant(DEV, "dev", project="eks-access", team="payments",
                        who=Principal("users", "zoe"), expires="2026-12-06T14:00:00Z",
                        reason="INC-1234")  # fmt: skip
    gone, added = changed_lines(DEV, edit.text)
    assert gone == []
    assert added == ["        - {name: zoe, expires: '2026-12-06T14:00:00Z', reason: INC-1234}"]
    assert [c for c in DEV.splitlines() if "#" in c] == [
        c for c in edit.text.splitlines() if "#" in c
    ]
    team = next(t for t in load(edit.text).teams if t.name == "payments")
    zoe = next(u for u in team.users if u.name == "zoe")
    assert (zoe.expires, zoe.reason) == ("2026-12-06T14:00:00Z", "INC-1234")
    assert edit.path == "config.eks-access:teams[1].users[2]"


def test_a_grant_joins_the_list_in_its_style():
    edit = grants.grant(DEV, "dev", project="eks-access", team="platform",
                        who=Principal("roles", "arn:aws:iam::111122223333:role/oncall"),
                        expires="2026-12-07", reason="INC-7")  # fmt: skip
    # The platform team's roles are block mappings: so is the new one.
    assert changed_lines(DEV, edit.text) == ([], [
        "        - arn: arn:aws:iam::111122223333:role/oncall",
        "          expires: '2026-12-07'",
        "          reason: INC-7",
    ])  # fmt: skip
    team = next(t for t in load(edit.text).teams if t.name == "platform")
    assert [r.arn for r in team.roles][-1] == "arn:aws:iam::111122223333:role/oncall"


def test_a_second_grant_changes_the_end_and_a_permanent_member_is_refused():
    who = Principal("users", "zoe")
    first = grants.grant(DEV, "dev", project="eks-access", team="payments", who=who,
                         expires="2026-12-06T14:00:00Z", reason="INC-1")  # fmt: skip
    second = grants.grant(first.text, "dev", project="eks-access", team="payments",
                          who=Principal("users", "ZOE"), expires="2026-12-08", reason="INC-2")  # fmt: skip
    assert "from 2026-12-06T14:00:00Z to 2026-12-08" in second.change
    assert changed_lines(first.text, second.text) == (
        ["        - {name: zoe, expires: '2026-12-06T14:00:00Z', reason: INC-1}"],
        ["        - {name: zoe, expires: '2026-12-08', reason: INC-1; then INC-2}"],
    )
    with pytest.raises(GrantError, match="already, with no end"):
        grants.grant(DEV, "dev", project="eks-access", team="payments",
                     who=Principal("users", "alice"), expires="2026-12-08", reason="x")  # fmt: skip
    with pytest.raises(GrantError, match="did you mean 'payments'"):
        grants.grant(DEV, "dev", project="eks-access", team="payment", who=who,
                     expires="2026-12-08", reason="x")  # fmt: skip


def test_where_teams_come_from_esc_the_grant_goes_into_add_members():
    edit = grants.grant(PROD, "prod", project="eks-access", team="data",
                        who=Principal("users", "bob"), expires="2026-12-09", reason="INC-9")  # fmt: skip
    assert edit.path == "config.eks-access:teamOverrides.data.addMembers.users[0]"
    gone, _ = changed_lines(PROD, edit.text)
    assert gone == []
    raw = parse(edit.text, "prod")["eks-access:teamOverrides"]
    assert raw["data"] == {"namespaceAccess": "view", "addMembers": {"users": [
        {"name": "bob", "expires": "2026-12-09", "reason": "INC-9"}]}}  # fmt: skip
    # A team whose users this stack replaces: the grant joins that list.
    edit = grants.grant(PROD, "prod", project="eks-access", team="payments",
                        who=Principal("users", "dave"), expires="2026-12-09", reason="INC-9")  # fmt: skip
    assert edit.path == "config.eks-access:teamOverrides.payments.users[1]"


def test_add_members_appends_and_its_mistakes_are_named_where_written():
    shared = [{"name": "data", "namespaces": ["d"], "namespaceAccess": "view", "users": ["ann"]}]
    raw = {
        "aws:region": "us-east-1",
        "eks-access:cluster": {"name": "c", "nodeRoleArns": ["arn:aws:iam::111122223333:role/n"]},
        "eks-access:teamOverrides": {
            "data": {"addMembers": {"users": [{"name": "bob", "expires": "2026-12-09"}]}}
        },
    }
    merged, problems = assembly.merge_teams(raw, shared)
    assert problems == []
    assert merged["eks-access:teams"][0]["users"] == [
        "ann",
        {"name": "bob", "expires": "2026-12-09"},
    ]
    assert shared[0]["users"] == ["ann"]  # the shared definition itself is not changed
    config = core.load_as_written({**raw, "eks-access:teams": shared})
    assert [u.name for u in config.teams[0].users] == ["ann", "bob"]
    bad = {**raw, "eks-access:teamOverrides": {"data": {"addMembers": {
        "users": [{"name": "ok"}, {"name": "no spaces"}], "user": []}}}}  # fmt: skip
    _, problems = assembly.merge_teams(bad, shared)
    assert [p.path for p in problems] == ["eks-access:teamOverrides.data.addMembers.user"]
    assert "did you mean 'users'" in problems[0].message
    with pytest.raises(core.ConfigError) as e:
        core.load_as_written({**bad, "eks-access:teams": shared})
    paths = [p.path for p in e.value.problems]
    assert "eks-access:teamOverrides.data.addMembers.users[1].name" in paths


def test_revoke_sets_the_end_to_now_and_keeps_the_reason():
    edit = grants.grant(PROD, "prod", project="eks-access", team="data",
                        who=Principal("users", "bob"), expires="2026-12-09", reason="INC-9")  # fmt: skip
    revoked = grants.revoke(edit.text, "prod", project="eks-access", team="data",
                            who=Principal("users", "bob"), at=AT, reason="done")  # fmt: skip
    _, added = changed_lines(edit.text, revoked.text)
    assert added == [
        "          - {name: bob, expires: '2026-12-06T10:00:00Z', reason: 'INC-9; revoked: done'}"
    ]
    # A member of the shared environment, not of this file: ended for this stack alone, with
    # its settings (the command line first checks that it is a member at all).
    revoked = grants.revoke(PROD, "prod", project="eks-access", team="data",
                            who=Principal("users", "dana"), at=AT, reason="left",
                            settings={"keys": ["v1"]})  # fmt: skip
    assert revoked.path == "config.eks-access:teamOverrides.data.addMembers.users[0]"
    assert changed_lines(PROD, revoked.text)[1][-1] == (
        "          - {name: dana, keys: [v1], expires: '2026-12-06T10:00:00Z', reason: 'revoked: left'}"
    )
    # In a file that writes its own teams, a member it does not list is not there to end.
    with pytest.raises(GrantError, match="is not in team payments"):
        grants.revoke(DEV, "dev", project="eks-access", team="payments",
                      who=Principal("users", "carol"), at=AT, reason=None)  # fmt: skip
    # A permanent member of the file's own teams gets an end (a string entry becomes a mapping).
    revoked = grants.revoke(DEV, "dev", project="eks-access", team="payments",
                            who=Principal("users", "bob"), at=AT, reason=None)  # fmt: skip
    assert changed_lines(DEV, revoked.text) == (
        ["        - bob"],
        ["        - {name: bob, expires: '2026-12-06T10:00:00Z'}"],
    )
    config = load(revoked.text)
    assert "bob" not in {u.name for t in core.in_effect(config, AT).teams for u in t.users}


def test_remove_ended_takes_only_the_ended_lines_and_empties_nothing_it_must_keep():
    text = DEV
    for who, expires in (("zoe", "2026-12-05"), ("yan", "2026-12-24")):
        text = grants.grant(text, "dev", project="eks-access", team="payments",
                            who=Principal("users", who), expires=expires, reason="r").text  # fmt: skip
    text = grants.grant(text, "dev", project="eks-access", team="platform",
                        who=Principal("users", "xi"), expires="2026-12-05", reason="r").text  # fmt: skip
    after, removed, _ = grants.remove_ended(text, "dev", project="eks-access", at=AT)
    assert removed == [
        "config.eks-access:teams[1].users[2] (expires 2026-12-05)",
        "config.eks-access:teams[3].users[0] (expires 2026-12-05)",
    ]
    assert "yan" in after and "zoe" not in after and "xi" not in after
    assert after.replace("        - {name: yan, expires: '2026-12-24', reason: r}\n", "") == DEV
    # In overrides: an emptied addMembers goes; a replacing list stays [] (nobody here).
    prod = grants.grant(PROD, "prod", project="eks-access", team="data",
                        who=Principal("users", "bob"), expires="2026-12-05", reason="r").text  # fmt: skip
    after, _, _ = grants.remove_ended(prod, "prod", project="eks-access", at=AT)
    assert after == PROD
    replaced = PROD.replace("users: [{name: alice, keys: [2026-11]}]",
                            "users: [{name: alice, expires: '2026-12-01'}]")  # fmt: skip
    after, removed, _ = grants.remove_ended(replaced, "prod", project="eks-access", at=AT)
    assert "users: []" in after and removed


def test_remove_ended_leaves_an_ended_team_to_a_person():
    text = DEV.replace(
        "    - name: auditors\n", "    - name: auditors\n      expires: 2026-12-01\n"
    )
    text = text.replace("users: [carol]", "users: [{name: carol, expires: 2026-12-24}]")
    after, removed, _ = grants.remove_ended(text, "dev", project="eks-access", at=AT)
    assert after == text and removed == []
    assert grants.ended_teams(text, "dev", project="eks-access", at=AT) == ["auditors"]


def test_reason_and_expires_may_differ_between_teams_but_nothing_else():
    raw = {
        "aws:region": "us-east-1",
        "eks-access:cluster": {"name": "c", "nodeRoleArns": ["arn:aws:iam::111122223333:role/n"]},
        "eks-access:teams": [
            {"name": "a", "clusterAccess": "view", "users": [{"name": "u", "reason": "x"}]},
            {"name": "b", "clusterAccess": "view",
             "users": [{"name": "u", "reason": "y", "expires": "2026-12-24"}]},
        ],
    }  # fmt: skip
    core.load_as_written(raw)
    raw["eks-access:teams"][1]["users"][0]["path"] = "/other/"
    with pytest.raises(core.ConfigError, match="with other settings"):
        core.load_as_written(raw)
    raw["eks-access:teams"][1]["users"][0] = {"name": "u", "reason": ""}
    with pytest.raises(core.ConfigError, match="reason"):
        core.load_as_written(raw)


def test_the_duration_end_is_written_as_expires_reads_it():
    from datetime import timedelta

    end = grants.duration_end(AT, timedelta(hours=4))
    assert end == "2026-12-06T14:00:00Z"
    assert clock.end_of(end) == AT + timedelta(hours=4)


ZED = Principal("users", "zed")


def test_layouts_are_written_back_as_they_were():
    four = (
        "---\n# four-space file\nconfig:\n    aws:region: us-east-1\n    teams:\n"
        "        -   name: ops\n            clusterAccess: view\n            users:\n"
        "                -   ann   # first\n"
    )
    edit = grants.grant(four, "t", project="eks-access", team="ops", who=ZED,
                        expires="2026-12-24", reason="r")  # fmt: skip
    assert changed_lines(four, edit.text) == (
        [],
        ["                -   {name: zed, expires: '2026-12-24', reason: r}"],
    )
    assert edit.text.startswith("---\n# four-space file\n")
    assert edit.path == "config.teams[0].users[1]"  # `teams` alone: this project's key


def test_what_the_round_trip_cannot_keep_or_yaml_shares_is_refused():
    comment_in_flow = DEV.replace("users: [carol]", "users: [carol,  # the auditor\n        ]")
    with pytest.raises(GrantError, match="line\\(s\\) this edit does not touch would change"):
        grants.grant(comment_in_flow, "dev", project="eks-access", team="auditors", who=ZED,
                     expires="2026-12-24", reason="r")  # fmt: skip
    anchored = (
        "config:\n  eks-access:teams:\n    - name: viewers\n      clusterAccess: view\n"
        "      users: &people\n        - ann\n    - name: platform\n"
        "      clusterAccess: cluster-admin\n      users: *people\n"
    )
    with pytest.raises(GrantError, match="anchored \\(&people\\)"):
        grants.grant(anchored, "t", project="eks-access", team="viewers", who=ZED,
                     expires="2026-12-24", reason="r")  # fmt: skip
    merged = (
        "config:\n  eks-access:teams:\n    - &base\n      name: a\n      users: [ann]\n"
        "    - <<: *base\n      name: b\n"
    )
    with pytest.raises(GrantError, match=r"anchored|merges"):
        grants.grant(merged, "t", project="eks-access", team="b", who=ZED,
                     expires="2026-12-24", reason="r")  # fmt: skip


def test_unnamespaced_overrides_are_found_where_written():
    text = "config:\n  environment: x\n  teamOverrides:\n    data: {namespaceAccess: view}\n"
    edit = grants.grant(text, "t", project="eks-access", team="data", who=ZED,
                        expires="2026-12-24", reason="r")  # fmt: skip
    assert edit.path == "config.teamOverrides.data.addMembers.users[0]"
    assert "eks-access:teamOverrides" not in edit.text
    after, removed, _ = grants.remove_ended(edit.text, "t", project="eks-access",
                                         at=datetime(2027, 1, 1, tzinfo=UTC))  # fmt: skip
    assert removed and after == text


def test_a_grant_carries_the_principals_settings_and_add_members_replaces():
    edit = grants.grant(DEV, "dev", project="eks-access", team="platform",
                        who=Principal("users", "alice"), expires="2026-12-24", reason="INC-3",
                        settings={"keys": ["2026-11"]})  # fmt: skip
    assert changed_lines(DEV, edit.text)[1][-1] == (
        "        - {name: alice, keys: [2026-11], expires: '2026-12-24', reason: INC-3}"
    )
    load(edit.text)  # one user, one definition: valid
    # addMembers naming a member the shared team lists sets its end in this stack (a revoke):
    # the shared entry stays (its spelling, its settings), with the end; nothing else may differ.
    shared = [{"name": "data", "clusterAccess": "view", "users": [{"name": "ann", "keys": ["k2"]},
                                                                  "bob"]}]  # fmt: skip
    raw = {"eks-access:teamOverrides": {"data": {"addMembers": {"users": [
        {"name": "ANN", "expires": "2026-12-01"}]}}}}  # fmt: skip
    merged, problems = assembly.merge_teams(raw, shared)
    assert problems == [] and merged["eks-access:teams"][0]["users"] == [
        {"name": "ann", "keys": ["k2"], "expires": "2026-12-01"}, "bob"]  # fmt: skip
    stale = {"eks-access:teamOverrides": {"data": {"addMembers": {"users": [
        {"name": "ann", "keys": ["k1"], "expires": "2026-12-01"}, {"name": "bob"}, "bob"]}}}}  # fmt: skip
    _, problems = assembly.merge_teams(stale, shared)
    assert [(p.path, p.message.split(";")[0]) for p in problems] == [
        ("eks-access:teamOverrides.data.addMembers.users[0]",
         "the team lists this member already: here only its expires and reason may be set (not keys: those are the team's definition's)"),
        ("eks-access:teamOverrides.data.addMembers.users[2]", "listed twice here"),
    ]  # fmt: skip


def test_anchored_entries_and_merged_teams_are_left_to_a_person():
    entry = (
        "config:\n  eks-access:teams:\n    - name: viewers\n      clusterAccess: view\n"
        "      users:\n        - &z {name: zed, expires: '2026-12-01'}\n"
        "    - name: platform\n      clusterAccess: cluster-admin\n      users:\n        - *z\n"
    )
    with pytest.raises(GrantError, match=r"anchored \(&z\)"):
        grants.grant(entry, "t", project="eks-access", team="viewers", who=ZED,
                     expires="2027-01-30", reason="r")  # fmt: skip
    after, removed, kept = grants.remove_ended(entry, "t", project="eks-access", at=AT)
    assert after == entry and removed == [] and "anchored (&z)" in kept[0]
    merged = (
        "config:\n  eks-access:teams:\n    - &base\n      name: a\n      clusterAccess: view\n"
        "      users: [{name: zed, expires: '2026-12-24'}]\n    - <<: *base\n      name: b\n"
    )
    with pytest.raises(GrantError, match=r"anchored|merged"):
        grants.revoke(merged, "t", project="eks-access", team="b", who=ZED, at=AT, reason=None)
    added = (
        "config:\n  environment: x\n  eks-access:teamOverrides:\n"
        "    data: {addMembers: &extra {users: [ann]}}\n    sre: {addMembers: *extra}\n"
    )
    with pytest.raises(GrantError, match=r"anchored \(&extra\)"):
        grants.grant(added, "t", project="eks-access", team="data", who=ZED,
                     expires="2026-12-24", reason="r")  # fmt: skip


def test_remove_ended_keeps_the_end_of_a_shared_member():
    text = grants.revoke(PROD, "prod", project="eks-access", team="data",
                         who=Principal("users", "dana"), at=AT, reason="left").text  # fmt: skip
    later = datetime(2026, 12, 8, tzinfo=UTC)
    after, removed, kept = grants.remove_ended(text, "prod", project="eks-access", at=later,
                                               shared={("data", "users", "dana")})  # fmt: skip
    assert after == text and removed == [] and "grant the shared entry again" in kept[0]
    # without a shared dana (a member this stack alone added), the ended line goes
    after, removed, _ = grants.remove_ended(text, "prod", project="eks-access", at=later)
    assert after == PROD and removed
