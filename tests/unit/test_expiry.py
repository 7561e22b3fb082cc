"""Access that ends by itself (issue 28, first part): ``expires`` read strictly, the config as it
grants at a time, and what the end does to the plan, with fixed times."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from eks_access import arns, authz, clock, kinds
from eks_access import config as core
from tests.conftest import DEV
from tests.strategies import stack_configs

BEFORE = datetime(2026, 12, 20, tzinfo=UTC)
LAST_DAY = datetime(2026, 12, 24, 23, 59, 59, tzinfo=UTC)
AFTER = datetime(2026, 12, 25, tzinfo=UTC)
ALICE = "arn:aws:iam::111122223333:user/alice"


def dev() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(DEV.read_text())["config"])


def team(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in raw["eks-access:teams"] if t["name"] == name)


def _user(raw: dict[str, Any], team_name: str, name: str) -> dict[str, Any]:
    users = team(raw, team_name)["users"]
    i = next(i for i, u in enumerate(users) if (u if isinstance(u, str) else u["name"]) == name)
    if isinstance(users[i], str):
        users[i] = {"name": users[i]}
    return dict(users[i])


def with_user(raw: dict[str, Any], team_name: str, name: str, **fields: Any) -> dict[str, Any]:
    users = team(raw, team_name)["users"]
    entry = {**_user(raw, team_name, name), **fields}
    users[
        next(i for i, u in enumerate(users) if (u if isinstance(u, str) else u["name"]) == name)
    ] = entry
    return raw


# --- reading expires --------------------------------------------------------------------------


def test_a_bare_date_means_through_the_end_of_that_day_utc() -> None:
    assert clock.end_of("2026-12-24") == AFTER
    assert not clock.ended("2026-12-24", LAST_DAY) and clock.ended("2026-12-24", AFTER)


def test_the_last_day_there_is_never_ends() -> None:
    assert not clock.ended("9999-12-31", datetime(9999, 12, 31, 23, 59, tzinfo=UTC))


def test_a_date_time_is_compared_in_utc_and_must_carry_its_zone() -> None:
    assert clock.end_of("2026-12-24T18:00:00+01:00") == datetime(2026, 12, 24, 17, tzinfo=UTC)
    assert clock.end_of("2026-12-24T18:00Z") == datetime(2026, 12, 24, 18, tzinfo=UTC)
    with pytest.raises(ValueError, match="has no zone: add Z for UTC or an offset"):
        clock.end_of("2026-12-24T18:00:00")
    for bad in ("2026-13-01", "2026-02-30", "24/12/2026", "tomorrow", "2026-12-24 18:00Z", "",
                "2026-12-24T18:00:00.Z", "2026-12-24T18:00:00,5Z", "9999-12-31T23:59:59-10:00",
                "0001-01-01T00:00+01:00"):  # fmt: skip
        with pytest.raises(ValueError, match=r"not a real date|is not a date"):
            clock.end_of(bad)


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (lambda raw: with_user(raw, "payments", "alice", expires="2026-12-24T18:00"),
         "teams[1].users[0].expires"),
        (lambda raw: team(raw, "payments").update(expires="next week"), "teams[1].expires"),
    ],
)  # fmt: skip
def test_a_bad_expires_names_its_path_and_the_forms(where: Any, path: str) -> None:
    raw = dev()
    where(raw)
    with pytest.raises(core.ConfigError) as e:
        core.load(raw, at=BEFORE)
    (problem,) = [p for p in e.value.problems if p.path == path]
    assert "Z" in problem.message or "2026-12-24" in problem.message


def test_the_same_user_may_end_at_other_times_in_other_teams() -> None:
    raw = dev()
    with_user(raw, "payments", "alice", expires="2026-12-24")
    team(raw, "auditors")["users"].append(
        {**_user(raw, "payments", "alice"), "expires": "2027-01-31"}
    )
    config = core.load(raw, at=AFTER)  # no "other settings" problem
    assert core.iam_users(config)["alice"][1] == ("auditors",)


# --- what the end does, in the core -----------------------------------------------------------


def test_a_membership_ends_at_its_expires_and_the_user_is_kept_as_ended() -> None:
    raw = with_user(dev(), "payments", "alice", expires="2026-12-24")
    before, after = core.load(raw, at=LAST_DAY), core.load(raw, at=AFTER)
    assert core.iam_users(before)["alice"][1] == ("payments",) and not before.ended_users
    assert core.iam_users(after)["alice"][1] == ()  # kept: its keys go Inactive
    assert [u.name for u in after.ended_users] == ["alice"]
    list_pods = authz.parse_request("list", "pods", "payments")
    assert authz.state_of(before).can(ALICE, list_pods)
    assert authz.state_of(after).resolve(ALICE) is None  # not mapped at all any more
    assert after.teams == tuple(  # nothing else changes
        t.model_copy(update={"users": tuple(u for u in t.users if u.name != "alice")})
        for t in before.teams
    )


def test_a_team_and_an_access_policy_end_for_every_member() -> None:
    from eks_access import access_entries

    raw = dev()
    raw["eks-access:cluster"].update(authenticationMode="API", nodeAccessEntries="create")
    team(raw, "payments")["accessPolicies"] = [
        {"policy": "view", "scope": "cluster", "expires": "2026-12-24"}
    ]
    team(raw, "auditors")["expires"] = "2026-12-24T12:00:00Z"

    def policies(at: datetime) -> set[str]:
        entries = access_entries.entries(core.load(raw, at=at))
        return {g.arn.rsplit("/", 1)[-1] for e in entries for g in e.policies}

    assert "AmazonEKSViewPolicy" in policies(BEFORE) and "AmazonEKSViewPolicy" not in policies(
        AFTER
    )
    before, later = core.load(raw, at=BEFORE), core.load(raw, at=AFTER)
    auditors = next(t for t in later.teams if t.name == "auditors")
    assert not any(getattr(auditors, k.model_field) for k in kinds.TEAM_KINDS)
    was = next(t for t in before.teams if t.name == "auditors")
    assert any(getattr(was, k.model_field) for k in kinds.TEAM_KINDS)
    # the team itself stays: its group, its access, its namespaces
    assert auditors == was.model_copy(update={k.model_field: () for k in kinds.TEAM_KINDS})


def test_when_every_grant_has_ended_the_revocation_is_not_a_lockout() -> None:
    from eks_access import guards

    raw = dev()
    for t in raw["eks-access:teams"]:
        t["expires"] = "2026-12-24"
    ended = core.load(raw, at=AFTER)
    assert ended.ended_memberships > 0 and guards.no_principals(ended) is None
    raw = dev()
    raw["eks-access:teams"] = []  # an empty list is still a mistake to stop on
    assert guards.no_principals(core.load(raw, at=AFTER)) is not None


def test_an_ended_user_of_an_identity_stack_simply_leaves() -> None:
    raw = with_user(dev(), "payments", "alice", expires="2026-12-24")
    raw["eks-access:identity"] = {"mode": "reference", "account": "111122223333",
                                  "stack": "acme/eks-access/identity"}  # fmt: skip
    config = core.load(raw, at=AFTER)
    assert "alice" not in core.iam_users(config) and not config.ended_users


def test_a_user_whose_grants_ended_still_counts_as_the_stacks_in_a_fleet() -> None:
    from eks_access import fleet

    a = core.load(with_user(dev(), "payments", "alice", expires="2026-12-24"), at=AFTER)
    b = core.load(dev(), at=AFTER)
    found = fleet.problems([fleet.FleetStack("Pulumi.a.yaml", "a", a),
                            fleet.FleetStack("Pulumi.b.yaml", "b", b)])  # fmt: skip
    assert any("'alice'" in p for p in found), found


@settings(max_examples=80, deadline=None)
@given(stack_configs(max_teams=4), st.data())
def test_nobody_has_access_after_its_end_at_any_time(raw: dict[str, Any], data: Any) -> None:
    """Every identity the config maps at a time is listed, unexpired then, by some team that
    is itself unexpired then; every access policy it holds, the same."""
    days = st.integers(min_value=0, max_value=30)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    raw = copy.deepcopy(raw)
    for t in raw.get("eks-access:teams", []):
        if data.draw(st.booleans()):
            t["expires"] = (start + timedelta(days=data.draw(days))).date().isoformat()
        for kind in kinds.TEAM_KINDS:
            items = t.get(kind.config_key) or []
            for i, item in enumerate(items):
                if data.draw(st.booleans()):
                    item = {kind.model.shorthand: item} if isinstance(item, str) else dict(item)
                    when = start + timedelta(hours=data.draw(st.integers(0, 24 * 30)))
                    item["expires"] = clock.written(when)
                    items[i] = item
    at = start + timedelta(minutes=data.draw(st.integers(0, 60 * 24 * 31)))
    config = core.load(raw, at=at)
    full = core.load(raw, at=start - timedelta(days=1))
    live_arns = {
        m.arn.match_key
        for t, t_raw in zip(full.teams, raw["eks-access:teams"], strict=True)
        if not clock.ended(t_raw.get("expires"), at)
        for m in kinds.members(t, "", config.context())
        if not clock.ended(m.item.expires, at)
    }
    state = authz.state_of(config)
    for key, ident in state.identities.items():
        if ident.kind == "node":
            continue
        if key in state.people:  # an access: role team's member, by its own IAM user ARN
            assert arns.caller_key(ident.arn) in live_arns, ident
        else:
            assert ident.key in live_arns or ident.key.split("#")[0] in live_arns, ident


# --- what ends when (eks-access expiring) ------------------------------------------------------


def test_expiring_lists_what_ends_soon_and_what_has_ended_soonest_first() -> None:
    from eks_access import expiring

    raw = with_user(dev(), "payments", "alice", expires="2026-12-10")
    team(raw, "auditors")["expires"] = "2026-11-30"
    team(raw, "payments")["accessPolicies"] = [{"policy": "view", "expires": "2026-12-19T09:00Z"}]
    raw["eks-access:cluster"].update(authenticationMode="API", nodeAccessEntries="create")
    team(raw, "seed")["users"] = [{"name": "eks_user", "keys": ["v1"], "expires": "2027-06-01"}]
    config = core.load_as_written(raw)
    at = datetime(2026, 12, 6, tzinfo=UTC)
    found = expiring.endings(config, at, expiring.within_value("14d"))
    assert [(e.path, e.status, clock.written(e.ends)) for e in found] == [
        ("teams[2]", "ended", "2026-12-01T00:00:00Z"),
        ("teams[1].users[0]", "ending", "2026-12-11T00:00:00Z"),
        ("teams[1].accessPolicies[0]", "ending", "2026-12-19T09:00:00Z"),
    ]  # eks_user's June end is beyond 14 days
    assert "user arn:aws:iam::111122223333:user/alice in team payments" in found[1].what
    assert [e.path for e in expiring.endings(config, at, expiring.within_value("2w"))] == [
        e.path for e in found
    ]
    assert expiring.endings(config, at, expiring.within_value("1h"))[0].path == "teams[2]"
    for bad in ("14", "2x", "-1d", "1.5d"):
        with pytest.raises(ValueError, match="hours, days or weeks"):
            expiring.within_value(bad)


def test_expiring_on_the_command_line(tmp_path: Any, invoke: Any) -> None:
    import json

    from tests.conftest import write_stack

    stack = write_stack(tmp_path, with_user(dev(), "payments", "alice", expires="2026-12-10"))
    r = invoke("expiring", "--config-file", str(stack), "--at", "2026-12-06", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["at"], doc["within"]) == ("2026-12-06T00:00:00Z", "14d")
    assert [g["path"] for g in doc["grants"]] == ["teams[1].users[0]"]
    text = invoke("expiring", "--config-file", str(stack), "--at", "2026-12-11").stdout
    assert text.startswith("ended 2026-12-11T00:00:00Z  user arn:aws:iam::111122223333:user/alice")
    assert invoke("expiring", "--config-file", str(stack), "--within", "2x").returncode == 2


# --- the review's ends --------------------------------------------------------------------------


def test_the_review_says_which_ends_a_change_moves_and_which_come_soon():
    from eks_access import changes, comment, expiring

    base_raw = with_user(dev(), "payments", "alice", expires="2026-12-24")
    base_raw = with_user(base_raw, "payments", "bob", expires="2027-03-01", reason="contract")
    head_raw = copy.deepcopy(base_raw)
    with_user(head_raw, "payments", "alice", expires="2027-01-31")  # extended
    with_user(head_raw, "payments", "bob", expires="2026-12-22", reason="contract")  # shortened
    with_user(head_raw, "auditors", "carol", expires="2026-12-19")  # revoked (ended now)
    team(head_raw, "auditors")["users"].append({"name": "eve", "expires": "2026-12-01"})
    team(head_raw, "payments")["users"].append({"name": "dan", "expires": "2026-12-28"})
    base, head = core.load_as_written(base_raw), core.load_as_written(head_raw)
    ends = expiring.end_changes(base, head, BEFORE)
    said = [(e.change, e.what.split(" in ")[0].rsplit("/", 1)[-1], e.before, e.after) for e in ends]
    assert said == [
        ("added already ended", "eve", None, "2026-12-01"),
        ("ended by this change", "carol", None, "2026-12-19"),
        ("shortened", "bob", "2027-03-01", "2026-12-22"),
        ("extended", "alice", "2026-12-24", "2027-01-31"),
        ("ends soon", "bob", None, "2026-12-23T00:00:00Z"),
        ("ends soon", "dan", None, "2026-12-29T00:00:00Z"),
    ]
    doc = changes.review_document(
        core.in_effect(base, BEFORE), core.in_effect(head, BEFORE), ends=ends
    )
    assert doc.warnings[0].startswith(
        f"user {ALICE.replace('alice', 'eve')} in team auditors is added with expires "
        "2026-12-01, which has passed"
    )
    assert doc.to_json()["ends"][2] == {
        "change": "shortened", "what": f"user {ALICE.replace('alice', 'bob')} in team payments",
        "path": "teams[1].users[1]", "before": "2027-03-01", "after": "2026-12-22",
        "reason": "contract",
    }  # fmt: skip
    md = comment.markdown([("dev", doc)])
    assert (
        "> :hourglass: user arn:aws:iam::111122223333:user/alice in team payments: extended, " in md
    )
    assert md.count(":hourglass:") == 5  # the already-ended one is a warning instead
    assert "carol in team auditors: ended at 2026-12-19 by this change (a revoke)" in md
    assert not any("carol" in w for w in doc.warnings)
    # Moving no end says nothing; a permanent grant made temporary is a shortening.
    assert expiring.end_changes(base, base, datetime(2026, 1, 1, tzinfo=UTC)) == []


def test_ends_beyond_five_fold_into_a_list():
    from eks_access import changes, comment, expiring

    raw = dev()
    team(raw, "payments")["users"] += [{"name": f"u{i}", "expires": "2026-12-21"} for i in range(7)]
    head = core.load_as_written(raw)
    base = core.load_as_written(dev())
    ends = expiring.end_changes(base, head, BEFORE)
    assert [e.change for e in ends] == ["ends soon"] * 7
    doc = changes.review_document(
        core.in_effect(base, BEFORE), core.in_effect(head, BEFORE), ends=ends
    )
    md = comment.markdown([("dev", doc)])
    assert md.count(":hourglass:") == 5
    assert "Every end this change moves or that comes within 14 days (7)" in md
