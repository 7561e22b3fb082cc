"""The guards' decisions in the core (``guards.plan_stops``), on registrations written here: the
command line only reads the plans and prints what this returns (tests/program/test_lifecycle.py runs
the same stops through ``plan --base-out`` and ``review``)."""

from __future__ import annotations

from typing import Any

from eks_access import guards
from eks_access.operations import Operation, Registration, compute, make_urn

ACCOUNT = "111122223333"
CLUSTER = f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/dev"
OTHER = f"arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/dev-2"


def reg(type_: str, name: str, inputs: dict[str, Any], **options: Any) -> Registration:
    urn = make_urn("dev", "eks-access", None, type_, name)
    return Registration(urn, type_, name, "", True, inputs, options)


def user(name: str, **options: Any) -> Registration:
    return reg(guards.IAM_USER, f"{name}-user", {"name": name}, **options)


def provider(cluster: str) -> Registration:
    return reg(guards.K8S_PROVIDER, "k8s", {"clusterIdentifier": f"{cluster}@2026-01-01T00:00Z"})


def arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def stops(
    before: list[Registration],
    after: list[Registration],
    mapped_before: set[str],
    mapped_after: set[str],
    **kw: Any,
) -> list[str]:
    ops = compute(before, after)
    return guards.plan_stops(
        guards.PlanFacts(before, mapped_before), guards.PlanFacts(after, mapped_after), ops, **kw
    )


def test_deleting_a_user_the_new_config_still_maps_stops_unless_acknowledged() -> None:
    before = [provider(CLUSTER), user("alice"), user("bob")]
    after = [provider(CLUSTER)]  # the users went to an identity stack without a handover
    mapped = {arn("alice"), arn("bob")}
    (stop,) = stops(before, after, mapped, mapped)
    assert "deletes IAM users alice, bob" in stop
    assert stops(before, after, mapped, mapped, acknowledged=True) == []
    # retained (a handover): the users leave the state and stay in AWS, nothing stops
    kept = [provider(CLUSTER), user("alice", retainOnDelete=True), user("bob", retainOnDelete=True)]
    assert stops(kept, after, mapped, mapped) == []
    # no longer mapped either: an ordinary removal of two of four
    four = mapped | {arn("carol"), arn("dave")}
    assert stops(before, after, four, four - mapped) == []


def test_unmapping_more_than_half_stops_and_half_does_not() -> None:
    same = [provider(CLUSTER)]
    six = {arn(n) for n in "abcdef"}
    (stop,) = stops(same, same, six, {arn("a"), arn("b")})
    assert "stops mapping 4 of the 6 principals" in stop
    assert stops(same, same, six, {arn("a"), arn("b"), arn("c")}) == []
    assert stops(same, same, six, set(), acknowledged=True) == []


def test_another_cluster_stops_unless_that_cluster_is_acknowledged() -> None:
    ns = reg("kubernetes:core/v1:Namespace", "ns-a", {"metadata": {"name": "a"}})
    before = [provider(CLUSTER), ns]
    after = [provider(OTHER), ns]
    ops = [Operation(r.urn, r.type, r.name, "same") for r in after]
    replaced = [Operation(after[0].urn, guards.K8S_PROVIDER, "k8s", "replace"), ops[1]]
    facts = guards.PlanFacts(before, set()), guards.PlanFacts(after, set())
    (stop,) = guards.plan_stops(*facts, replaced)
    assert f"another cluster ({OTHER})" in stop
    assert guards.plan_stops(*facts, replaced, cluster_acknowledged=OTHER) == []
    assert guards.plan_stops(*facts, replaced, cluster_acknowledged=CLUSTER) != []
    assert guards.plan_stops(*facts, ops) == []  # the same cluster: the provider stays


def test_names_compare_lower_cased_and_roles_are_not_users() -> None:
    """IAM user names are case-insensitive: a user the config maps as Alice is the user alice
    the plan deletes; a role of the same name still mapped does not hold the user back."""
    before = [provider(CLUSTER), user("Alice")]
    after = [provider(CLUSTER)]
    (stop,) = stops(before, after, {arn("alice")}, {arn("alice")})
    assert "deletes IAM users alice" in stop
    role = f"arn:aws:iam::{ACCOUNT}:role/alice"
    assert stops(before, after, {arn("alice"), role}, {role}) == []


def test_acknowledging_a_lockout_does_not_acknowledge_another_cluster() -> None:
    ns = reg("kubernetes:core/v1:Namespace", "ns-a", {"metadata": {"name": "a"}})
    before, after = [provider(CLUSTER), ns], [provider(OTHER), ns]
    replaced = [Operation(after[0].urn, guards.K8S_PROVIDER, "k8s", "replace")]
    facts = guards.PlanFacts(before, set()), guards.PlanFacts(after, set())
    assert guards.plan_stops(*facts, replaced, acknowledged=True) != []
