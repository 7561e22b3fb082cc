"""Lockout safety, on the real program under mocks: node roles are always mapped, removing a
team takes away only that team's principals, and the aws-auth patch is never replaced or
deleted by any config change."""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eks_access import arns, awsauth, stackfile
from eks_access import config as core
from eks_access.principals import principals
from offline.run import RunResult, run
from tests.conftest import write_stack
from tests.strategies import stack_configs

PATCH = "kubernetes:core/v1:ConfigMapPatch"
SETTINGS = settings(
    max_examples=int(os.environ.get("LOCKOUT_EXAMPLES", "25")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def plan(raw: dict[str, Any], stack: str = "lock") -> RunResult:
    folder = Path(tempfile.mkdtemp(prefix="eks-access-lockout-"))
    # Generated configs may map nobody but the nodes: these properties hold for them too.
    raw = {**raw, "eks-access:acknowledgeLockout": True}
    return run(stackfile.read(write_stack(folder, raw, stack)))


def mapped(result: RunResult) -> dict[str, awsauth.AuthMapping]:
    (patch,) = result.of_type(PATCH)
    parsed = awsauth.parse(patch.inputs["data"])
    assert not parsed.dropped and not parsed.shadowed
    return parsed.mappings


@st.composite
def configs_in_any_mode(draw: st.DrawFn) -> dict[str, Any]:
    raw = draw(stack_configs(max_teams=4))
    mode = draw(st.sampled_from(["CONFIG_MAP", "API_AND_CONFIG_MAP"]))
    raw["eks-access:cluster"]["authenticationMode"] = mode
    if mode != "CONFIG_MAP":
        raw["eks-access:cluster"]["nodeAccessEntries"] = draw(
            st.sampled_from(["create", "eks-managed"])
        )
    return raw


@SETTINGS
@given(configs_in_any_mode())
def test_every_accepted_config_maps_every_node_role(raw):
    config = core.load(raw)
    mappings = mapped(plan(raw))
    for arn in config.cluster.node_role_arns:
        node = mappings[arns.parse_iam_arn(arn).aws_auth_arn.lower()]
        assert {"system:bootstrappers", "system:nodes"} <= set(node.groups)
        assert node.username == "system:node:{{EC2PrivateDNSName}}"


@SETTINGS
@given(configs_in_any_mode(), st.data())
def test_removing_a_team_removes_only_principals_no_other_team_lists(raw, data):
    teams = raw["eks-access:teams"]
    if not teams:
        return
    gone = data.draw(st.integers(0, len(teams) - 1))
    after_raw = copy.deepcopy(raw)
    removed_team = after_raw["eks-access:teams"].pop(gone)
    before, after = plan(raw), plan(after_raw)
    m_before, m_after = mapped(before), mapped(after)

    def mapped_alone(team: dict[str, Any]) -> list[Any]:
        """The team's principals as the config maps them, every kind (users made here, existing
        users, roles, permission sets by name; an ``access: role`` team's role), nodes aside."""
        alone = core.load({**raw, "eks-access:teams": [team]})
        return [p for p in principals(alone) if not p.is_node]

    def arn_keys(team: dict[str, Any]) -> set[str]:
        return {p.arn.aws_auth_arn.lower() for p in mapped_alone(team)}

    still_listed = set().union(*(arn_keys(t) for t in after_raw["eks-access:teams"]))
    lost = set(m_before) - set(m_after)
    assert lost == arn_keys(removed_team) - still_listed
    assert set(m_after) <= set(m_before)
    group = removed_team.get("group", f"eks-access:{removed_team['name']}")
    for key in m_after:  # everyone else keeps the same username, minus only that team's group
        assert m_after[key].username == m_before[key].username
        assert set(m_after[key].groups) == set(m_before[key].groups) - {group}

    # Resources: only the removed team's own and its now team-less users' go away.
    gone_urns = {r.urn for r in before.resources} - {r.urn for r in after.resources}
    team_name = removed_team["name"]
    # the IAM users no team lists any more (mapped or, in an access: role team, not)
    lost_users = {n.lower() for n in core.iam_users(core.load(raw))} - {
        n.lower() for n in core.iam_users(core.load(after_raw))
    }
    lost_entries = {  # access entries are keyed by each kind's own stable key
        f"access-entries-{p.entry_key}".lower()
        for p in mapped_alone(removed_team)
        if p.arn.aws_auth_arn.lower() in lost
    }
    owners = {team_name, *lost_users, *lost_entries}
    if not after.of_type("aws:eks/accessEntry:AccessEntry"):
        owners.add("access-entries")  # the now empty component goes too
    for urn in gone_urns:  # mapping keys are lower case, so compare names that way
        name = urn.rsplit("::", 1)[-1].lower()
        assert any(name == o or name.startswith(f"{o}-") for o in owners), urn


@SETTINGS
@given(configs_in_any_mode(), configs_in_any_mode())
def test_the_aws_auth_patch_survives_any_config_change(first, second):
    """Between any two accepted configs, the patch keeps its URN, provider and options, so
    Pulumi can only update it in place: never replace, never delete."""
    a, b = plan(first), plan(second)
    (pa,), (pb,) = a.of_type(PATCH), b.of_type(PATCH)
    assert pa.urn == pb.urn and pa.parent == pb.parent
    assert pa.options["provider"] == pb.options["provider"]
    assert pa.inputs["metadata"]["name"] == pb.inputs["metadata"]["name"] == "aws-auth"
    assert pa.inputs["metadata"]["namespace"] == "kube-system"
    for options in (pa.options, pb.options):
        assert options["retainOnDelete"] is True
        assert options["replaceOnChanges"] == [] and options["deleteBeforeReplace"] is False
        assert options["replacementTrigger"] is None
    # The provider it is applied through is never replaced by a config edit either.
    (prov_a,) = a.of_type("pulumi:providers:kubernetes")
    (prov_b,) = b.of_type("pulumi:providers:kubernetes")
    assert prov_a.urn == prov_b.urn and prov_a.inputs == prov_b.inputs
