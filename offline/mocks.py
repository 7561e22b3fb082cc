"""Placeholder cloud for the mock runtime: invokes and computed outputs, no AWS, no network.

Every value invented here is a placeholder (IDs, the cluster endpoint, key material) and says
so in its text, except the account number, which is taken from the config's node-role ARNs so
that the plan's ARNs are coherent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from eks_access.kinds import permission_set
from eks_access.kinds.base import Context

PLACEHOLDER_SECRET_PREFIX = "placeholder-secret-"


def _digest(text: str, n: int = 12) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


class PlaceholderCloud(Mocks):
    """Answers the program's invokes and fills in the outputs AWS would compute."""

    def __init__(
        self,
        account: str,
        region: str,
        partition: str = "aws",
        authentication_mode: str = "CONFIG_MAP",
        stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
        cluster_account: str | None = None,
        caller_account: str | None = None,
    ):
        self.account = account
        self.cluster_account = cluster_account
        self.caller_account = caller_account
        """Where the program runs, when not the users' account (a cluster stack that only
        references an identity stack's users runs in the cluster's account)."""
        """Where the cluster and its IAM Identity Center roles are, when not ``account``."""
        self.region = region
        self.partition = partition
        self.authentication_mode = authentication_mode
        self.stack_outputs = dict(stack_outputs or {})
        """Outputs of referenced stacks by name (``org/project/stack``), for StackReference."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            name = str(state.get("name", args.name))
            if name not in self.stack_outputs:
                raise ValueError(f"no offline outputs for referenced stack {name!r}")
            return name, {
                "name": name,
                "outputs": dict(self.stack_outputs[name]),
                "secretOutputNames": [],
            }
        iam = f"arn:{self.partition}:iam::{self.account}"
        rid = f"{args.name}-id"
        if args.typ == "aws:iam/user:User":
            state["arn"] = f"{iam}:user{state.get('path', '/')}{state['name']}"
            state["uniqueId"] = f"placeholder-unique-id-{_digest(state['name'])}"
            rid = state["name"]
        elif args.typ == "aws:iam/group:Group":
            state["arn"] = f"{iam}:group{state.get('path', '/')}{state['name']}"
            rid = state["name"]
        elif args.typ == "aws:iam/role:Role":
            state["arn"] = f"{iam}:role{state.get('path', '/')}{state['name']}"
            state["uniqueId"] = f"placeholder-unique-id-{_digest(state['name'])}"
            rid = state["name"]
        elif args.typ == "aws:iam/accessKey:AccessKey":
            rid = f"placeholder-key-id-{args.name}"
            if state.get("pgpKey"):
                state["encryptedSecret"] = f"placeholder-pgp-encrypted-{_digest(args.name)}"
            else:
                state["secret"] = f"{PLACEHOLDER_SECRET_PREFIX}{_digest(args.name, 24)}"
        elif args.typ == "eks:index:Cluster":
            # pulumi-eks is a remote component: under mocks only its outputs exist.
            name = state.get("name") or args.name
            state["kubeconfigJson"] = json.dumps({"placeholder": f"kubeconfig of cluster {name}"})
            state["eksCluster"] = None  # a resource reference the mocks cannot make
        return rid, state

    def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            caller = self.caller_account or self.account
            return {
                "accountId": caller,
                "arn": f"arn:{self.partition}:iam::{caller}:user/placeholder-deployer",
                "userId": "placeholder-user-id",
                "id": self.account,
            }
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": self.partition, "dnsSuffix": "amazonaws.com", "id": self.partition}
        if args.token == "aws:eks/getCluster:getCluster":
            name = args.args["name"]
            return {
                "name": name,
                "id": name,
                "arn": f"arn:{self.partition}:eks:{self.region}:{self.account}:cluster/{name}",
                "endpoint": f"https://PLACEHOLDER.gr7.{self.region}.eks.amazonaws.com",
                "certificateAuthorities": [{"data": "UExBQ0VIT0xERVItQ0EtREFUQQ=="}],
                "accessConfigs": [{"authenticationMode": self.authentication_mode}],
                "version": "1.34",
                "status": "ACTIVE",
                "createdAt": "2026-01-01T00:00:00Z",  # placeholder: one instance per plan
            }
        if args.token == "aws:iam/getRoles:getRoles":
            # IAM Identity Center roles by name: one role per permission set, of the real shape.
            name = permission_set.name_of_regex(str(args.args.get("nameRegex", "")))
            ctx = Context(self.account, self.partition, self.region,
                          cluster_account=self.cluster_account)  # fmt: skip
            found = [permission_set.placeholder_arn(name, ctx)] if name else []
            return {
                "arns": found,
                "names": [a.rsplit("/", 1)[-1] for a in found],
                "id": self.region,
            }
        if args.token == "eks:index:Cluster/getKubeconfig":
            profile = args.args.get("profileName")
            return {"result": json.dumps({"placeholder": "kubeconfig", "profile": profile})}
        return {}
