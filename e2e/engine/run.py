"""`make e2e-engine`: the real program through the real Pulumi engine, against a real API server.

What is real: the Pulumi CLI and engine (built from the Go module proxy), the Kubernetes provider
(likewise), kube-apiserver with etcd and kube-controller-manager (as `make e2e` builds them), and
aws-iam-authenticator's own aws-auth mapper. What is a stand-in: AWS. IAM is moto's (its server
speaks the real AWS API, with IAM's errors and limits), EKS an in-memory model of clusters,
access entries and policy associations (``e2e/engine/standin.py``), both behind a provider
plugin named ``aws`` that the engine runs as it would run pulumi-aws.

The program runs as the Automation API runs an inline program (no Python language host is
served): ``runpy`` of the real ``__main__.py``, with the stack's config set as `pulumi config set`
sets it. Every row of the everyday-change table (``tests/everyday.py``) is applied in turn:

1. the row's base config is brought up (setup, when the previous row did not end there);
2. ``preview``: its steps (the operation per URN, and for a replacement whether it deletes first)
   must equal the offline ``operations`` of the same two configs;
3. ``up``; then IAM (moto) holds exactly the config's users, keys and memberships, EKS exactly its
   access entries and policy associations, and every principal's identity (the authenticator's
   mapper on the API server's aws-auth, or its access entry) and access (SubjectAccessReview over
   a grid of questions) equal what ``can-i`` predicts.

Rows run in the order authentication modes allow (CONFIG_MAP, then API_AND_CONFIG_MAP, then API;
the cluster switch is the test's, as ``aws eks update-cluster-config`` is the user's). The move to
an identity stack runs in a second project state, on the README's steps (handover, ``pulumi state
move``, the identity stack's ``up``, then ``mode: reference``). Last, ``destroy``: the IAM users
and keys are gone from moto, aws-auth and the namespaces stay in the cluster.

    python -m e2e.engine.run [--control]     # --control: the check must catch a broken rule
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import logging
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
STACK, PROJECT, ACCOUNT, REGION = "dev", "eks-access", "111122223333", "us-east-1"
IDENTITY_STACK = "organization/eks-access/identity"  # a local backend's only organization


def log(message: str) -> None:
    print(message, flush=True)


class MismatchError(AssertionError):
    """What the engine did is not what the offline model or can-i said."""


# --- offline: the same rows under the mock runtime, in a process of their own ---------------------


def flip_group_policy_row(work: Path) -> None:
    """The second control: the model's GroupPolicy row as it was before the providers' facts
    corrected it (create-first), in a copy every process of the run reads
    (``EKS_ACCESS_LIFECYCLE``): the offline side, and the stand-in too if it read the model.
    The engine, diffing with the facts, deletes first, so "rename a team" must differ."""
    import yaml

    from eks_access import lifecycle

    text = (ROOT / "eks_access" / "data" / "lifecycle.yaml").read_text()
    doc = yaml.safe_load(text)
    doc["types"]["aws:iam/groupPolicy:GroupPolicy"].pop("autoNamed")
    flipped = work / "lifecycle-flipped.yaml"
    flipped.write_text(yaml.safe_dump(doc))
    os.environ["EKS_ACCESS_LIFECYCLE"] = str(flipped)
    lifecycle.model.cache_clear()


def offline_operations(rows: list[dict[str, Any]], folder: Path) -> list[dict[str, Any]]:
    """Per row: the offline operations between its two plans (``tests/program/test_lifecycle.py``'s
    computation), computed in a child process (the mock runtime and the Automation API would
    share the SDK's globals in one process)."""
    spec = folder / "rows.json"
    spec.write_text(json.dumps(rows))
    script = f"""
import json, sys, tempfile
from pathlib import Path
sys.path.insert(0, {str(ROOT)!r})
from eks_access import clock, operations, stackfile
from offline.run import run
from tests.conftest import write_stack

def plan(raw, others, at=None):
    folder = Path(tempfile.mkdtemp(prefix="eks-access-engine-offline-"))
    for name, other in others.items():
        write_stack(folder, other, name)
    with clock.fixed(clock.at_value(at) if at else None):
        found = run(stackfile.read(write_stack(folder, raw, "{STACK}")))
    return [r.to_json() for r in found.resources]

out = []
for row in json.loads(Path({str(spec)!r}).read_text()):
    at = row.get("at") or [None, None]
    base = plan(row["base"], row["others"], at[0])
    if row.get("moved"):  # resources `pulumi state move` took to another stack
        gone = lambda r: any(
            r["urn"].startswith(m) or (r["parent"] or "").startswith(m) for m in row["moved"]
        )
        base = [r for r in base if not gone(r)]
    head = plan(row["head"], row["others"], at[1])
    old, new = ([operations.Registration.from_json(r) for r in p] for p in (base, head))
    out.append([o.to_json() for o in operations.compute(old, new)])
print(json.dumps(out))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"offline operations failed:\n{proc.stderr[-3000:]}")
    result: list[dict[str, Any]] = json.loads(proc.stdout)
    return result


# --- the engine ---------------------------------------------------------------------------------


@dataclass
class Engine:
    """One project state (a local backend) with its stacks, run through the Automation API."""

    home: Path
    backend: Path
    env: dict[str, str]
    stacks: dict[str, Any] = field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The config each stack was last given (``configure``)."""
    events: list[Any] = field(default_factory=list)

    def stack(self, name: str) -> Any:
        from pulumi import automation as auto

        from e2e.engine.build import CACHE

        if name not in self.stacks:
            work = self.backend.parent / f"work-{name}"
            work.mkdir(exist_ok=True)
            self.stacks[name] = auto.create_or_select_stack(
                stack_name=name,
                project_name=PROJECT,
                program=self._program(work),
                opts=auto.LocalWorkspaceOptions(
                    work_dir=str(work),
                    pulumi_home=str(self.home),
                    pulumi_command=auto.PulumiCommand(root=str(CACHE), skip_version_check=True),
                    env_vars=self.env,
                    secrets_provider="passphrase",
                    project_settings=auto.ProjectSettings(
                        name=PROJECT,
                        runtime="python",
                        backend=auto.ProjectBackend(url=f"file://{self.backend}"),
                    ),
                ),
            )
        return self.stacks[name]

    @staticmethod
    def _program(work: Path) -> Callable[[], None]:
        def program() -> None:
            # The real program, in its project folder, as the language host would run it.
            with contextlib.chdir(work):
                runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

        return program

    def configure(self, name: str, raw: dict[str, Any]) -> None:
        """The stack's config becomes ``raw``, as `pulumi config set` would make it."""
        from pulumi import automation as auto

        self.configs[name] = copy.deepcopy(raw)
        stack = self.stack(name)
        stale = [k for k in stack.get_all_config() if k not in raw]
        if stale:
            stack.remove_all_config(stale)
        stack.set_all_config(
            {
                k: auto.ConfigValue(v if isinstance(v, str) else json.dumps(v))
                for k, v in raw.items()
            }
        )

    def preview(self, name: str) -> dict[str, dict[str, Any]]:
        """The engine's planned steps: per URN, the operation and whether a replacement
        deletes first (the order of its delete-replaced and create-replacement steps)."""
        self.events = []
        self.stack(name).preview(on_event=self.events.append, diff=True)
        return steps(self.events)

    def up(self, name: str) -> dict[str, int]:
        result = self.stack(name).up(on_event=lambda e: None)
        return dict(result.summary.resource_changes or {})

    def cli(self, *argv: str) -> str:
        from e2e.engine.build import BIN

        proc = subprocess.run(
            [str(BIN / "pulumi"), *argv],
            cwd=self.backend.parent / f"work-{STACK}",
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"pulumi {' '.join(argv)}: {proc.stderr.strip()}")
        return proc.stdout


def steps(events: list[Any]) -> dict[str, dict[str, Any]]:
    seen: dict[str, list[str]] = {}
    keys: dict[str, set[str]] = {}
    renamed: dict[str, str] = {}  # old URN -> new, for resources found by an alias
    for event in events:
        pre = getattr(event, "resource_pre_event", None)
        if pre is None:
            continue
        meta = pre.metadata
        old, new = (getattr(meta.old, "urn", None), getattr(meta.new, "urn", None))
        if old and new and old != new:
            renamed[old] = new
    for event in events:
        pre = getattr(event, "resource_pre_event", None)
        if pre is None:
            continue
        meta = pre.metadata
        # The delete of an aliased resource's replaced self names the old URN only.
        urn = renamed.get(meta.urn, meta.urn)
        op = str(meta.op.value if hasattr(meta.op, "value") else meta.op)
        if os.environ.get("EKS_ACCESS_ENGINE_EVENTS"):
            with open(os.environ["EKS_ACCESS_ENGINE_EVENTS"], "a") as f:
                old = getattr(meta.old, "urn", None) if meta.old else None
                new = getattr(meta.new, "urn", None) if meta.new else None
                f.write(json.dumps({"op": op, "urn": meta.urn, "old": old, "new": new}) + "\n")
        seen.setdefault(urn, []).append(op)
        if op in ("replace", "create-replacement"):
            # the properties the provider (or the engine) names as forcing the replacement
            keys.setdefault(urn, set()).update(_top(k) for k in (meta.keys or []))
    out: dict[str, dict[str, Any]] = {}
    for urn, ops in seen.items():
        kind = urn.split("::")[2].rsplit("$", 1)[-1]
        if kind in ("pulumi:pulumi:Stack", "pulumi:pulumi:StackReference") or (
            kind.startswith("pulumi:providers:") and urn.rsplit("::", 1)[-1].startswith("default")
        ):
            continue  # the stack itself, reads, and default providers are not program resources
        if "read" in ops:
            continue
        if [o for o in ops if o != "remove-pending-replace"] == ["delete-replaced"]:
            # a dependent of a delete-first replacement that leaves the program: deleted before
            # that replacement (operations.DELETED_EARLY), its state entry dropped at the end
            # (remove-pending-replace), never re-created
            out[urn] = {"op": "delete", "early": True}
        elif {"replace", "create-replacement", "delete-replaced"} & set(ops):
            dbr = (
                "delete-replaced" in ops
                and "create-replacement" in ops
                and ops.index("delete-replaced") < ops.index("create-replacement")
            )
            out[urn] = {"op": "replace", "deleteBeforeReplace": dbr,
                        "replaceKeys": sorted(keys.get(urn, set()))}  # fmt: skip
        else:
            out[urn] = {"op": ops[0]}
    return out


def _top(path: str) -> str:
    """The top-level property of a path (``accessScope.namespaces[0]`` -> ``accessScope``)."""
    return path.split(".", 1)[0].split("[", 1)[0]


def compare(offline: list[dict[str, Any]], engine: dict[str, dict[str, Any]]) -> list[str]:
    """The differences between the offline operations and the engine's steps: the operation,
    whether a replacement deletes first, and which top-level properties force it."""
    from eks_access.operations import DELETED_EARLY

    mine = {
        o["urn"]: {"op": o["op"], **({"deleteBeforeReplace": o["deleteBeforeReplace"],
                                      "replaceKeys": sorted({_top(k) for k in o["replaceKeys"]})}
                                     if o["op"] == "replace" else {}),
                   **({"early": True} if o.get("why") == DELETED_EARLY else {})}
        for o in offline
        if o["op"] != "same"
    }  # fmt: skip
    theirs = {u: s for u, s in engine.items() if s["op"] != "same"}
    return [
        f"{u}: offline {mine.get(u)}, engine {theirs.get(u)}"
        for u in sorted(mine.keys() | theirs.keys())
        if mine.get(u) != theirs.get(u)
    ]


# --- the stand-ins, and what the cluster and AWS hold --------------------------------------------


@dataclass
class World:
    """The API server, moto and the EKS stand-in's state, as one run sees them."""

    cluster: Any  # e2e.run.Cluster
    moto_url: str
    eks_state: Path
    iam: Any = None

    def __post_init__(self) -> None:
        import boto3

        self.iam = boto3.client(
            "iam", endpoint_url=self.moto_url, region_name=REGION,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip
        self.iam.meta.events.register(
            "before-sign.iam.*",
            lambda request, **_: request.headers.__setitem__("x-moto-account-id", ACCOUNT),
        )

    def set_mode(self, mode: str) -> None:
        """`aws eks update-cluster-config ... authenticationMode=...` on the stand-in."""
        from e2e.engine import locked_state

        with locked_state(self.eks_state) as state:
            state["clusters"][STACK]["authenticationMode"] = mode

    def eks(self) -> dict[str, Any]:
        from e2e.engine import read_state

        return read_state(self.eks_state)

    def users(self) -> dict[str, dict[str, Any]]:
        out = {}
        for user in self.iam.list_users()["Users"]:
            name = user["UserName"]
            keys = self.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
            out[name] = {
                "keys": sorted(k["Status"] for k in keys),
                "groups": sorted(
                    g["GroupName"] for g in self.iam.list_groups_for_user(UserName=name)["Groups"]
                ),
            }
        return out


def _scope(scope: dict[str, Any]) -> dict[str, Any]:
    """An association's scope as EKS reports it, compared as the config states it: a cluster
    scope comes back with ``namespaces: []``, which is no namespace at all."""
    if scope.get("type") == "cluster" and not scope.get("namespaces"):
        return {"type": "cluster"}
    return {"type": scope.get("type"), "namespaces": sorted(scope.get("namespaces") or [])}


def verify(world: World, raw: dict[str, Any]) -> int:
    """After an `up`: AWS and the cluster hold what ``raw`` asks, and every principal is who
    and may do what ``can-i`` says. Returns the number of principals checked."""
    from eks_access import access_entries, authz, iam, review
    from eks_access import config as core
    from eks_access.principals import principals

    config = core.load(raw)
    problems: list[str] = []
    # IAM: exactly the users this stack owns, their keys and their team groups.
    if config.creates_users:
        want = {
            name: {
                # an ended user's keys are Inactive (expires), IAM's own status as moto holds it
                "keys": ["Active" if teams else "Inactive"] * len(user.keys),
                "groups": sorted(iam.group_name(config.cluster.name, t) for t in teams),
            }
            for name, (user, teams) in core.iam_users(config).items()
        }
        if world.users() != want:
            problems.append(f"IAM holds {world.users()}, the config asks {want}")
    # EKS: exactly the access entries and associations the config asks.
    eks = world.eks()
    entries = eks["accessEntries"].get(STACK, {})
    associations = eks["associations"].get(STACK, {})
    for spec in access_entries.entries(config, ACCOUNT):
        live = entries.get(spec.principal_arn)
        if live is None:
            problems.append(f"no access entry for {spec.principal_arn}")
            continue
        if sorted(live.get("kubernetesGroups") or []) != sorted(spec.kubernetes_groups):
            problems.append(f"{spec.principal_arn}: entry groups {live.get('kubernetesGroups')}")
        scopes = {
            g.arn: ({"type": "cluster"} if g.scope == "cluster" else
                    {"type": "namespace", "namespaces": sorted(g.namespaces)})
            for g in spec.policies
        }  # fmt: skip
        held = {
            arn: _scope(s["accessScope"])
            for arn, s in associations.get(spec.principal_arn, {}).items()
        }
        if held != scopes:
            problems.append(f"{spec.principal_arn}: associations {held}, the config asks {scopes}")
    # Who is who: the authenticator's mapper on the live aws-auth, or the access entry (which
    # wins in API_AND_CONFIG_MAP); then RBAC's answers against can-i's. EKS access policies are
    # not enforced by a plain API server, so can-i answers from RBAC alone here (they were
    # checked as associations above).
    state = authz.state_of(config, ACCOUNT)
    rbac_only = copy.copy(state)
    rbac_only.grants = [g for g in state.grants if g.principal is None]
    everyone = [p for p in principals(config, ACCOUNT) if not p.is_node]
    callers = [
        f"arn:aws:sts::{p.arn.account}:assumed-role/{p.arn.name}/e2e@example.com"
        if p.kind == "role" else p.arn.arn
        for p in everyone
    ]  # fmt: skip
    mode = config.cluster.authentication_mode
    node = config.cluster.node_roles[0]
    mapped = {a["arn"]: a for a in world.cluster.authmap(node, callers)} if mode != "API" else {}
    questions = review.grid(review.namespaces_of(config))
    for p, caller in zip(everyone, callers, strict=True):
        entry = entries.get(p.arn.arn) if mode != "CONFIG_MAP" else None
        if entry is not None:
            username = entry.get("userName") or ""
            username = username.replace("{{SessionName}}", "e2e-example.com")
            groups = set(entry.get("kubernetesGroups") or [])
        elif caller in mapped and mapped[caller].get("mapped"):
            username, groups = mapped[caller]["username"], set(mapped[caller].get("groups") or [])
        else:
            problems.append(f"{caller} is not logged in")
            continue
        predicted = state.resolve(caller)
        if predicted is None or (username, groups) != (
            predicted.username,
            set(predicted.groups) - {authz.AUTHENTICATED},
        ):
            problems.append(
                f"{caller}: live identity {username} {sorted(groups)}, can-i {predicted}"
            )
            continue
        for q in questions:
            server = world.cluster.allowed(
                username,
                [*groups, authz.AUTHENTICATED],
                {"verb": q.verb, "group": q.group, "resource": q.resource,
                 "subresource": q.subresource, "namespace": q.namespace or ""},
            )  # fmt: skip
            if server != rbac_only.can(caller, q):
                problems.append(f"{caller}: {q.describe()}: API server {server}, can-i not")
                break
    if problems:
        raise MismatchError("\n  ".join(problems))
    return len(everyone)


# --- the scenario -------------------------------------------------------------------------------


def for_engine(raw: dict[str, Any]) -> dict[str, Any]:
    """A row's config as this backend names stacks (``organization/...``)."""
    raw = copy.deepcopy(raw)
    identity = raw.get("eks-access:identity")
    if isinstance(identity, dict) and identity.get("stack"):
        identity["stack"] = IDENTITY_STACK
    return raw


PHASE_1 = [
    "add a user", "remove a user", "move a user to another team", "add a key generation",
    "a grant expires", "a grant is extended",
    "add a user to a role team", "switch a team to access: role",
    "drop the old key generation", "set or change pgpKey", "add a namespace (CONFIG_MAP)",
    "switch a team back to access: user",
    "change namespaceAccess", "rename a team", "add a role",
    "switch to API_AND_CONFIG_MAP",
    "add a namespace (API_AND_CONFIG_MAP)",
    "add a namespace (API_AND_CONFIG_MAP, namespace-scoped access policy)",
    "add an access policy",
    "switch to API",
    "add a namespace (API)", "add a namespace (API, namespace-scoped access policy)",
    "switch a team to access: role (API)",
]  # fmt: skip
PHASE_2 = ["hand users over to an identity stack", "move to an identity stack"]
CONTROL = [
    "rename a team",  # with the GroupPolicy row flipped back to create-first (the model's side)
    "switch to API_AND_CONFIG_MAP",
    "add a namespace (API_AND_CONFIG_MAP, namespace-scoped access policy)",
]


def break_association_rule() -> None:
    """The control: the program's associations lose ``delete_before_replace`` (the inline
    program runs in this process, so its component module can be patched here)."""
    import pulumi
    import pulumi_aws as aws

    from components import access_entries

    class CreateFirst(aws.eks.AccessPolicyAssociation):  # type: ignore[misc]
        def __init__(self, name: str, *args: Any, opts: Any = None, **kwargs: Any) -> None:
            opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(delete_before_replace=False)
            )
            opts.delete_before_replace = False
            super().__init__(name, *args, opts=opts, **kwargs)

    access_entries.aws = type("aws", (), {"eks": type("eks", (), {
        "AccessEntry": aws.eks.AccessEntry, "AccessPolicyAssociation": CreateFirst})})  # fmt: skip


@dataclass
class Tally:
    applied: int = 0
    matched: int = 0
    principals: int = 0
    failures: list[str] = field(default_factory=list)


def run_rows(titles: list[str], engine: Engine, world: World, tally: Tally, work: Path) -> None:
    from eks_access import clock
    from tests import everyday

    rows = {r.title: r for r in everyday.ROWS}
    specs = []
    for title in titles:
        row = rows[title]
        base, head = (for_engine(c) for c in row.configs())
        others = row.stacks(base) if row.stacks else {}
        moved = (
            [f"urn:pulumi:{STACK}::{PROJECT}::eks-access:index:ClusterUser::"]
            if title == "move to an identity stack"
            else []
        )
        at = [clock.written(t) if t else None for t in row.at]  # an end is a change of time
        specs.append({"base": base, "head": head, "others": others, "moved": moved, "at": at})
    log(f"   offline operations for {len(titles)} rows (mock runtime, child process)...")
    offline = offline_operations(specs, work)
    current: tuple[dict[str, Any], str | None] | None = None
    for title, spec, ops in zip(titles, specs, offline, strict=True):
        started = time.time()
        base, head = spec["base"], spec["head"]
        at_base, at_head = (clock.at_value(t) if t else None for t in spec["at"])
        if title == "switch to API_AND_CONFIG_MAP":
            world.set_mode("API_AND_CONFIG_MAP")  # the cluster first, then the config
        if (base, spec["at"][0]) != current:
            engine.configure(STACK, base)
            with clock.fixed(at_base):  # the inline program runs in this process
                engine.up(STACK)
        if title == "move to an identity stack":
            move_users(engine, spec["others"]["identity"])
        engine.configure(STACK, head)
        with clock.fixed(at_head):
            planned = engine.preview(STACK)
            differences = compare(ops, planned)
            engine.up(STACK)
        tally.applied += 1
        if title == "switch to API":
            world.set_mode("API")  # the config first, then the cluster
        if differences:
            tally.failures.append(f"{title}: preview differs from the offline operations:\n    "
                                  + "\n    ".join(differences))  # fmt: skip
        else:
            tally.matched += 1
        try:
            with clock.fixed(at_head):  # can-i of the head config as it grants then
                tally.principals += verify(world, head)
        except MismatchError as e:
            tally.failures.append(f"{title}: after up: {e}")
        changed = sum(1 for s in planned.values() if s["op"] != "same")
        log(f"   {title}: preview {changed} changes "
            f"{'= offline' if not differences else '!= offline'}, up, access checked "
            f"({time.time() - started:.0f} s)")  # fmt: skip
        current = (head, spec["at"][1])


def seed_outcomes(engine: Engine, world: World, tally: Tally) -> None:
    """The seed's three outcomes for eks_user, each reached by the engine's own `up` of the
    dev stack (as `make e2e` shows them by applying the plan's files): not mapped, so not
    logged in; mapped but without its Role, so Forbidden; with the Role, allowed."""
    from tests import everyday

    cluster = world.cluster
    node = f"arn:aws:iam::{ACCOUNT}:role/eks-node-group"
    eks_user = f"arn:aws:iam::{ACCOUNT}:user/eks_user"
    full = for_engine(everyday.dev())
    without = copy.deepcopy(full)
    without["eks-access:teams"] = [t for t in full["eks-access:teams"] if t["name"] != "seed"]
    no_role = copy.deepcopy(full)
    seed = next(t for t in no_role["eks-access:teams"] if t["name"] == "seed")
    for key in ("rules", "roleName", "bindTo", "namespaces"):
        seed.pop(key, None)
    problems: list[str] = []

    log("\n== the seed through the engine: 1. eks_user not in the config (pulumi up)")
    engine.configure(STACK, without)
    engine.up(STACK)
    (me,) = cluster.authmap(node, [eks_user])
    log(f"   aws-iam-authenticator mapper: {eks_user} is "
        f"{'mapped' if me['mapped'] else 'not mapped: it is not logged in'}")  # fmt: skip
    proc = cluster.kubectl("get", "pods", "--token", "eks_user-has-no-identity", check=False)
    log(f"   $ kubectl get pods   (as a caller the API server cannot authenticate)\n"
        f"   {proc.stderr.strip()}")  # fmt: skip
    if me["mapped"] or "(Unauthorized)" not in proc.stderr:
        problems.append(f"1: eks_user {me}, kubectl {proc.stderr.strip()}")

    log("\n== 2. eks_user in the config, its team without the Role (pulumi up)")
    engine.configure(STACK, no_role)
    engine.up(STACK)
    (me,) = cluster.authmap(node, [eks_user])
    log(f"   mapper: {eks_user} -> user {me.get('username')!r}, groups {me.get('groups')}")
    as_me = [
        "--as",
        str(me.get("username")),
        *[f"--as-group={g}" for g in [*(me.get("groups") or []), "system:authenticated"]],
    ]
    proc = cluster.kubectl("get", "pods", "-n", "default", *as_me, check=False)
    log(f"   $ kubectl get pods --as {me.get('username')} ...\n   {proc.stderr.strip()}")
    if not me["mapped"] or 'User "eks_user" cannot list resource "pods"' not in proc.stderr:
        problems.append(f"2: eks_user {me}, kubectl {proc.stderr.strip()}")

    log("\n== 3. the Role and RoleBinding `test` in default (pulumi up)")
    engine.configure(STACK, full)
    engine.up(STACK)
    proc = cluster.kubectl("get", "pods", "-n", "default", *as_me, check=False)
    log(f"   $ kubectl get pods --as eks_user ...\n   {(proc.stdout + proc.stderr).strip()}")
    can = cluster.kubectl("auth", "can-i", "create", "pods", "-n", "default", *as_me, check=False)
    log(f"   $ kubectl auth can-i create pods --as eks_user ...  -> {can.stdout.strip()}")
    if proc.returncode != 0 or can.stdout.strip() != "yes":
        problems.append(f"3: kubectl {proc.stderr.strip()}, can-i {can.stdout.strip()}")
    if problems:
        tally.failures.append("the seed's three outcomes: " + "; ".join(problems))


def cluster_change(engine: Engine, world: World, tally: Tally, work: Path) -> None:
    """Pointing the stack at another cluster: the preview (never applied) replaces the
    Kubernetes provider and, create-first, every object it manages, as the offline operations
    say; the offline plan stops unless eks-access:acknowledgeClusterChange names the cluster.
    The second cluster is the stand-in's, on the same API server: an `up` would fail creating
    the same-name objects (AlreadyExists), which is why the plan stops."""
    from e2e.engine import add_cluster, read_state
    from eks_access import guards, operations

    state = read_state(world.eks_state)["clusters"][STACK]
    add_cluster(world.eks_state, "dev-2", authentication_mode=state["authenticationMode"],
                endpoint=state["endpoint"], ca_data=state["caData"])  # fmt: skip
    base = engine.configs[STACK]
    head = copy.deepcopy(base)
    head["eks-access:cluster"]["name"] = "dev-2"
    (ops,) = offline_operations([{"base": base, "head": head, "others": {}, "moved": []}], work)
    engine.configure(STACK, head)
    planned = engine.preview(STACK)
    engine.configure(STACK, base)
    differences = compare(ops, planned)
    replaced = sorted(u.rsplit("::", 1)[-1] for u, s in planned.items()
                      if s["op"] == "replace" and s.get("replaceKeys") == ["provider"])  # fmt: skip
    arn = f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/dev-2"
    stop = guards.cluster_change([operations.Operation.from_json(o) for o in ops], arn)
    log("\n== another cluster: cluster.name dev -> dev-2 (preview only)")
    log(f"   engine preview: provider replaced, {len(replaced)} objects replaced create-first "
        f"(replace key: provider){' = offline' if not differences else ' != offline'}")  # fmt: skip
    log(f"   offline plan: stopped: {stop}")
    if differences or not replaced or stop is None:
        tally.failures.append("another cluster: " + "\n    ".join(
            [*differences, *([] if replaced else ["no object replaced for the provider"]),
             *([] if stop else ["the plan did not stop"])]))  # fmt: skip


NEW_NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eks-ng-2-NodeInstanceRole"


def _aws_auth(cluster: Any) -> dict[str, Any]:
    out = cluster.kubectl("get", "configmap", "aws-auth", "-n", "kube-system", "-o", "json")
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def live_preflight(engine: Engine, world: World, tally: Tally) -> None:
    """The live aws-auth preflight through the engine (docs/safety.md): after the dev stack's
    first `up`, EKS (another field manager) adds a node role to mapRoles; the preview and the
    `up` that only add a user stop before anything is registered, and the role stays;
    once the config lists it, `up` passes and keeps it."""
    from pulumi import automation as auto

    from e2e import run as kube
    from tests import everyday

    cluster = world.cluster
    base = for_engine(everyday.dev())
    engine.configure(STACK, base)
    engine.up(STACK)
    kube._update_aws_auth(
        cluster, "eks", "mapRoles",
        f"- groups:\n  - system:bootstrappers\n  - system:nodes\n  rolearn: {NEW_NODE_ROLE}\n"
        "  username: system:node:{{EC2PrivateDNSName}}\n",
    )  # fmt: skip
    before = _aws_auth(cluster)
    head = copy.deepcopy(base)
    next(t for t in head["eks-access:teams"] if t["name"] == "payments")["users"].append("dave")
    engine.configure(STACK, head)
    stopped = []
    for step in ("preview", "up"):
        try:
            getattr(engine.stack(STACK), step)(on_event=lambda e: None)
        except auto.errors.CommandError as e:
            if "live aws-auth preflight" in str(e) and NEW_NODE_ROLE in str(e):
                stopped.append(step)
    after = _aws_auth(cluster)
    problems = []
    if stopped != ["preview", "up"]:
        problems.append(f"the preflight stopped {stopped or 'nothing'}, not preview and up")
    if after["metadata"]["resourceVersion"] != before["metadata"]["resourceVersion"]:
        problems.append("the stopped up wrote aws-auth")
    if NEW_NODE_ROLE not in after["data"].get("mapRoles", ""):
        problems.append("the node role EKS added is gone after the stopped up")
    listed = copy.deepcopy(head)
    listed["eks-access:cluster"]["nodeRoleArns"].append(NEW_NODE_ROLE)
    engine.configure(STACK, listed)
    engine.up(STACK)
    node, dave = cluster.authmap(
        NEW_NODE_ROLE, [NEW_NODE_ROLE, f"arn:aws:iam::{ACCOUNT}:user/dave"]
    )
    if not (node["mapped"] and "system:nodes" in node["groups"]):
        problems.append(f"with the role in nodeRoleArns, up did not keep it mapped: {node}")
    if not dave["mapped"]:
        problems.append(f"with the role in nodeRoleArns, up did not map dave: {dave}")
    tally.failures.extend(f"live preflight: {p}" for p in problems)
    tally.applied += 2
    log(f"   live preflight: EKS added a node role; preview and up stopped "
        f"({', '.join(stopped) or 'none'}), aws-auth resourceVersion "
        f"{after['metadata']['resourceVersion']} untouched; listed in nodeRoleArns, up kept it "
        f"{'(checked)' if not problems else 'FAILED'}")  # fmt: skip


def move_users(engine: Engine, identity_raw: dict[str, Any]) -> None:
    """docs/fleets.md, steps 2 and 3: the users and their
    keys move to the identity stack, state only, and its `up` changes nothing."""
    engine.stack("identity")
    engine.configure("identity", identity_raw)
    urns = [
        line.split()[-1]
        for line in engine.cli("stack", "--stack", STACK, "--show-urns").splitlines()
        if "eks-access:index:ClusterUser::" in line and line.split()[-1].startswith("urn:")
    ]
    if not urns:
        raise MismatchError("no ClusterUser URN in `pulumi stack --show-urns`")
    engine.cli("state", "move", "--source", STACK, "--dest", "identity", "--yes", *urns)
    changes = engine.up("identity")
    if set(changes) - {"same"}:
        raise MismatchError(f"the identity stack's first up after the move changed {changes}")


@contextlib.contextmanager
def stand_ins(work: Path, endpoint: str, ca: str, token: str) -> Iterator[tuple[str, Path, Path]]:
    """moto's IAM server, the EKS stand-in's state (one cluster, CONFIG_MAP, on the real API
    server), and a bin folder with the stand-in plugin and an `aws` that prints the test's
    admin token for `aws eks get-token` (the program's kubeconfig runs it)."""
    from moto.server import ThreadedMotoServer

    from e2e.engine import add_cluster, write_launcher

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    state = work / "eks-state.json"
    add_cluster(state, STACK, authentication_mode="CONFIG_MAP", endpoint=endpoint, ca_data=ca)
    bin_dir = work / "bin"
    write_launcher(bin_dir)
    aws = bin_dir / "aws"
    credential = {
        "kind": "ExecCredential",
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "status": {"token": token},
    }
    aws.write_text(f"#!/bin/sh\necho '{json.dumps(credential)}'\n")
    aws.chmod(0o755)
    try:
        yield f"http://{host}:{port}", state, bin_dir
    finally:
        moto.stop()


def phase(name: str, titles: list[str], cluster: Any, plane: Any, tally: Tally, root: Path) -> None:
    import base64

    from e2e.engine.build import BIN, install_provider

    work = root / name
    work.mkdir()
    ca = base64.b64encode((plane.dir / "certs" / "apiserver.crt").read_bytes()).decode()
    endpoint = f"https://127.0.0.1:{plane.port}"
    with stand_ins(work, endpoint, ca, plane.token) as (moto_url, eks_state, bin_dir):
        home = root / "pulumi-home"
        install_provider(BIN / "pulumi", home)
        env = {
            "PATH": os.pathsep.join([str(bin_dir), str(BIN), os.environ.get("PATH", "")]),
            "PULUMI_HOME": str(home),
            "PULUMI_CONFIG_PASSPHRASE": "e2e-engine",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            "EKS_STANDIN_MOTO": moto_url,
            "EKS_STANDIN_STATE": str(eks_state),
            "EKS_STANDIN_ACCOUNT": ACCOUNT,
        }
        os.environ.pop("PULUMI_IGNORE_AMBIENT_PLUGINS", None)  # the stand-in is ambient
        os.environ.update(env)  # the inline program and the CLI both see it
        backend = work / "backend"
        backend.mkdir()
        engine = Engine(home, backend, env)
        world = World(cluster, moto_url, eks_state)
        if name == "dev" and titles is PHASE_1:
            seed_outcomes(engine, world, tally)
            live_preflight(engine, world, tally)
        run_rows(titles, engine, world, tally, work)
        if name == "dev" and titles is PHASE_1:
            cluster_change(engine, world, tally, work)
        engine.stack(STACK).destroy(on_event=lambda e: None)
        if "identity" in engine.stacks:  # after the stack that references it
            engine.stack("identity").destroy(on_event=lambda e: None)
        after_destroy(world, cluster)


def after_destroy(world: World, cluster: Any) -> None:
    users = world.users()
    if users:
        raise MismatchError(f"destroy left IAM users {sorted(users)}")
    aws_auth = cluster.kubectl("get", "configmap", "aws-auth", "-n", "kube-system", "-o", "json")
    if "eks-node-group" not in aws_auth.stdout:
        raise MismatchError("destroy took the node role out of aws-auth")
    namespaces = cluster.kubectl("get", "namespaces", "-o", "name").stdout
    if "namespace/payments" not in namespaces:
        raise MismatchError("destroy deleted a namespace the program created (they are retained)")
    log("   destroy: IAM users and keys gone from moto; aws-auth and namespaces kept")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--control",
        action="store_true",
        help="break one lifecycle rule (an association created before its old self is deleted) "
        "and pass only if the run catches it",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from e2e import run as kube
    from e2e.engine import build

    started = time.time()
    kube.build()
    build.cli()
    build.provider()
    log(f"binaries ready in {time.time() - started:.0f} s ({build.BIN})")
    root = Path(tempfile.mkdtemp(prefix="eks-access-engine-"))
    tally = Tally()
    plane = kube.ControlPlane(root, "clusterrole-aggregation,garbagecollector,namespace")
    try:
        plane.start()
        cluster = kube.Cluster(plane.kubeconfig, plane.port, plane.token)
        # aws-auth as EKS creates it: node role only, written by another manager.
        cluster.apply([kube.eks_aws_auth(f"arn:aws:iam::{ACCOUNT}:role/eks-node-group")], "eks")
        if args.control:
            break_association_rule()
            flip_group_policy_row(root)
            log("\n== control: associations replaced create-first (the rule removed), and the "
                "model's GroupPolicy row flipped back to create-first")  # fmt: skip
            phase("dev", CONTROL, cluster, plane, tally, root)
        else:
            log("\n== phase 1: the dev stack through every mode")
            phase("dev", PHASE_1, cluster, plane, tally, root)
            log("\n== phase 2: handing users over to an identity stack (README steps)")
            phase("identity", PHASE_2, cluster, plane, tally, root)
    finally:
        plane.stop()
        if not args.keep and not tally.failures:
            shutil.rmtree(root, ignore_errors=True)
    for failure in tally.failures:
        log(f"FAILED {failure}")
    if args.control:
        flipped = "offline {'op': 'replace', 'deleteBeforeReplace': False"
        caught = {
            "the association rule": any("associations {}" in f for f in tally.failures),
            "the GroupPolicy row": any(
                "groupPolicy:GroupPolicy" in line and flipped in line
                and "engine {'op': 'replace', 'deleteBeforeReplace': True" in line
                for f in tally.failures for line in f.splitlines()
            ),
        }  # fmt: skip
        for what, found in caught.items():
            log(f"control: {what} broken was {'caught' if found else 'NOT caught'}")
        return 0 if all(caught.values()) else 1
    total = len(PHASE_1) + len(PHASE_2)
    log(
        f"\nengine: {tally.applied} changes applied with the real Pulumi engine; preview matched "
        f"the offline operations in {tally.matched} of {total}; access after each update "
        f"matched can-i for {tally.principals} principals"
    )
    log(f"make e2e-engine {'passed' if not tally.failures else 'FAILED'} in "
        f"{time.time() - started:.0f} s")  # fmt: skip
    return 1 if tally.failures or tally.matched != total else 0


if __name__ == "__main__":
    sys.exit(main())
