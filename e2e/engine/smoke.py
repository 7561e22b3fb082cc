"""Smoke check (not part of ``make test``): the real Pulumi CLI drives the AWS stand-in.

An inline program (IAM user, group, membership, and an EKS access entry on a cluster written
into the stand-in's state file) goes through preview, up, a group rename (an in-place update
that keeps the membership), an up with no change, and destroy, on the CLI built into
``~/.cache/eks-access-e2e/bin`` with a local file backend. It checks the results in moto and
the state file and prints the engine's operation counts and the RPCs the stand-in served.

    .venv/bin/python -m e2e.engine.smoke        # from the repository root; exit 0 = passed
"""

from __future__ import annotations

import collections
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pulumi
import pulumi_aws as aws
from moto.server import ThreadedMotoServer
from pulumi import automation as auto

from e2e.engine import add_cluster, read_state, write_launcher

CACHE = Path(os.environ.get("EKS_ACCESS_E2E_CACHE", Path.home() / ".cache" / "eks-access-e2e"))
CLI = CACHE / "bin" / "pulumi"
ACCOUNT = "111122223333"
CLUSTER = "smoke"


class SmokeError(AssertionError):
    pass


def check(ok: bool, what: str) -> None:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        raise SmokeError(what)


VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
DESCRIBE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}],
    }
)


def program_for(settings: dict[str, Any]) -> auto.PulumiFn:
    """The inline program; ``settings`` is edited between runs, like a stack's config."""

    def program() -> None:
        users = {n: aws.iam.User(n, name=n, tags={"managed-by": "smoke"}) for n in ("alice", "bob")}
        renamed = settings["group_resource"] != "team"
        group = aws.iam.Group(
            settings["group_resource"],
            name=settings["group"],
            opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name="team")] if renamed else None),
        )
        aws.iam.GroupPolicy("describe", name="describe-cluster", group=group.name, policy=DESCRIBE)
        aws.iam.UserGroupMembership("alice-groups", user=users["alice"].name, groups=[group.name])
        key = aws.iam.AccessKey(
            "alice-key",
            user=users["alice"].name,
            pgp_key=settings["pgp"],
            opts=pulumi.ResourceOptions(
                ignore_changes=["pgp_key"], additional_secret_outputs=["secret"]
            ),
        )
        # A plain invoke, as __main__.py does: answered before any resource is registered.
        cluster = aws.eks.get_cluster(name=CLUSTER)
        entry = aws.eks.AccessEntry(
            "entry",
            cluster_name=cluster.name,
            principal_arn=users[settings["principal"]].arn,
            kubernetes_groups=[settings["kgroup"]],
            opts=pulumi.ResourceOptions(delete_before_replace=True),
        )
        aws.eks.AccessPolicyAssociation(
            "view",
            cluster_name=cluster.name,
            principal_arn=entry.principal_arn,
            policy_arn=VIEW,
            access_scope=settings["scope"],
            opts=pulumi.ResourceOptions(delete_before_replace=settings["assoc_dbr"]),
        )
        pulumi.export("userArn", users["alice"].arn)
        pulumi.export("groupName", group.name)
        pulumi.export("keyId", key.id)
        pulumi.export("entryArn", entry.access_entry_arn)
        pulumi.export("mode", cluster.access_configs[0].authentication_mode)

    return program


def counts(changes: dict[str, int] | None) -> dict[str, int]:
    return {k: v for k, v in sorted((changes or {}).items())}


def rpc_summary(log: Path) -> dict[str, int]:
    seen: collections.Counter[str] = collections.Counter()
    if log.exists():
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2:
                seen[parts[1]] += 1
    return dict(sorted(seen.items()))


def operations(calls: list[str]) -> dict[str, list[str]]:
    """Per provider process (one per engine run): the Create/Update/Delete calls that changed
    something, in order, as "Create view" (previews left out)."""
    runs: dict[str, list[str]] = {}
    for line in calls:
        pid, rpc, *rest = line.split()
        ops = runs.setdefault(pid, [])
        if rpc in ("Create", "Update", "Delete") and "preview=True" not in line:
            ops.append(f"{rpc} {rest[0].rsplit('::', 1)[-1]}")
    return runs


def main() -> int:
    if not CLI.exists():
        print(f"no Pulumi CLI at {CLI}; build it first (see shared facts, section 10)")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="eks-standin-smoke-"))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per moto request
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    try:
        status = run(tmp, moto_url)
    except SmokeError as e:
        print(f"smoke FAILED: {e}\n(work folder kept for inspection: {tmp})")
        return 1
    finally:
        moto.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return status


def run(tmp: Path, moto_url: str) -> int:
    plugins = tmp / "plugins"
    write_launcher(plugins)
    state, log = tmp / "eks-state.json", tmp / "standin-calls.log"
    add_cluster(state, CLUSTER, authentication_mode="API_AND_CONFIG_MAP")
    backend = tmp / "backend"
    backend.mkdir()
    (tmp / "work").mkdir()
    env = {
        "PATH": os.pathsep.join([str(plugins), str(CLI.parent), os.environ.get("PATH", "")]),
        "PULUMI_HOME": str(tmp / "pulumi-home"),
        "PULUMI_CONFIG_PASSPHRASE": "smoke",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "EKS_STANDIN_MOTO": moto_url,
        "EKS_STANDIN_STATE": str(state),
        "EKS_STANDIN_LOG": str(log),
        "EKS_STANDIN_ACCOUNT": ACCOUNT,
    }
    os.environ.pop("PULUMI_IGNORE_AMBIENT_PLUGINS", None)  # the stand-in is an ambient plugin
    # The inline program runs in this process and the CLI inherits this environment.
    os.environ.update(env)
    settings: dict[str, Any] = {
        "group": "team-a",
        "group_resource": "team",
        "kgroup": "team-a",
        "pgp": None,
        "principal": "alice",
        "scope": {"type": "cluster"},
        "assoc_dbr": True,
    }
    project = "standin-smoke"
    stack = auto.create_or_select_stack(
        stack_name="smoke",
        project_name=project,
        program=program_for(settings),
        opts=auto.LocalWorkspaceOptions(
            work_dir=str(tmp / "work"),
            pulumi_home=env["PULUMI_HOME"],
            pulumi_command=auto.PulumiCommand(root=str(CACHE), skip_version_check=True),
            env_vars=env,
            secrets_provider="passphrase",
            project_settings=auto.ProjectSettings(
                name=project,
                runtime="python",
                backend=auto.ProjectBackend(url=env["PULUMI_BACKEND_URL"]),
            ),
        ),
    )
    stack.set_config("aws:region", auto.ConfigValue("us-east-1"))
    iam = boto3.client(
        "iam",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam.meta.events.register(
        "before-sign.iam.*",
        lambda request, **_: request.headers.__setitem__("x-moto-account-id", ACCOUNT),
    )
    out: list[str] = []
    diagnostics: list[str] = []

    def show(line: str) -> None:
        out.append(line)
        if os.environ.get("SMOKE_VERBOSE"):
            print(line, end="")

    def on_event(event: Any) -> None:
        if event.diagnostic_event is not None:
            d = event.diagnostic_event
            diagnostics.append(f"{d.severity}: {d.message.strip()}")

    def step(name: str, fn: Any) -> Any:
        start = time.time()
        out.clear()
        try:
            result = fn()
        except auto.errors.CommandError as e:
            print("".join(out))
            raise SmokeError(f"{name} failed: {e}") from e
        print(f"{name}: {time.time() - start:.1f} s", flush=True)
        return result

    def up(name: str, expect: dict[str, int]) -> Any:
        result = step(name, lambda: stack.up(on_output=show, on_event=on_event))
        changes = counts(result.summary.resource_changes)
        print(f"  engine: {changes}")
        check(changes == expect, f"{name}: {expect}")
        return result

    def entries() -> dict[str, Any]:
        return dict(read_state(state)["accessEntries"].get(CLUSTER, {}))

    def associations() -> dict[str, Any]:
        return dict(read_state(state)["associations"].get(CLUSTER, {}))

    alice, bob = (f"arn:aws:iam::{ACCOUNT}:user/{n}" for n in ("alice", "bob"))

    # 1. preview, then up: everything is created.
    prev = step("preview", lambda: stack.preview(on_output=show, on_event=on_event, diff=True))
    print(f"  engine: {counts(prev.change_summary)}")
    check(prev.change_summary == {"create": 9}, "preview: 9 creates (stack + 8 resources)")
    check(not iam.list_users()["Users"], "preview created nothing in IAM")
    ambient = [d for d in diagnostics if "pulumi-resource-aws from $PATH" in d]
    print(f"  engine said: {ambient[0] if ambient else diagnostics}")
    check(bool(ambient), "the engine warned that it used the ambient pulumi-resource-aws")

    result = up("up", {"create": 9})
    check(result.outputs["userArn"].value == alice, f"userArn output is {alice}")
    check(result.outputs["mode"].value == "API_AND_CONFIG_MAP", "getCluster read the state")
    key_id = result.outputs["keyId"].value
    groups = [g["GroupName"] for g in iam.list_groups_for_user(UserName="alice")["Groups"]]
    check(groups == ["team-a"], "alice is in team-a")
    check(alice in entries() and VIEW in associations()[alice], "entry and association exist")
    group_id = iam.get_group(GroupName="team-a")["Group"]["GroupId"]

    # 2. Rename the team: its group under a new resource name (aliased) and a new IAM name,
    # and a new PGP key the access key ignores.
    settings.update(group="team-b", group_resource="team-renamed", kgroup="team-b", pgp="keybase:x")
    prev = step(
        "preview (rename)", lambda: stack.preview(on_output=show, on_event=on_event, diff=True)
    )
    print(f"  engine: {counts(prev.change_summary)}")
    expect = {"replace": 1, "same": 5, "update": 3}
    check(counts(prev.change_summary) == expect, f"rename preview: {expect}")
    result = up("up (rename)", expect)
    group = iam.get_group(GroupName="team-b")
    check(group["Group"]["GroupId"] == group_id, "the group was renamed in place (same ID)")
    check([u["UserName"] for u in group["Users"]] == ["alice"], "and kept its member")
    policies = iam.list_group_policies(GroupName="team-b")["PolicyNames"]
    check(policies == ["describe-cluster"], "the replaced group policy is on the renamed group")
    check(result.outputs["keyId"].value == key_id, "the access key was not replaced (pgpKey)")
    check(entries()[alice]["kubernetesGroups"] == ["team-b"], "the entry's group was updated")
    up("up (no change)", {"same": 9})

    # 3. A new scope: the association is replaced, delete first (as the program does it).
    settings.update(scope={"type": "namespace", "namespaces": ["a"]})
    up("up (scope, delete-before-replace)", {"replace": 1, "same": 8})
    scope = associations().get(alice, {}).get(VIEW, {}).get("accessScope")
    check(scope == {"type": "namespace", "namespaces": ["a"]}, "the association has the new scope")

    # 4. The hazard the program avoids: create-then-delete upserts, then disassociates.
    settings.update(scope={"type": "namespace", "namespaces": ["a", "b"]}, assoc_dbr=False)
    up("up (scope, create-before-delete)", {"replace": 1, "same": 8})
    check(VIEW not in associations().get(alice, {}), "create-then-delete left no association")
    settings.update(assoc_dbr=True)

    # 5. The entry moves to another principal: entry and association replaced, deletes first.
    settings.update(principal="bob")
    up("up (principal)", {"replace": 2, "same": 7})
    check(set(entries()) == {bob}, "only bob has an entry")
    check(set(associations()) == {bob}, "only bob has an association")

    refresh = step("refresh", lambda: stack.refresh(on_output=show, on_event=on_event))
    print(f"  engine: {counts(refresh.summary.resource_changes)}")

    destroy = step("destroy", lambda: stack.destroy(on_output=show, on_event=on_event))
    print(f"  engine: {counts(destroy.summary.resource_changes)}")
    check(counts(destroy.summary.resource_changes) == {"delete": 9}, "destroy: 9 deletes")
    check(not iam.list_users()["Users"] and not iam.list_groups()["Groups"], "IAM is empty")
    check(not entries() and not associations(), "no access entry or association is left")
    stack.workspace.remove_stack("smoke")

    calls = log.read_text().splitlines()
    print(f"stand-in RPCs served: {json.dumps(rpc_summary(log))}")
    print(f"stand-in processes started by the engine: {len({c.split()[0] for c in calls})}")
    ignores = sorted({c.split("ignoreChanges=", 1)[1] for c in calls if "ignoreChanges=['" in c})
    print(f"ignoreChanges the engine passed to Diff: {ignores}")
    print("changes the stand-in made, per engine run (in order):")
    for pid, ops in operations(calls).items():
        print(f"  {pid}: {', '.join(ops) or '-'}")
    warnings = sorted({d for d in diagnostics if d.startswith("warning") and "$PATH" not in d})
    if warnings:
        print("other engine warnings:", *warnings, sep="\n  ")
    print("smoke passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
