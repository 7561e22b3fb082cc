"""`eks-access grant`, `revoke` and `expiring --remove-ended` on a copy of the example project:
the file as written afterwards, the bound of the stack's policy, and what is refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eks_access import clock, stackfile
from eks_access import config as core
from tests.conftest import ROOT


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.identity.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "esc", tmp_path / "esc")
    return tmp_path


def members(path: Path, team: str, at: str) -> set[str]:
    config = stackfile.read(path).load_as_written()
    live = core.in_effect(config, clock.at_value(at))
    return {u.name for t in live.teams if t.name == team for u in t.users}


def test_grant_writes_the_entry_prints_the_steps_and_the_access_ends(invoke, project):
    dev = project / "Pulumi.dev.yaml"
    r = invoke("grant", "--stack", "dev", "--team", "payments", "--user", "zoe", "--for", "4h",
               "--reason", "INC-1234", "--at", "2026-12-06T10:00:00Z", cwd=project)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "+        - {name: zoe, expires: '2026-12-06T14:00:00Z', reason: INC-1234}" in r.stdout
    assert "git switch -c grant/payments-zoe-202612061000" in r.stdout
    assert "gh pr create" in r.stdout
    assert "eks-access plan --config-file Pulumi.dev.yaml" in r.stdout
    assert "zoe" in members(dev, "payments", "2026-12-06T13:59:59Z")
    assert "zoe" not in members(dev, "payments", "2026-12-06T14:00:00Z")
    # The plan at the end's time warns of the dead line and the program leaves it out.
    r = invoke("plan", "--config-file", str(dev), "--out", str(project / "o"),
               "--at", "2026-12-06T15:00:00Z", cwd=project)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "teams[1].users[2]: user arn:aws:iam::111122223333:user/zoe in team payments ended" in (
        r.stderr
    )
    plan = json.loads((project / "o" / "plan.json").read_text())
    zoe = sorted(
        r["type"].rsplit(":", 1)[-1] for r in plan["resources"] if r["name"].startswith("zoe-")
    )
    # kept (a user the stack created), with no team group and no mapping: the end carried out
    assert zoe == ["User"], zoe
    assert "zoe" not in (project / "o" / "aws-auth.yaml").read_text()


def test_dry_run_writes_nothing_and_a_bad_edit_is_refused(invoke, project):
    dev = project / "Pulumi.dev.yaml"
    before = dev.read_text()
    r = invoke("grant", "--stack", "dev", "--team", "payments", "--user", "zoe", "--for", "4h",
               "--reason", "x", "--dry-run", cwd=project)  # fmt: skip
    assert r.returncode == 0 and "+        - {name: zoe" in r.stdout
    assert dev.read_text() == before
    for args, said in (
        (["--user", "Zoe!"], "not an IAM user name"),
        (["--user", "alice"], "already, with no end"),
        (["--user", "zoe", "--team", "nope"], "no team 'nope'"),
    ):
        team = [] if "--team" in args else ["--team", "payments"]
        r = invoke("grant", "--stack", "dev", *team, *args, "--for", "4h", "--reason", "x",
                   cwd=project)  # fmt: skip
        assert r.returncode == 2 and said in r.stderr, (args, r.stderr)
        assert dev.read_text() == before
    r = invoke("grant", "--stack", "dev", "--team", "payments", "--user", "zoe",
               "--until", "2026-12-01", "--reason", "x", "--at", "2026-12-06", cwd=project)  # fmt: skip
    assert r.returncode == 2 and "has passed" in r.stderr
    r = invoke("grant", "--stack", "dev", "--team", "payments", "--user", "zoe",
               "--until", "2026-12-24T10:00", "--reason", "x", cwd=project)  # fmt: skip
    assert r.returncode == 2 and "no zone" in r.stderr
    r = invoke("grant", "--stack", "identity", "--team", "payments", "--user", "zoe",
               "--for", "1h", "--reason", "x", cwd=project)  # fmt: skip
    assert r.returncode == 2 and "identity stack" in r.stderr


def test_the_stacks_policy_bounds_admin_grants(invoke, project):
    dev = project / "Pulumi.dev.yaml"
    before = dev.read_text()
    (project / "policy").mkdir()
    (project / "policy" / "config.dev.json").write_text(
        json.dumps({"admin-grants-end": {"enforcementLevel": "mandatory", "maxDays": 1}})
    )
    args = ["grant", "--stack", "dev", "--team", "platform", "--user", "zoe", "--reason", "INC-5"]
    r = invoke(*args, "--for", "2d", cwd=project)
    assert r.returncode == 3
    assert "bounds such grants to 1 days" in r.stderr and "nothing was written" in r.stderr
    assert dev.read_text() == before
    assert invoke(*args, "--for", "20h", cwd=project).returncode == 0
    # Payments is not an admin-level team: the bound does not apply.
    r = invoke("grant", "--stack", "dev", "--team", "payments", "--user", "yan", "--for", "3w",
               "--reason", "contract", cwd=project)  # fmt: skip
    assert r.returncode == 0, r.stderr
    # Disabled (the pack's default): no bound.
    (project / "policy" / "config.dev.json").write_text("{}")
    r = invoke(*[a if a != "zoe" else "xi" for a in args], "--for", "2w", cwd=project)
    assert r.returncode == 0, r.stderr


def test_revoke_and_remove_ended_in_an_esc_stack(invoke, project):
    prod = project / "Pulumi.prod.yaml"
    r = invoke("grant", "--stack", "prod", "--team", "data", "--user", "bob", "--for", "3d",
               "--reason", "INC-9", "--at", "2026-12-06T10:00:00Z", cwd=project)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "teamOverrides.data.addMembers.users[0]" in r.stdout
    r = invoke("revoke", "--stack", str(prod), "--team", "data", "--user", "bob", "--reason",
               "done", "--at", "2026-12-07T10:00:00Z", cwd=project)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "reason: 'INC-9; revoked: done'" in prod.read_text()
    r = invoke("revoke", "--stack", "prod", "--team", "payments", "--user", "carol", cwd=project)
    assert r.returncode == 2 and "carol is not in team payments in Pulumi.prod.yaml's config" in (
        r.stderr
    )
    # dana comes from the ESC environment: ended in this stack alone, through addMembers
    r = invoke("revoke", "--stack", "prod", "--team", "data", "--user", "dana", "--at",
               "2026-12-07T10:00:00Z", cwd=project)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "dana" not in members(prod, "data", "2026-12-07T10:00:01Z")
    assert "dana" in members(prod, "data", "2026-12-07T09:59:59Z")
    r = invoke("expiring", "--config-file", str(prod), "--remove-ended", "--at", "2026-12-08",
               cwd=project)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "removed config.eks-access:teamOverrides.data.addMembers.users[0]" in r.stdout
    # dana's line ends a member of the shared team in this stack: removing it would grant her
    # the shared entry again, so it stays (and dana stays without access)
    assert "kept config.eks-access:teamOverrides.data.addMembers.users[1]" in r.stderr
    assert "{name: dana, expires: '2026-12-07T10:00:00Z'}" in prod.read_text()
    assert "dana" not in members(prod, "data", "2026-12-08")
    assert prod.read_text().count("bob") == prod.read_text().count("bob (an intern)")
    r = invoke("expiring", "--config-file", str(prod), "--remove-ended", cwd=project)
    assert r.returncode == 0 and "no ended lines to remove" in r.stdout


def test_remove_ended_edits_the_teams_file_and_dry_run_writes_nothing(invoke, project):
    shared = project / "teams.yaml"
    shared.write_text(
        "# shared teams\nteams:\n  - name: ops\n    clusterAccess: view\n    users:\n"
        "      - ann  # permanent\n      - {name: ben, expires: 2026-12-01}\n"
    )
    stack = project / "Pulumi.t.yaml"
    stack.write_text(
        "config:\n  aws:region: us-east-1\n  eks-access:cluster:\n    name: t\n"
        "    nodeRoleArns: [arn:aws:iam::111122223333:role/n]\n"
        "  eks-access:teamsFile: teams.yaml\n"
    )
    r = invoke("expiring", "--config-file", str(stack), "--remove-ended", "--dry-run", "--include-teams-files",
               "--at", "2026-12-06", cwd=project)  # fmt: skip
    assert r.returncode == 0 and "-      - {name: ben, expires: 2026-12-01}" in r.stdout
    assert "ben" in shared.read_text()
    r = invoke("expiring", "--config-file", str(stack), "--remove-ended", "--include-teams-files", "--at", "2026-12-06",
               cwd=project)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert shared.read_text() == (
        "# shared teams\nteams:\n  - name: ops\n    clusterAccess: view\n    users:\n"
        "      - ann  # permanent\n"
    )


def test_someone_with_access_already_gets_the_grant_with_their_settings(invoke, project):
    """The on-call engineer with everyday access (alice: payments, with her key generation)
    gets platform's cluster-admin for the incident: the entry carries her settings."""
    dev = project / "Pulumi.dev.yaml"
    r = invoke("grant", "--stack", "dev", "--team", "platform", "--user", "alice", "--for", "4h",
               "--reason", "INC-7", "--at", "2026-12-06T10:00:00Z", cwd=project)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "+        - {name: alice, keys: [2026-11], expires: '2026-12-06T14:00:00Z'" in r.stdout
    sso = ("arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/us-east-1/"
           "AWSReservedSSO_PaymentsDev_0123456789abcdef")  # fmt: skip
    r = invoke("grant", "--stack", "dev", "--team", "platform", "--role", sso, "--for", "4h",
               "--reason", "INC-7", cwd=project)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "username: payments-sso:{{SessionName}}" in dev.read_text().split("platform")[-1]


def test_the_bound_and_what_yaml_shares(invoke, project):
    """An anchored list would carry a grant into another team unseen: refused."""
    stack = project / "Pulumi.t.yaml"
    stack.write_text(
        "config:\n  aws:region: us-east-1\n  eks-access:cluster:\n    name: t\n"
        "    nodeRoleArns: [arn:aws:iam::111122223333:role/n]\n  eks-access:teams:\n"
        "    - name: viewers\n      clusterAccess: view\n      users: &people\n        - ann\n"
        "    - name: platform\n      clusterAccess: cluster-admin\n      users: *people\n"
    )
    r = invoke("grant", "--stack", str(stack), "--team", "viewers", "--user", "zed", "--for",
               "1h", "--reason", "x", cwd=project)  # fmt: skip
    assert r.returncode == 2 and "anchored (&people)" in r.stderr
    # An advisory bound warns; a mandatory one stops.
    (project / "policy").mkdir()
    rule = project / "policy" / "config.dev.json"
    rule.write_text(
        json.dumps({"admin-grants-end": {"enforcementLevel": "advisory", "maxDays": 1}})
    )
    args = ["grant", "--stack", "dev", "--team", "platform", "--user", "zed", "--reason", "x"]
    r = invoke(*args, "--for", "2d", "--dry-run", cwd=project)
    assert r.returncode == 0 and "warning: team platform grants cluster-admin" in r.stderr


def test_a_crlf_file_stays_crlf_and_changes_by_one_line(invoke, project):
    stack = project / "Pulumi.crlf.yaml"
    text = ("config:\n  aws:region: us-east-1\n  eks-access:cluster:\n    name: t\n"
            "    nodeRoleArns: [arn:aws:iam::111122223333:role/n]\n  eks-access:teams:\n"
            "    - name: ops\n      clusterAccess: view\n      users:\n        - ann\n")  # fmt: skip
    stack.write_bytes(text.replace("\n", "\r\n").encode())
    r = invoke("grant", "--stack", str(stack), "--team", "ops", "--user", "ben", "--until",
               "2026-12-24", "--reason", "x", "--at", "2026-12-06", cwd=project)  # fmt: skip
    assert r.returncode == 0, r.stderr
    after = stack.read_bytes()
    assert after.count(b"\r\n") == after.count(b"\n") == text.count("\n") + 1
    assert after.endswith(b"        - {name: ben, expires: '2026-12-24', reason: x}\r\n")
