"""What a cluster stack does before it registers anything, and the cluster it grants access to.

``preflight`` makes every lookup and every stop (the config's own guards, the caller's account,
permission sets, the aws-auth rendering and its size, the existing cluster's mode, the live
aws-auth, and in ``identity: {mode: reference}`` the identity stack's users): plain invokes and
reads, so a stop leaves IAM and Kubernetes untouched, in ``pulumi preview`` as in ``pulumi up``.
``cluster_handle`` then gives the rest of the program one view of the cluster, whether the stack
finds it or creates it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components import preflight as live_preflight
from components import sdk_internals
from components.lookups import permission_set_roles
from components.stack_config import stop
from components.user_access import identity_problem
from eks_access import (
    access_entries,
    arns,
    awsauth,
    created_cluster,
    guards,
    kinds,
    kubeconfig,
    modes,
)
from eks_access import config as core
from eks_access import principals as principals_module
from eks_access.access_entries import EntrySpec
from eks_access.principals import Principal


@dataclass(frozen=True)
class Lookups:
    """What the preflight found: everything the program needs to know before registering."""

    account: str
    """The caller's account (the cluster's)."""
    partition: str
    users_account: str
    """Where the IAM users live: the identity stack's account when one owns them, else this."""
    everyone: list[Principal]
    """Every principal the stack maps (node roles included)."""
    entries: list[EntrySpec]
    """Every access entry the stack owns (none in CONFIG_MAP)."""
    existing: aws.eks.GetClusterResult | None
    """The cluster as EKS describes it, when the stack does not create it."""
    identities: pulumi.StackReference | None = None
    """The identity stack that owns the users (``identity: {mode: reference}``), read and
    checked to hold every user this stack maps."""


def preflight(config: core.StackConfig) -> Lookups:
    """Every lookup and every stop, in that order, before any resource is registered."""
    # Plain invokes: their answers are known before any resource is registered, so every ARN
    # (and so aws-auth's text) shows in previews, and a wrong mode stops the run before changes.
    stop([problem] if (problem := guards.no_principals(config)) else [])
    account = aws.get_caller_identity().account_id
    partition = aws.get_partition().partition
    users_account = config.identity.account if config.identity else account
    stop(modes.account_problems(config, account))
    listed: dict[str, str] = {}  # permission set name -> where it is first listed
    for t, team in enumerate(config.teams):
        for i, item in enumerate(kinds.PERMISSION_SETS.items(team)):
            listed.setdefault(item.name, f"teams[{t}].{kinds.PERMISSION_SETS.config_key}[{i}]")
    roles, problems = permission_set_roles(listed)
    stop(problems)
    # through the module: the policy tests swap the function for one that makes a bad plan
    everyone = principals_module.principals(config, users_account, partition, roles)
    # A team role is created in this stack's account; the mapping must name it there.
    stop(
        [
            f"{p.teams[0]}: its `access: role` role would be mapped as {p.arn.arn}, but this "
            f"stack runs in account {account}, where it creates the role; list the cluster's "
            "node roles (their account is the cluster's) or run the stack in that account"
            for p in everyone
            if p.source == principals_module.TEAM_ROLE_SOURCE and p.arn.account != account
        ]
    )
    entries = access_entries.entries(config, users_account, partition, roles)
    identities = _identity_stack(config, partition, users_account)
    if config.cluster.create is not None:  # pulumi-eks makes it, and writes its mappings
        return Lookups(account, partition, users_account, everyone, entries, None, identities)

    rendered: dict[str, str] = {}
    if config.cluster.writes_aws_auth:
        # Rendered first, before any resource (AwsAuth renders the same again, in a few ms),
        # so an aws-auth that cannot be written stops the run before anything is changed.
        try:
            rendered = awsauth.render(everyone, config.cluster.map_accounts)
        except awsauth.AwsAuthError as e:
            stop([f"{core.NAMESPACE}:teams: {e}"])
        if warning := awsauth.size_warning(rendered):
            pulumi.log.warn(warning)
    found = aws.eks.get_cluster(name=config.cluster.name)
    stop(
        modes.live_mode_problems(
            found.access_configs[0].authentication_mode,
            config.cluster.authentication_mode,
            found.name,
            config.region,
        )
    )
    if config.cluster.writes_aws_auth:
        # The live aws-auth, so that the write never removes a line EKS or a person added
        # (docs/safety.md).
        live_preflight.check_live_aws_auth(
            found.name,
            _existing_kubeconfig(found, config.region, None),
            rendered,
            config.remove_live_mappings,
            pulumi.runtime.is_dry_run(),
        )
    return Lookups(account, partition, users_account, everyone, entries, found, identities)


def _identity_stack(
    config: core.StackConfig, partition: str, users_account: str
) -> pulumi.StackReference | None:
    """The identity stack that owns this stack's users, read now (a read changes nothing) and
    stopped on when it does not export a user this stack maps, with the ARN it maps: before
    any mapping of a user that is not there is written."""
    referenced = None if config.creates_users else config.identity
    if referenced is None:
        return None
    ref = pulumi.StackReference(referenced.stack or "")
    details = sdk_internals.wait(ref.get_output_details("users"))
    exported = details.value if details.value is not None else details.secret_value
    problems = [
        problem
        for user, _ in core.iam_users(config).values()
        if (
            problem := identity_problem(
                exported,
                user.name,
                referenced.stack or "",
                arns.user_arn(partition, users_account, user.name, user.path).arn,
            )
        )
    ]
    stop(problems)
    return ref


def _existing_kubeconfig(found: aws.eks.GetClusterResult, region: str, profile: str | None) -> str:
    return json.dumps(
        kubeconfig.render(
            found.name, found.endpoint, found.certificate_authorities[0].data, region, profile
        )
    )


@dataclass(frozen=True)
class ClusterHandle:
    """The cluster, existing or created: what the rest of the program needs of it."""

    arn: pulumi.Input[str]
    provider: k8s.Provider
    """The Kubernetes provider every object of the stack goes through."""
    kubeconfig_for: Callable[[str | None], pulumi.Input[str]]
    """A kubeconfig for an AWS profile (None: the ambient credentials, the admin's)."""
    writes_mappings: bool
    """Whether the stack writes aws-auth and the access entries itself (an existing cluster);
    pulumi-eks writes them for a cluster it creates, from its arguments."""


def cluster_handle(config: core.StackConfig, found: Lookups) -> ClusterHandle:
    existing = found.existing
    if existing is not None:
        arn: pulumi.Input[str] = existing.arn
        instance: pulumi.Input[str] = arns.cluster_instance(existing.arn, existing.created_at)

        def kubeconfig_for(profile: str | None) -> pulumi.Input[str]:
            return _existing_kubeconfig(existing, config.region, profile)

        admin = kubeconfig_for(None)
    else:
        created = eks.Cluster(
            config.cluster.name,
            **created_cluster.cluster_args(config, found.everyone, found.entries),
        )
        cluster_arn = arns.cluster_arn(
            found.partition, config.region, found.account, config.cluster.name
        )
        arn = cluster_arn

        # the EKS cluster pulumi-eks made: a re-made one (same name) is another instance
        def made_at(made: aws.eks.Cluster | None) -> pulumi.Output[str] | str:
            return made.created_at if made is not None else ""

        at: pulumi.Output[str] = created.eks_cluster.apply(made_at)
        instance = at.apply(lambda when: arns.cluster_instance(cluster_arn, when or None))

        def kubeconfig_for(profile: str | None) -> pulumi.Input[str]:
            return created.get_kubeconfig(profile_name=profile)

        admin = created.kubeconfig_json
    # clusterIdentifier: pulumi-kubernetes replaces the provider (and every object it manages)
    # only when this changes (another cluster, or the same name re-created), never for a
    # kubeconfig detail; setting it on an existing stack is an update. The plan stops on a
    # change (eks_access.guards.cluster_change).
    provider = k8s.Provider("kubernetes", kubeconfig=admin, cluster_identifier=instance)
    return ClusterHandle(arn, provider, kubeconfig_for, writes_mappings=existing is not None)
