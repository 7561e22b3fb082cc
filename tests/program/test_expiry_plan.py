"""What the end of a grant does to the plan (issue 28, first part): the real program under the
mock runtime at two fixed times, and the operations `pulumi up` would run between them
(``eks_access.operations``, the lifecycle model checked against the providers' facts)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eks_access import clock, operations
from tests.everyday import KEY, MEMBERS, PATCH, dev, team
from tests.program.test_lifecycle import plan_raw

LAST_DAY = datetime(2026, 12, 24, 23, 59, tzinfo=UTC)
AFTER = datetime(2026, 12, 25, tzinfo=UTC)


def alice_until(day: str) -> dict[str, Any]:
    raw = dev()
    users = team(raw, "payments")["users"]
    users[0] = {**users[0], "expires": day}  # {name: alice, keys: [2026-11]}
    return raw


def ops_between(raw_a: dict[str, Any], at_a: datetime, raw_b: dict[str, Any], at_b: datetime):
    with clock.fixed(at_a):
        a = plan_raw(raw_a)
    with clock.fixed(at_b):
        b = plan_raw(raw_b)
    return {(o.type, o.name): o for o in operations.compute(a.resources, b.resources)
            if o.op != "same"}  # fmt: skip


def test_the_end_removes_the_membership_and_the_mapping_and_deactivates_the_keys() -> None:
    raw = alice_until("2026-12-24")
    ops = ops_between(raw, LAST_DAY, raw, AFTER)  # the same file, a day later
    assert {k: o.op for k, o in ops.items()} == {
        (MEMBERS, "alice-groups"): "delete",
        (KEY, "alice-key-2026-11"): "update",
        (PATCH, "aws-auth-patch"): "update",
    }
    assert ops[(KEY, "alice-key-2026-11")].diffs == ("status",)  # in place: nothing re-created
    assert not ops[(MEMBERS, "alice-groups")].retained


def test_extending_expires_restores_exactly_what_the_end_took() -> None:
    ended = alice_until("2026-12-24")
    extended = alice_until("2027-01-31")
    ops = ops_between(ended, AFTER, extended, AFTER)
    assert {k: o.op for k, o in ops.items()} == {
        (MEMBERS, "alice-groups"): "create",
        (KEY, "alice-key-2026-11"): "update",
        (PATCH, "aws-auth-patch"): "update",
    }
    # and back where it started: the plan at the end's eve equals the extended one
    assert ops_between(ended, LAST_DAY, extended, AFTER) == {}


def test_nothing_else_changes_when_a_team_ends() -> None:
    raw = dev()
    team(raw, "auditors")["expires"] = "2026-12-24"
    ops = ops_between(raw, LAST_DAY, raw, AFTER)
    # auditors lists carol (no key): her membership and her mapping go; no group, role,
    # binding or namespace of the team changes
    assert {k: o.op for k, o in ops.items()} == {
        (MEMBERS, "carol-groups"): "delete",
        (PATCH, "aws-auth-patch"): "update",
    }


def test_plan_and_can_i_say_which_time_they_used(tmp_path: Path, invoke: Any) -> None:
    from tests.conftest import write_stack

    stack = write_stack(tmp_path, alice_until("2026-12-24"), "dev")
    argv = ["can-i", "list", "pods", "-n", "payments", "--as",
            "arn:aws:iam::111122223333:user/alice", "--config-file", str(stack)]  # fmt: skip
    before = invoke(*argv, "--at", "2026-12-24T23:59:00Z")
    assert (before.returncode, before.stdout) == (0, "yes\n")
    assert "at 2026-12-24T23:59:00Z" in before.stderr
    after = invoke(*argv, "--at", "2026-12-25", "--format", "json")
    assert after.returncode == 1 and json.loads(after.stdout)["at"] == "2026-12-25T00:00:00Z"
    plan = invoke("plan", "--config-file", str(stack), "--out", str(tmp_path / "out"),
                  "--at", "2026-12-25T00:00:00+00:00")  # fmt: skip
    assert plan.returncode == 0 and "as of 2026-12-25T00:00:00Z" in plan.stdout
    bad = invoke(*argv, "--at", "2026-12-25T00:00")
    assert bad.returncode == 2 and "has no zone" in bad.stderr


def test_the_base_is_planned_at_the_same_time_as_the_head(tmp_path: Path, invoke: Any) -> None:
    """A base tree with its own program plans in a child process: it gets the command's --at,
    so a grant ended by then is ended on both sides and the plan shows no change."""
    import subprocess

    import yaml

    from tests.program.test_lifecycle import _commit, _project

    repo = tmp_path / "repo"
    _project(repo, True)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    stack = repo / "Pulumi.dev.yaml"
    # already ended in real time, not yet at --at: a base planned at any other time differs
    stack.write_text(yaml.safe_dump({"config": alice_until("2026-01-01")}))
    _commit(repo, "alice until New Year's Day")
    out = tmp_path / "out"
    r = invoke("plan", "--config-file", str(stack), "--out", str(out), "--base", "HEAD",
               "--at", "2025-12-31T12:00:00Z", cwd=repo)  # fmt: skip
    assert r.returncode == 0, r.stderr
    ops = json.loads((out / "operations.json").read_text())["operations"]
    assert [o for o in ops if o["op"] != "same"] == []
    # --base-at: the base as it granted earlier (the scheduled run: at the commit's time), so
    # the ends since then are the operations, behind the same guards.
    r = invoke("plan", "--config-file", str(stack), "--out", str(out), "--base", "HEAD",
               "--base-at", "2025-12-31T12:00:00Z", "--at", "2026-01-02", cwd=repo)  # fmt: skip
    assert r.returncode == 0, r.stderr
    ops = json.loads((out / "operations.json").read_text())["operations"]
    changed = sorted((o["op"], o["urn"].rsplit("::", 1)[-1]) for o in ops if o["op"] != "same")
    assert changed == [
        ("delete", "alice-groups"),
        ("update", "alice-key-2026-11"),
        ("update", "aws-auth-patch"),
    ]
    bad = invoke("plan", "--config-file", str(stack), "--out", str(out),
                 "--base-at", "2026-01-01", cwd=repo)  # fmt: skip
    assert bad.returncode == 2 and "--base-at needs --base" in bad.stderr
    # The stacks the scheduled run applies: those with an ended grant at --at.
    assert invoke("stacks", "--ended", "--project", str(repo), "--at", "2025-12-31",
                  cwd=repo).stdout.strip() == "[]"  # fmt: skip
    assert invoke("stacks", "--ended", "--project", str(repo), "--at", "2026-01-02",
                  cwd=repo).stdout.strip() == '["dev"]'  # fmt: skip
