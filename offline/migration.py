"""`migrate`: the ordered steps from one authentication mode to the next, proven safe.

Each step is either a cluster command (the mode switch, one way) or a config edit followed by
`pulumi up`. The config edits are planned offline; every state the cluster passes through is
then resolved the way EKS resolves identities, and compared with the state before the first
step: if any principal would lose or change its identity, the migration is reported unsafe.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from eks_access import access_entries, modes, principals
from eks_access import config as core
from eks_access.stackfile import StackFile
from offline import plan, run


@dataclass
class Step:
    title: str
    commands: list[str] = field(default_factory=list)
    config_edit: dict[str, Any] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    state: modes.ClusterState | None = None
    lost: list[str] = field(default_factory=list)


@dataclass
class Migration:
    current: core.AuthMode
    target: core.AuthMode
    steps: list[Step]

    @property
    def safe(self) -> bool:
        return not any(s.lost for s in self.steps)


def _plan(stack: StackFile, raw: dict[str, Any]) -> run.RunResult:
    edited = StackFile(stack.path, stack.project_dir, stack.project, stack.stack, raw)
    edited.load()  # the edited config must itself be valid
    mode = raw["eks-access:cluster"].get("authenticationMode", "CONFIG_MAP")
    cloud = run.placeholder_cloud(edited)
    # The program checks the live mode; plan each edit against the cluster state it runs in.
    cloud.authentication_mode = "API_AND_CONFIG_MAP" if mode != "CONFIG_MAP" else "CONFIG_MAP"
    return run.run(edited, cloud)


def _diff(before: run.RunResult, after: run.RunResult) -> list[str]:
    old = {r.urn: r for r in before.resources if r.custom}
    new = {r.urn: r for r in after.resources if r.custom}
    lines = [f"+ {new[u].type} {new[u].name}" for u in sorted(new.keys() - old.keys())]
    lines += [
        f"- {old[u].type} {old[u].name}"
        + (" (retained: the cluster keeps it)" if old[u].options.get("retainOnDelete") else "")
        for u in sorted(old.keys() - new.keys())
    ]
    lines += [
        f"~ {new[u].type} {new[u].name}"
        for u in sorted(old.keys() & new.keys())
        if old[u].inputs != new[u].inputs
    ]
    return lines


def _created_here(cluster: core.Cluster, arn: str) -> bool:
    return cluster.model_copy(update={"node_access_entries": "create"}).creates_node_entry(arn)


def plan_migration(
    stack: StackFile, target: core.AuthMode, node_access_entries: str | None = None
) -> Migration:
    """The steps from the stack's mode to ``target``; raises ValueError when it cannot be done."""
    config = stack.load()
    cluster = config.cluster
    current = cluster.authentication_mode
    path = modes.path(current, target)
    node_entries = node_access_entries or cluster.node_access_entries
    if "API" in path and node_entries is None and cluster.create is None:
        raise ValueError(
            "refusing to plan a move to API: node roles are known only from aws-auth, which API "
            "mode stops reading. Re-run with --node-access-entries create (this program makes "
            "the node roles' entries, EC2_LINUX for nodeRoleArns, ...; list those EKS made in "
            "cluster.eksManagedNodeRoles) or --node-access-entries eks-managed (EKS made them "
            "all: managed node groups and Fargate profiles)"
        )
    if cluster.create is not None:
        raise ValueError(
            "cluster.create: pulumi-eks owns this cluster's mode; edit "
            "cluster.authenticationMode and run `pulumi up` (it performs the switch itself)"
        )
    raw = copy.deepcopy(stack.raw)
    result = _plan(stack, raw)
    # The node entries EKS makes itself (never the program's): every node role's with
    # eks-managed; with create, those listed in eksManagedNodeRoles. EKS makes none for a
    # hybrid or HyperPod role, or a NodeClass's own: those listed as EKS's are assumed right.
    managed = tuple(
        (p.arn.arn, access_entries.NODE_ENTRY_TYPES[p.kind])
        for p in principals.principals(config)
        if p.is_node
        and (
            node_entries == "eks-managed"
            or (node_entries == "create" and not _created_here(cluster, p.arn.arn))
        )
    )

    def state(
        mode: core.AuthMode, aws_auth: dict[str, str], res: run.RunResult
    ) -> modes.ClusterState:
        eks_made = managed if mode != "CONFIG_MAP" else ()
        return modes.ClusterState(mode, aws_auth, tuple(plan.access_entries(res)), eks_made)

    cluster_mode: core.AuthMode = current
    written_aws_auth = plan.aws_auth_data(result)
    baseline = modes.effective_identities(state(cluster_mode, written_aws_auth, result))
    steps: list[Step] = []

    def record(step: Step, res: run.RunResult) -> None:
        step.state = state(cluster_mode, written_aws_auth, res)
        step.lost = modes.lost_access(baseline, modes.effective_identities(step.state))
        steps.append(step)

    for mode in path:
        switch = Step(
            f"Switch the cluster to {mode} (one way: it cannot be undone)",
            commands=[modes.cluster_command(config.region, cluster.name, mode)],
            changes=["EKS now reads access entries as well as aws-auth; nobody's access changes"]
            if mode == "API_AND_CONFIG_MAP"
            else ["EKS stops reading aws-auth; access now comes from access entries alone"],
        )
        edit: dict[str, str] = {"authenticationMode": mode}
        if node_entries and raw["eks-access:cluster"].get("nodeAccessEntries") != node_entries:
            edit["nodeAccessEntries"] = node_entries
        raw["eks-access:cluster"] = {**raw["eks-access:cluster"], **edit}
        after = _plan(stack, raw)
        apply = Step(
            f"Set cluster.authenticationMode: {mode} in {stack.path.name}, review "
            "`pulumi preview --diff`, then `pulumi up`",
            commands=["pulumi preview --diff", "pulumi up"],
            config_edit=edit,
            changes=_diff(result, after),
        )
        if mode == "API_AND_CONFIG_MAP":
            cluster_mode = mode
            record(switch, result)
            written_aws_auth = plan.aws_auth_data(after) or written_aws_auth
            record(apply, after)
        else:
            # The program stops writing aws-auth first (its patch is retained, so the cluster
            # keeps reading the same mappings), then the cluster stops reading aws-auth.
            written_aws_auth = plan.aws_auth_data(after) or written_aws_auth
            record(apply, after)
            cluster_mode = mode
            record(switch, after)
        result = after
    return Migration(current, target, steps)


def to_json(m: Migration) -> dict[str, Any]:
    """The migration as data (``migrate --format json``)."""
    return {
        "from": m.current,
        "to": m.target,
        "safe": m.safe,
        "steps": [
            {
                "title": s.title,
                "commands": s.commands,
                "configEdit": s.config_edit,
                "changes": s.changes,
                "lost": s.lost,
            }
            for s in m.steps
        ],
    }


def render(m: Migration, stack: StackFile) -> str:
    if not m.steps:
        return f"{stack.path.name} is already in {m.target}; nothing to do."
    out = [
        f"Migration of stack {stack.stack!r} from {m.current} to {m.target}: "
        f"{len(m.steps)} steps, in this order.",
        "",
    ]
    for i, step in enumerate(m.steps, 1):
        out.append(f"{i}. {step.title}")
        for c in step.commands:
            out.append(f"   $ {c}")
        if step.config_edit:
            out.append("   config edit (under eks-access:cluster):")
            out += [f"     {k}: {v}" for k, v in step.config_edit.items()]
        out.append("   what changes:")
        out.append(modes.describe(step.changes))
        assert step.state is not None
        n = len(modes.effective_identities(step.state))
        verdict = (
            "UNSAFE: " + "; ".join(step.lost)
            if step.lost
            else (f"safe: all principals keep their identity ({n} resolved)")
        )
        out.append(f"   access after this step: {verdict}")
        out.append("")
    out.append(
        "Verdict: "
        + (
            "safe, nobody loses access at any step."
            if m.safe
            else "UNSAFE, fix the config before migrating."
        )
    )
    return "\n".join(out)
