"""Keeps `make bench` working (tiny sizes, no timing asserted) and holds its non-timing
targets: what one principal costs per mode, and that one edit changes one thing."""

from __future__ import annotations

import json

import pytest

from bench import run as bench

# `make test-full` (CI runs it): the quick bench takes half a minute of `make test`'s three.
# One worker runs it once for all of these (each worker would run it again).
pytestmark = [pytest.mark.full, pytest.mark.xdist_group(name="bench")]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    assert bench.main(["--quick", "--out", str(out)]) == 0
    return json.loads((out / "latest.json").read_text()), (out / "latest.md").read_text()


def test_the_quick_bench_writes_every_table(quick):
    results, text = quick
    assert [r["principals"] for r in results["program_cost"]] == list(bench.QUICK_SIZES)
    assert all(r["ours_s"] > 0 and r["baseline_s"] > 0 for r in results["program_cost"])
    # The baseline registers exactly as many resources as ours (the same list, replayed).
    assert all(r["resources"] > r["principals"] for r in results["program_cost"])
    assert all(r["baseline_resources"] == r["resources"] for r in results["program_cost"])
    # The structured baseline replays our components too: the same shape, none of our code.
    assert all(r["structured_components"] == r["components"] for r in results["program_cost"])
    assert "ours/baseline" in text and "ours/structured" in text and "aws-auth lines" in text
    assert results["interrupt"]["exit_codes"] == [130]  # Ctrl-C's time is measured, not asserted


def test_an_iam_user_costs_three_aws_resources_plus_one_entry_and_a_role_no_iam(quick):
    results, _ = quick
    for r in results["per_principal"]:
        entry = 0 if r["mode"] == "CONFIG_MAP" else 1
        assert r["access_entries_added"] == entry
        if r["principal"] == "IAM user":
            assert r["iam_added"] == 3  # user, group membership, key
            assert r["aws_added"] == 3 + entry
        else:
            assert r["iam_added"] == 0 and r["aws_added"] == entry
        assert r["kubernetes_added"] == 0
        # Besides the new resources, at most the aws-auth patch changes (never in API mode).
        assert r["changed"] == ([] if r["mode"] == "API" else ["aws-auth-patch"])


def test_one_edit_changes_only_what_it_names(quick):
    results, _ = quick
    for r in results["diff_locality"]:
        assert r["other_changed"] == [] and r["shared_replaced"] == [], r
        if r["edit"] in ("no edit", "reorder teams and users (rename nothing)"):
            assert not (r["added"] or r["removed"] or r["changed"]), r
        if r["edit"] in ("add one user", "remove one user in the middle"):
            n = len(r["added"] or r["removed"])
            assert n == (3 if r["mode"] == "CONFIG_MAP" else 4), r
            # One mapping of four lines (arn, username, groups:, - group), in CONFIG_MAP only.
            assert r["aws_auth_lines_changed"] == (4 if r["mode"] == "CONFIG_MAP" else 0)


def test_aws_auth_size_limits_agree_with_the_renderer(quick):
    size = quick[0]["aws_auth_size"]
    assert size["checked_against_renderer"] is True
    assert size["warn_principals"] < size["limit_principals"]
