"""What `pulumi up` would do: the lifecycle model, the everyday-change table, the lockout guard,
duplicate URNs and deterministic plan files.

The mock runtime never diffs, so these tests plan two configs with the real program and apply
the engine's rules (``eks_access.lifecycle``, ``eks_access.operations``) to the pair; the same
rows run through the real engine in ``make e2e-engine``.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from eks_access import lifecycle, operations, stackfile
from offline.run import RunResult, run
from tests import everyday
from tests.conftest import DEV, ROOT, cli, minimal_raw, write_stack


def plan_raw(raw: dict[str, Any], stacks: dict[str, Any] | None = None) -> RunResult:
    folder = Path(tempfile.mkdtemp(prefix="eks-access-lifecycle-"))
    for name, other in (stacks or {}).items():
        write_stack(folder, other, name)
    return run(stackfile.read(write_stack(folder, raw, "dev")))


def ops_between(base: RunResult, head: RunResult) -> list[operations.Operation]:
    return compute(base.resources, head.resources)


def compute(old: list[Any], new: list[Any]) -> list[operations.Operation]:
    """``operations.compute`` of registrations written here as plan.json's dicts."""

    def typed(rs: list[Any]) -> list[operations.Registration]:
        reg = operations.Registration.from_json
        return [r if isinstance(r, operations.Registration) else reg(r) for r in rs]

    return operations.compute(typed(old), typed(new))


# --- the everyday-change table ------------------------------------------------------------------


@pytest.mark.xdist_group(name="everyday")  # shares the plans with tests/cli/test_comment.py
@pytest.mark.parametrize("row", everyday.ROWS, ids=[r.title for r in everyday.ROWS])
def test_everyday_change(row: everyday.Row) -> None:
    base, head = everyday.planned(row.title)
    ops = ops_between(base, head)
    assert {(o.type, o.name): o.op for o in ops if o.op != "same"} == row.expect
    retained = {(o.type, o.name) for o in ops if o.op == "delete" and o.retained}
    assert retained == everyday.RETAINED.get(row.title, set())
    for o in ops:
        if o.op != "replace":
            continue
        # Associations are upserts: create-then-delete would leave none. A group policy's name
        # is set by the program, so the bridge deletes the old one first (it would collide).
        # Everything else that is replaced here gets a new name, so the old one can go last.
        first = (everyday.ASSOC, everyday.GROUP_POLICY)
        assert o.delete_before_replace == (o.type in first), o.urn


def test_the_docs_table_is_the_tested_table() -> None:
    assert everyday.markdown() in (ROOT / "docs" / "lifecycle.md").read_text()


def test_every_registered_type_has_a_lifecycle_row() -> None:
    seen: set[tuple[str, bool]] = set()
    for mode in ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API"):
        raw = everyday.in_mode(mode, policies=mode != "CONFIG_MAP")(everyday.dev())
        seen |= {(r.type, r.custom) for r in plan_raw(raw).resources}
    created = everyday.dev()
    created["eks-access:cluster"]["create"] = {"nodeCount": 1}
    seen |= {(r.type, r.custom) for r in plan_raw(created).resources}
    assert ("eks:index:Cluster", False) in seen
    for type_, custom in seen:
        rule = lifecycle.rule(type_, custom)
        assert rule.source, type_
    with pytest.raises(lifecycle.UnknownTypeError, match="no row"):
        lifecycle.rule("aws:s3/bucket:Bucket", custom=True)


# --- the engine's rules, on hand-made registrations ----------------------------------------------

STACK = "urn:pulumi:dev::eks-access::"


def reg(
    type_: str,
    name: str,
    inputs: dict[str, Any] | None = None,
    parent: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    urn = operations.make_urn("dev", "eks-access", parent, type_, name)
    return {
        "urn": urn,
        "type": type_,
        "name": name,
        "parent": parent,
        "custom": not type_.startswith("eks-access:"),
        "inputs": inputs or {},
        "options": {"aliases": [], "ignoreChanges": [], **options},
    }


def by_name(ops: list[operations.Operation]) -> dict[str, operations.Operation]:
    return {o.name: o for o in ops}


def test_an_alias_carries_a_renamed_parent_and_its_children() -> None:
    old_team = reg("eks-access:index:Team", "pay")
    old_group = reg(everyday.GROUP, "pay-group", {"name": "g-pay"}, old_team["urn"])
    new_team = reg("eks-access:index:Team", "pay-eng", aliases=[{"spec": {"name": "pay"}}])
    new_group = reg(everyday.GROUP, "pay-eng-group", {"name": "g-pay-eng"}, new_team["urn"])
    ops = by_name(compute([old_team, old_group], [new_team, new_group]))
    assert ops["pay-eng"].op == "same" and ops["pay-eng"].old_urn == old_team["urn"]
    assert ops["pay-eng-group"].op == "update" and ops["pay-eng-group"].diffs == ("name",)
    # Without the alias the same edit deletes both and creates both.
    plain = by_name(
        compute([old_team, old_group], [reg("eks-access:index:Team", "pay-eng"), new_group])
    )
    assert {n: o.op for n, o in plain.items()} == {
        "pay": "delete",
        "pay-group": "delete",
        "pay-eng": "create",
        "pay-eng-group": "create",
    }


def test_ignored_changes_trigger_and_retain() -> None:
    key = reg(everyday.KEY, "k", {"user": "a"})
    with_pgp = reg(everyday.KEY, "k", {"user": "a", "pgpKey": "keybase:x"})
    assert compute([key], [with_pgp])[0].op == "replace"
    ignored = reg(everyday.KEY, "k", {"user": "a", "pgpKey": "keybase:x"}, ignoreChanges=["pgpKey"])
    assert compute([key], [ignored])[0].op == "same"

    entry = reg(everyday.ENTRY, "e", {"principalArn": "arn"}, replacementTrigger="id-1")
    again = reg(everyday.ENTRY, "e", {"principalArn": "arn"}, replacementTrigger="id-2")
    (op,) = compute([entry], [again])
    assert op.op == "replace" and op.why == "replacementTrigger changed"

    patch = reg(everyday.PATCH, "p", {"data": {}}, retainOnDelete=True)
    assert compute([patch], [])[0].to_json()["retained"] is True
    assert compute([key], [])[0].to_json()["retained"] is False


def test_a_delete_before_replace_entry_takes_its_associations_along_first() -> None:
    entry = reg(
        everyday.ENTRY,
        "e",
        {"principalArn": "arn:u", "clusterName": "c"},
        replacementTrigger="id-1",
        deleteBeforeReplace=True,
    )
    assoc = reg(
        everyday.ASSOC,
        "e-view",
        {"principalArn": "arn:u", "policyArn": "p", "accessScope": {"type": "cluster"}},
        entry["urn"],
        propertyDependencies={"principalArn": [entry["urn"]]},
    )
    new_entry = {**entry, "options": {**entry["options"], "replacementTrigger": "id-2"}}
    ops = by_name(compute([entry, assoc], [new_entry, assoc]))
    assert ops["e"].op == "replace" and ops["e"].delete_before_replace
    assert ops["e-view"].op == "replace" and ops["e-view"].delete_before_replace
    assert ops["e-view"].replace_keys == ("principalArn",)
    # Created before the old is deleted, the entry would leave its associations alone.
    cbd = {**new_entry, "options": {**new_entry["options"], "deleteBeforeReplace": False}}
    assert by_name(compute([entry, assoc], [cbd, assoc]))["e-view"].op == "same"
    # Replaced by its own diff as well (another cluster): the engine names the dependency's
    # key, as make e2e-engine's "another cluster" preview showed.
    moved_entry = {**new_entry, "inputs": {**entry["inputs"], "clusterName": "c2"}}
    moved_assoc = {**assoc, "inputs": {**assoc["inputs"], "clusterName": "c2"}}
    ops = by_name(compute([entry, assoc], [moved_entry, moved_assoc]))
    assert ops["e-view"].replace_keys == ("principalArn",) and ops["e-view"].delete_before_replace


def test_a_principal_losing_its_last_group_gets_a_new_entry_without_groups() -> None:
    # kubernetes_groups is Optional+Computed in the provider: sent nothing, EKS keeps the old
    # groups, so an in-place "update" would leave the principal its RBAC access.
    rule = lifecycle.rule(everyday.ENTRY, True)
    kept = lifecycle.changes(rule, {"kubernetesGroups": ["g"]}, {"principalArn": "a"}, [])
    assert "kubernetesGroups" not in kept
    base = everyday.in_mode("API_AND_CONFIG_MAP", policies=True)(everyday.dev())
    everyday.team(base, "payments")["roles"][0]["username"] = "payments-sso"
    head = copy.deepcopy(base)
    everyday.team(head, "payments").update(mapGroup=False, bindTo="users")
    ops = [o for o in ops_between(plan_raw(base), plan_raw(head)) if o.op != "same"]
    entries = {o.name: o for o in ops if o.type == everyday.ENTRY}
    assocs = {o.name: o for o in ops if o.type == everyday.ASSOC}
    members = {everyday._entry(n, k) for n, k in everyday.PAYMENTS.items()}
    assert set(entries) == members
    assert all(o.op == "replace" and o.delete_before_replace for o in entries.values())
    # EKS deletes an entry's associations with it: they are re-made too, after the entry.
    assert {n.rsplit("-", 1)[0] for n in assocs} == members
    assert all(o.op == "replace" and o.delete_before_replace for o in assocs.values())
    # Gaining groups back is the same replacement the other way.
    back = [o for o in ops_between(plan_raw(head), plan_raw(base)) if o.type == everyday.ENTRY]
    assert {o.name for o in back if o.op == "replace"} == members


def test_kubernetes_replacements_keep_the_name_delete_first() -> None:
    binding = reg(
        everyday.RB,
        "b",
        {
            "metadata": {"name": "x", "namespace": "n"},
            "roleRef": {"kind": "ClusterRole", "name": "edit"},
        },
    )
    new_ref = copy.deepcopy(binding)
    new_ref["inputs"]["roleRef"]["name"] = "view"
    (op,) = compute([binding], [new_ref])
    assert op.op == "replace" and op.replace_keys == ("roleRef.name",) and op.delete_before_replace
    renamed = copy.deepcopy(binding)
    renamed["inputs"]["metadata"]["name"] = "y"
    (op,) = compute([binding], [renamed])
    assert op.op == "replace" and not op.delete_before_replace


def test_summary_reads_like_a_preview() -> None:
    base_raw, head_raw = everyday.ROWS[0].configs()
    ops = ops_between(plan_raw(base_raw), plan_raw(head_raw))
    text = operations.summary(ops, "dev")
    assert " +  aws:iam/user:User" in text and "dave-user" in text
    assert "    + 4 to create\n    ~ 1 to update\n" in text
    # the mapping, and the record of what the stack maps (the live preflight reads it)
    assert '[diff: ~data.mapUsers, ~metadata.annotations["eks-access/mapped"]]' in text


# --- plan --base / --base-out ----------------------------------------------------------------------


def test_plan_base_out_writes_operations(tmp_path: Path, invoke) -> None:
    base = invoke("plan", "--config-file", str(DEV), "--out", str(tmp_path / "base"))
    assert base.returncode == 0, base.stderr
    raw = everyday.dev()
    everyday.team(raw, "payments")["namespaceAccess"] = "view"
    (tmp_path / "proj").mkdir()
    head = write_stack(tmp_path / "proj", raw, "dev")
    r = invoke(
        "plan",
        "--config-file",
        str(head),
        "--out",
        str(tmp_path / "head"),
        "--base-out",
        str(tmp_path / "base"),
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "head" / "operations.json").read_text())
    ops = {o["name"]: o for o in doc["operations"]}
    assert ops["payments-rbac-binding-payments-view"]["op"] == "create"
    assert ops["payments-rbac-binding-payments-edit"]["op"] == "delete"
    assert set(doc["operations"][0]) >= {
        "urn",
        "type",
        "name",
        "op",
        "diffs",
        "replaceKeys",
        "deleteBeforeReplace",
        "retained",
    }
    assert "2 to create" in r.stdout and "2 to delete" in r.stdout


def _project(repo: Path, with_program: bool) -> None:
    repo.mkdir(exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", repo)
    if with_program:
        shutil.copy(ROOT / "__main__.py", repo)
        for pkg in ("cli", "components", "eks_access", "offline", "policy"):
            shutil.copytree(
                ROOT / pkg,
                repo / pkg,
                ignore=shutil.ignore_patterns("__pycache__", "venv"),
                dirs_exist_ok=True,
            )


def _commit(repo: Path, message: str) -> None:
    for argv in (
        ["add", "-A"],
        ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", message],
    ):
        subprocess.run(["git", *argv], cwd=repo, check=True, capture_output=True)


@pytest.mark.parametrize("with_program", [True, False], ids=["base-program", "current-program"])
def test_plan_base_ref(tmp_path: Path, with_program: bool, invoke) -> None:
    repo = tmp_path / "repo"
    _project(repo, with_program)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    stack = repo / "Pulumi.dev.yaml"
    raw = everyday.dev()
    stack.write_text(yaml.safe_dump({"config": raw}))
    _commit(repo, "base")
    _project(repo, with_program=True)  # the program only in the working tree: base has none
    everyday.team(raw, "auditors")["users"].append("erin")
    stack.write_text(yaml.safe_dump({"config": raw}))
    out = tmp_path / "out"
    r = invoke("plan", "--config-file", str(stack), "--out", str(out), "--base", "HEAD", cwd=repo)
    assert r.returncode == 0, r.stderr
    ops = json.loads((out / "operations.json").read_text())["operations"]
    changed = sorted((o["name"], o["op"]) for o in ops if o["op"] != "same")
    assert changed == [
        ("aws-auth-patch", "update"),
        ("erin", "create"),
        ("erin", "create"),
        ("erin-groups", "create"),
        ("erin-user", "create"),
    ]


# --- refusing plans that lock people out ----------------------------------------------------------


def test_no_teams_is_stopped_before_anything(tmp_path: Path, invoke) -> None:
    for n, raw in enumerate(
        (minimal_raw(), {k: v for k, v in minimal_raw().items() if k != "eks-access:teams"})
    ):
        stack = write_stack(tmp_path, raw)
        out = tmp_path / f"out{n}"
        r = invoke("plan", "--config-file", str(stack), "--out", str(out))
        assert r.returncode == 3, r.stderr
        assert "maps no principal besides the node roles" in r.stderr
        assert "acknowledgeLockout" in r.stderr and not out.exists()
        ok = invoke("plan", "--config-file", str(stack), "--out", str(out), "--acknowledge-lockout")
        assert ok.returncode == 0, ok.stderr
    # `pulumi up` runs the program, which refuses too, before registering anything.
    with pytest.raises(pulumi.RunError, match="maps no principal besides the node roles"):
        plan_raw(minimal_raw())
    assert plan_raw(minimal_raw(**{"eks-access:acknowledgeLockout": True})).resources


def test_removing_most_principals_needs_an_acknowledgement(tmp_path: Path, invoke) -> None:
    assert (
        invoke("plan", "--config-file", str(DEV), "--out", str(tmp_path / "base")).returncode == 0
    )
    raw = everyday.dev()
    raw["eks-access:teams"] = raw["eks-access:teams"][:1]  # keeps the seed team only
    head = write_stack(tmp_path, raw, "dev")
    argv = ["plan", "--config-file", str(head), "--out", str(tmp_path / "head")]
    r = invoke(*argv, "--base-out", str(tmp_path / "base"))
    assert r.returncode == 3
    assert "stops mapping 5 of the 6 principals" in r.stderr and "user/alice" in r.stderr
    assert (tmp_path / "head" / "operations.json").is_file()  # written, for review
    assert (
        invoke(*argv, "--base-out", str(tmp_path / "base"), "--acknowledge-lockout").returncode == 0
    )
    # Removing one team of four is an ordinary change.
    raw = everyday.dev()
    del raw["eks-access:teams"][2]
    head = write_stack(tmp_path, raw, "dev")
    assert invoke(*argv, "--base-out", str(tmp_path / "base")).returncode == 0


def test_dropping_owned_users_while_still_mapping_them_is_stopped(tmp_path: Path, invoke) -> None:
    raw = everyday.dev()
    for name, other in {"identity": everyday.identity_stack(raw)}.items():
        write_stack(tmp_path, other, name)
    base = write_stack(tmp_path, raw, "dev")
    assert (
        invoke("plan", "--config-file", str(base), "--out", str(tmp_path / "base")).returncode == 0
    )
    raw["eks-access:identity"] = dict(everyday.IDENTITY)  # no handover first
    head = write_stack(tmp_path, raw, "dev")
    r = invoke(
        "plan",
        "--config-file",
        str(head),
        "--out",
        str(tmp_path / "head"),
        "--base-out",
        str(tmp_path / "base"),
    )
    assert r.returncode == 3
    assert "deletes IAM users alice, bob, carol, eks_user" in r.stderr
    assert "'handover'" in r.stderr


# --- duplicates and determinism ---------------------------------------------------------------------


def test_duplicate_key_generations_are_a_config_error(tmp_path: Path, invoke) -> None:
    raw = everyday.dev()
    everyday.team(raw, "payments")["users"][0]["keys"] = ["v1", "v1"]
    r = invoke(
        "plan", "--config-file", str(write_stack(tmp_path, raw)), "--out", str(tmp_path / "o")
    )
    assert r.returncode == 2
    assert "teams[1].users[0]: key generation 'v1' is listed twice" in r.stderr


def test_two_resources_with_one_urn_stop_the_plan(tmp_path: Path) -> None:
    stack = write_stack(tmp_path, everyday.dev())
    (tmp_path / "__main__.py").write_text(
        "import pulumi_aws as aws\n"
        "aws.iam.Group('twice', name='a')\n"
        "aws.iam.Group('twice', name='b')\n"
    )
    out = tmp_path / "out"
    r = cli("plan", "--config-file", str(stack), "--out", str(out))
    assert r.returncode == 2 and "Duplicate resource URN" in r.stderr
    assert "aws:iam/group:Group::twice" in r.stderr and not (out / "plan.json").exists()


def test_two_plans_of_one_config_are_byte_identical(tmp_path: Path) -> None:
    outs = [tmp_path / "1", tmp_path / "2"]
    for out in outs:
        argv = ["plan", "--config-file", str(DEV), "--out", str(out)]
        assert (
            cli(*argv, "--base-out", str(ROOT / "tests" / "fixtures" / "empty-plan")).returncode
            == 0
        )
    files = sorted(p.name for p in outs[0].iterdir())
    assert {"plan.json", "policy.json", "operations.json", "rbac.yaml"} <= set(files)
    for name in files:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_mappings_wait_for_every_binding() -> None:
    # A member moved into a renamed team's new group must not be in it before the group is
    # bound: aws-auth and the access entries are registered after every team's RBAC exists.
    raw = everyday.in_mode("API_AND_CONFIG_MAP")(everyday.dev())
    result = plan_raw(raw)
    bindings = {r.urn for r in result.resources if r.type in (everyday.RB, everyday.CRB)}
    assert bindings
    for type_ in (everyday.AWS_AUTH, everyday.AE):
        (component,) = [r for r in result.resources if r.type == type_]
        assert bindings <= set(component.to_json()["options"]["dependsOn"]), type_


# --- the model against the providers' own facts ---------------------------------------------------


def _covering(paths: tuple[str, ...]) -> set[str]:
    """Paths not within another of them (``accessScope`` covers ``accessScope.type``)."""
    return {p for p in paths if not any(q != p and lifecycle.within(p, q) for q in paths)}


@pytest.mark.parametrize("token", sorted(__import__("e2e.engine.upstream").engine.upstream.rules()))
def test_every_aws_row_is_what_the_providers_sources_say(token: str) -> None:
    """Each pulumi-aws row of lifecycle.yaml against e2e/engine/upstream.yaml: the Terraform
    schema's ForceNew, TypeSet and Optional+Computed arguments and Update function (at a pinned
    terraform-provider-aws commit), v7's region, and the bridge's auto-named inputs. The
    stand-in of `make e2e-engine` diffs with these facts, so the engine checks the same."""
    from e2e.engine import upstream

    derived, row = upstream.rules()[token], lifecycle.model()[token]
    assert _covering(row.replace_on) == _covering(tuple(derived["replaceOn"])), token
    assert row.update == derived["update"], token
    assert set(row.sets) == set(derived["sets"]), token
    assert set(row.computed) == set(derived["computed"]), token
    assert set(row.auto_named) == set(derived["autoNamed"]), token
    assert set(row.provider_filled) == set(derived["providerFilled"]), token
    assert not row.delete_before_replace_same_name  # a pulumi-kubernetes rule only


def test_the_facts_name_where_each_came_from() -> None:
    from e2e.engine import upstream

    facts = upstream.facts()
    for name, source in facts["sources"].items():
        assert source["repo"] and len(source["commit"]) >= 12, name
    for token, row in facts["terraform"].items():
        assert row["file"].startswith("internal/service/"), token
        assert all(isinstance(a["line"], int) for a in row["arguments"].values()), token
    for section in ("bridge", "kubernetes", "engine"):
        refs = [v for v in facts[section].values() if isinstance(v, dict) and "file" in v]
        assert all(r["commit"] and r["file"] for r in refs), section


def test_a_replaced_group_policy_deletes_first_as_the_bridge_asks() -> None:
    """pulumi-aws auto-names GroupPolicy's `name`; the program sets it, so the replacement would
    collide with the old name: the bridge asks for delete-before-replace."""
    group = "aws:iam/groupPolicy:GroupPolicy"
    old = [reg(group, "p", {"group": "a", "name": "a-describe", "policy": "{}"})]
    new = [reg(group, "p", {"group": "b", "name": "b-describe", "policy": "{}"})]
    (op,) = compute(old, new)
    assert op.op == "replace" and op.delete_before_replace
    # a name the bridge filled in itself (listed in __defaults) never collides: create-first
    new[0]["inputs"]["__defaults"] = ["name"]
    (op,) = compute(old, new)
    assert op.op == "replace" and not op.delete_before_replace


def test_another_cluster_replaces_the_provider_and_every_object_it_manages() -> None:
    provider = "pulumi:providers:kubernetes"
    ref = "urn:pulumi:dev::eks-access::pulumi:providers:kubernetes::kubernetes::id"
    ns = "kubernetes:core/v1:Namespace"
    old = [
        reg(provider, "kubernetes", {"clusterIdentifier": "arn:aws:eks:us-east-1:1:cluster/a",
                                      "kubeconfig": "a"}),
        reg(ns, "ns-a", {"metadata": {"name": "a"}}, provider=ref, retainOnDelete=True),
    ]  # fmt: skip
    new = copy.deepcopy(old)
    new[0]["inputs"]["kubeconfig"] = "a, with a rotated CA"
    ops = by_name(compute(old, new))
    assert ops["kubernetes"].op == "update" and ops["ns-a"].op == "same"
    new[0]["inputs"]["clusterIdentifier"] = "arn:aws:eks:us-east-1:1:cluster/b"
    ops = by_name(compute(old, new))
    assert ops["kubernetes"].op == "replace"
    assert ops["ns-a"].op == "replace" and ops["ns-a"].replace_keys == ("provider",)
    # the engine asks no resource diff: the provider's same-name delete-first does not apply
    assert not ops["ns-a"].delete_before_replace


def test_pointing_the_stack_at_another_cluster_stops_the_plan(tmp_path: Path, invoke) -> None:
    assert (
        invoke("plan", "--config-file", str(DEV), "--out", str(tmp_path / "base")).returncode == 0
    )
    raw = everyday.dev()
    raw["eks-access:cluster"]["name"] = "dev-2"
    head = write_stack(tmp_path, raw, "dev")
    argv = ["plan", "--config-file", str(head), "--out", str(tmp_path / "head"),
            "--base-out", str(tmp_path / "base")]  # fmt: skip
    r = invoke(*argv)
    assert r.returncode == 3, r.stderr
    arn = "arn:aws:eks:us-east-1:111122223333:cluster/dev-2"
    assert f"points the stack at another cluster ({arn})" in r.stderr
    assert "namespaces-payments" in r.stderr and f"acknowledgeClusterChange: {arn}" in r.stderr
    assert "AccessEntry" not in r.stderr  # CONFIG_MAP: no entries go with it here
    raw["eks-access:acknowledgeClusterChange"] = "arn:aws:eks:us-east-1:111122223333:cluster/dev"
    write_stack(tmp_path, raw, "dev")
    assert invoke(*argv).returncode == 3  # an acknowledgement of another cluster lifts nothing
    raw["eks-access:acknowledgeClusterChange"] = arn
    write_stack(tmp_path, raw, "dev")
    assert invoke(*argv).returncode == 0


def test_upgrading_a_stack_to_cluster_identifier_and_region_replaces_nothing() -> None:
    """The previous version's state: a provider without clusterIdentifier, entries without
    region (pulumi-aws v7 stored the provider's). Setting either is no replacement:
    pulumi-kubernetes treats adding the identifier as an update, and terraform-provider-aws
    does not force a new resource between unset and the provider's region."""
    provider = "pulumi:providers:kubernetes"
    entry = "aws:eks/accessEntry:AccessEntry"
    old = [
        reg(provider, "kubernetes", {"kubeconfig": "k"}),
        reg(entry, "e", {"clusterName": "dev", "principalArn": "arn:u"}),
    ]
    new = [
        reg(provider, "kubernetes", {"kubeconfig": "k", "clusterIdentifier": "arn:c@t"}),
        reg(entry, "e", {"clusterName": "dev", "principalArn": "arn:u", "region": "us-east-1"}),
    ]
    ops = by_name(compute(old, new))
    assert ops["kubernetes"].op == "update" and ops["e"].op == "same"
    # a region that changes between two values does replace
    moved = copy.deepcopy(new)
    old_set = copy.deepcopy(new)
    moved[1]["inputs"]["region"] = "eu-west-1"
    assert by_name(compute(old_set, moved))["e"].op == "replace"


def test_the_kubernetes_rows_are_what_the_providers_source_says() -> None:
    """pulumi-kubernetes at the commit make e2e-engine builds: every object's metadata.name and
    namespace force a new one, a binding's roleRef too, a same-name replacement deletes first;
    the provider is replaced only by a changed clusterIdentifier, adding one is an update."""
    from e2e.engine import upstream

    k8s = upstream.facts()["kubernetes"]
    paths = k8s["forceNewPaths"]
    for token, row in lifecycle.model().items():
        if not token.startswith("kubernetes:"):
            continue
        binding = token.endswith("Binding")
        assert set(row.replace_on) == set(paths["all"]) | (set(paths["bindings"]) if binding
                                                           else set()), token  # fmt: skip
        assert row.delete_before_replace_same_name, token
    provider = lifecycle.model()["pulumi:providers:kubernetes"]
    assert provider.replace_on == ("clusterIdentifier",) == provider.onboarding
    assert (
        "diff.Updated(clusterIdentifierKey)"
        in k8s["diffConfig"]["clusterIdentifierChanged"]["quote"]
    )


def _references(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node] if "file" in node and "repo" in node else []
        return own + [r for v in node.values() for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return []


def test_every_fact_names_its_repository_commit_and_file() -> None:
    from e2e.engine import upstream

    facts = upstream.facts()
    refs = _references({k: facts[k] for k in ("bridge", "kubernetes", "engine", "region")})
    assert len(refs) >= 15
    for r in refs:
        assert r["repo"].count("/") == 1 and len(str(r["commit"])) >= 12 and r["file"], r


def test_every_everyday_row_is_applied_by_the_real_engine() -> None:
    """make e2e-engine applies the rows its phases list: a row left out of them would be
    planned here but never applied through the real engine."""
    from e2e.engine import run as engine

    listed = engine.PHASE_1 + engine.PHASE_2
    assert sorted(listed) == sorted(r.title for r in everyday.ROWS)
