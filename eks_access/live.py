"""The live aws-auth before the program writes it: what the stack wrote, what others wrote, and
whether the next write may go ahead.

The program owns aws-auth's ``mapRoles`` and ``mapUsers`` (and ``mapAccounts`` when it maps
accounts) with a forced server-side apply, rendered from config alone. Server-side apply owns each
key as one field, so the live object cannot tell a line this stack wrote earlier (and now removes
on purpose) from a line EKS or a person added. The stack keeps its own record: an annotation on
the ConfigMap, written by the same patch, listing every ARN (and account) it mapped.

A live line is *foreign* when its ARN is neither in the config nor in that record. Writing would
remove it, so the run stops with the fix, unless the ARN is listed in
``eks-access:removeLiveMappings``: one acknowledgement per line, so it never silences the next
surprise. Node-shaped lines (what EKS writes for a managed node group or a Fargate profile) get
their own message: the fix is to list the role under the cluster.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eks_access import arns, awsauth
from eks_access.fields import NAMESPACE
from eks_access.kinds.base import NodeKind
from eks_access.kinds.nodes import FARGATE, HYBRID, LINUX, WINDOWS

RECORD_ANNOTATION = "eks-access/mapped"
"""Annotation on kube-system/aws-auth: what this stack's patch mapped, by ARN and account."""
REMOVE_KEY = f"{NAMESPACE}:removeLiveMappings"
RECORD_VERSION = 2

_NODE_GROUPS = {"system:nodes", "system:bootstrappers", "system:node-proxier"}


class LiveError(ValueError):
    """A live object that is not an aws-auth ConfigMap as kubectl or the API server prints it."""


@dataclass(frozen=True)
class LiveAwsAuth:
    """The live ``kube-system/aws-auth``: its data and annotations, nothing else."""

    data: Mapping[str, str]
    annotations: Mapping[str, str]
    source: str
    """Where it was read: ``the cluster`` or a file path (said in messages)."""

    @classmethod
    def from_object(cls, obj: Any, source: str) -> LiveAwsAuth:
        """From a ConfigMap as ``kubectl get cm aws-auth -n kube-system -o yaml|json`` prints
        it (or the Kubernetes provider reads it); a List of one ConfigMap is taken too."""
        if isinstance(obj, Mapping) and obj.get("kind") == "List":
            items = [i for i in obj.get("items") or [] if _is_aws_auth(i)]
            if len(items) != 1:
                raise LiveError(f"{source}: a List without exactly one aws-auth ConfigMap")
            obj = items[0]
        if not isinstance(obj, Mapping) or obj.get("kind", "ConfigMap") != "ConfigMap":
            raise LiveError(f"{source}: not a ConfigMap; export it with {EXPORT_COMMAND}")
        meta = obj.get("metadata") or {}
        if not isinstance(meta, Mapping):
            raise LiveError(f"{source}: metadata is not a mapping")
        if (meta.get("name"), meta.get("namespace", awsauth.NAMESPACE)) != (
            awsauth.NAME,
            awsauth.NAMESPACE,
        ):
            raise LiveError(
                f"{source}: ConfigMap {meta.get('namespace')}/{meta.get('name')} is not "
                f"{awsauth.NAMESPACE}/{awsauth.NAME}"
            )
        data = obj.get("data") or {}
        annotations = meta.get("annotations") or {}
        if not isinstance(data, Mapping) or not isinstance(annotations, Mapping):
            raise LiveError(f"{source}: data and metadata.annotations must be mappings")
        return cls(
            {str(k): str(v) for k, v in data.items()},
            {str(k): str(v) for k, v in annotations.items()},
            source,
        )


EXPORT_COMMAND = "kubectl get configmap aws-auth -n kube-system -o yaml > DIR/aws-auth.yaml"


def _is_aws_auth(obj: Any) -> bool:
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    return isinstance(meta, Mapping) and meta.get("name") == awsauth.NAME


def as_eks_creates_it(roles: Sequence[tuple[NodeKind, str]]) -> LiveAwsAuth:
    """The aws-auth EKS writes for these node roles (kind, ARN) of managed node groups and
    Fargate profiles: what the offline plan assumes without ``--live``. It has no record, and
    every line is one of the config's node roles, as aws-auth writes it (no path)."""
    lines = [
        {
            "rolearn": arns.parse_iam_arn(arn).aws_auth_arn,
            "username": kind.username,
            "groups": list(kind.groups),
        }
        for kind, arn in roles
        if kind.aws_auth  # Auto Mode and HyperPod nodes have entries, never an aws-auth line
    ]
    return LiveAwsAuth(
        {"mapRoles": awsauth._dump(lines)} if lines else {}, {}, "assumed as EKS creates it"
    )


# --- the record ---------------------------------------------------------------------------------


def mapping_key(arn: str) -> str:
    """What a line or an acknowledgement is compared by: the ARN as aws-auth writes it (a role
    without its path, as STS names it), lower-cased as the authenticator compares; an account
    of ``mapAccounts`` as it is."""
    try:
        return arns.parse_iam_arn(arn).aws_auth_arn.lower()
    except arns.ArnError:
        return arn.strip().lower()


def _digest(key: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()[:8]).decode()[:11]


def record(data: Mapping[str, str]) -> str:
    """The annotation's value for the rendered ``data``: a short digest (64 bits of SHA-256) of
    every ARN and account it maps. Fixed size per principal, whatever the names: 8,000 mappings
    fit in about 110 KB, under Kubernetes' 256 KiB for all of an object's annotations (the names
    themselves, 64 characters each, would not)."""
    lines, _ = live_lines(data)
    digests = sorted({_digest(line.key) for line in lines})
    return json.dumps({"v": RECORD_VERSION, "sha256": digests}, separators=(",", ":"))


def read_record(annotations: Mapping[str, str]) -> tuple[set[str] | None, str | None]:
    """The digests of what the stack wrote last time, or None when there is no record (with
    why, when one is there but unreadable)."""
    text = annotations.get(RECORD_ANNOTATION)
    if text is None:
        return None, None
    try:
        doc = json.loads(text)
        if doc.get("v") != RECORD_VERSION or not isinstance(doc.get("sha256"), list):
            raise ValueError("not this version's record")
        return {str(d) for d in doc["sha256"]}, None
    except (ValueError, TypeError, AttributeError):
        return None, f"annotation {RECORD_ANNOTATION} does not parse, so it is ignored"


# --- the check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveLine:
    """One mapping in the live aws-auth."""

    section: str
    """``mapRoles``, ``mapUsers`` or ``mapAccounts``."""
    arn: str
    """The ARN as written (an account ID in ``mapAccounts``)."""
    username: str = ""
    groups: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return mapping_key(self.arn)

    @property
    def is_hybrid(self) -> bool:
        """EKS Hybrid Nodes' shape: a node username from the session, not a Fargate profile."""
        return (
            self.section == "mapRoles"
            and self.username == "system:node:{{SessionName}}"
            and "system:node-proxier" not in self.groups
        )

    @property
    def node_kind(self) -> str | None:
        """The config key a node-shaped line belongs under (None: not node-shaped)."""
        if self.section == "mapAccounts":
            return None
        if "system:node-proxier" in self.groups:
            return FARGATE.config_key
        if "eks:kube-proxy-windows" in self.groups:
            return WINDOWS.config_key
        if self.is_hybrid:
            return HYBRID.config_key
        if _NODE_GROUPS & set(self.groups) or self.username.startswith("system:node:"):
            return LINUX.config_key
        return None

    def describe(self) -> str:
        if self.section == "mapAccounts":
            return f"account {self.arn} (mapAccounts)"
        unreachable = "" if arns.reachable(self.key) else "; no caller matches it (role path)"
        return (
            f"{self.arn} (username {self.username or '(none)'!r}, groups "
            f"[{', '.join(self.groups)}], in {self.section}{unreachable})"
        )


@dataclass(frozen=True)
class Preflight:
    """The verdict on writing the desired aws-auth over the live one."""

    stops: tuple[str, ...]
    """Why the write must not happen; each names the line and the fix."""
    warnings: tuple[str, ...]
    removed: tuple[LiveLine, ...]
    """Foreign lines the write removes because ``removeLiveMappings`` lists them."""
    recorded: bool
    """Whether the live object carried this stack's record."""
    foreign: tuple[LiveLine, ...] = ()
    """The lines that stop the run (one per stop, in order)."""


def live_lines(data: Mapping[str, str]) -> tuple[list[LiveLine], list[str]]:
    """Every mapping the live data holds, read as the authenticator reads it, and what it drops
    (a key that does not parse maps nobody today)."""
    parsed = awsauth.parse(data)
    lines = [
        LiveLine("mapRoles" if m.kind == "role" else "mapUsers", m.arn, m.username, m.groups)
        for m in (*parsed.roles.values(), *parsed.users.values())
    ]
    lines += [LiveLine("mapAccounts", a) for a in parsed.accounts]
    return lines, parsed.dropped


def preflight(
    live: LiveAwsAuth, desired: Mapping[str, str], acknowledged: Collection[str] = ()
) -> Preflight:
    """Whether writing ``desired`` (the rendered data) over ``live`` removes only what this stack
    wrote, or lines that ``acknowledged`` (``removeLiveMappings``: ARNs or accounts) lists."""
    acks = {mapping_key(a) for a in acknowledged}
    desired_lines = {line.key: line for line in live_lines(desired)[0]}
    wanted = set(desired_lines)
    recorded, record_problem = read_record(live.annotations)
    lines, dropped = live_lines(live.data)
    owned = {"mapRoles", "mapUsers"} | ({"mapAccounts"} if "mapAccounts" in desired else set())
    warnings = [f"live aws-auth ({live.source}): {d}" for d in dropped]
    if record_problem:
        warnings.append(f"live aws-auth ({live.source}): {record_problem}")

    def ours(line: LiveLine) -> bool:
        return line.key in wanted or (recorded is not None and _digest(line.key) in recorded)

    stops: list[str] = []
    removed: list[LiveLine] = []
    stopped: list[LiveLine] = []  # the line of each stop, in order
    foreign: dict[str, LiveLine] = {}
    for line in sorted(lines, key=lambda x: (x.section, x.key)):
        if line.section not in owned:
            continue
        if line.key in wanted and line.key != line.arn.lower():
            # a role written with its path: no caller ever matched it; the config maps it
            warnings.append(
                f"live aws-auth: {line.describe()} is replaced by the config's mapping of the "
                "same role without its path (the only form a caller matches)"
            )
            continue
        mine = desired_lines.get(line.key)
        if (
            mine is not None
            and line.node_kind is not None
            and mine.node_kind is not None
            and (line.username, sorted(line.groups)) != (mine.username, sorted(mine.groups))
        ):
            # A node role listed under another node kind than its live line's: the write would
            # give its nodes another username and groups, and they could not join.
            stops.append(
                f"live aws-auth maps node role {line.describe()}, but the config lists it in "
                f"{NAMESPACE}:cluster.{mine.node_kind} (username {mine.username!r}): the write "
                "would change how its nodes log in, and they could not join; move it to "
                f"{NAMESPACE}:cluster.{line.node_kind}, the list of its live shape"
            )
            stopped.append(line)
            continue
        if ours(line):
            continue
        foreign[line.key] = line
        if line.key not in acks:
            stopped.append(line)
        if line.key in acks:
            removed.append(line)
            warnings.append(
                f"live aws-auth: {line.describe()} is removed by this run, as {REMOVE_KEY} lists it"
            )
        elif (key := line.node_kind) is not None:
            written = (
                "by hand, for EKS Hybrid Nodes"
                if line.is_hybrid
                else ("by EKS for a node group or Fargate profile, or by hand")
            )
            stops.append(
                f"live aws-auth maps node role {line.describe()}, written {written}; "
                f"add it to {NAMESPACE}:cluster.{key}, or the next "
                "up removes it and its nodes cannot join (if its nodes are gone, list it in "
                f"{REMOVE_KEY} to let the up remove it)"
            )
        else:
            stops.append(
                f"live aws-auth maps {line.describe()}, which neither the config nor this stack "
                "wrote (a hand edit, eksctl create iamidentitymapping, or EKS); add it to a team "
                f"to keep it, or list {line.arn!r} in {REMOVE_KEY} to let the next up remove it"
            )
    if recorded is None and len(removed) < len(foreign):
        warnings.append(
            f"live aws-auth ({live.source}) has no {RECORD_ANNOTATION} record of what this stack "
            "wrote (the first run of this version, or a stack that never wrote it): every live "
            "line not in the config counts as written by someone else until the record exists"
        )
    sections = {line.key: line.section for line in lines}
    for ack in sorted(acks - set(foreign)):
        if ack in wanted:
            why = "which the config maps (the config keeps it)"
        elif sections.get(ack) in owned:
            why = "a line this stack wrote itself (removing it needs no acknowledgement)"
        elif ack in sections:
            why = f"in {sections[ack]}, which this stack does not write (it stays)"
        else:
            why = f"which the live aws-auth ({live.source}) does not hold"
        warnings.append(f"{REMOVE_KEY} lists {ack!r}, {why}; take it off the list")
    return Preflight(
        tuple(stops), tuple(warnings), tuple(removed), recorded is not None, tuple(stopped)
    )


AWS_AUTH_FILE = "aws-auth.yaml"
"""Its file in an export folder (``eks_access.cluster_view``)."""
