"""eks-access: who may do what in which EKS cluster, from stack config."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components import (
    AccessEntries,
    AccessEntriesArgs,
    AwsAuth,
    AwsAuthArgs,
    ClusterUser,
    ClusterUserArgs,
    Namespaces,
    NamespacesArgs,
    Team,
    TeamArgs,
    UserAccess,
    UserAccessArgs,
)
from components.lookups import permission_set_roles
from components.preflight import check_live_aws_auth
from components.stack_config import read_stack_config, stop
from components.user_access import IdentityStackUser
from eks_access import (
    access_entries,
    arns,
    awsauth,
    created_cluster,
    guards,
    iam,
    kinds,
    kubeconfig,
    modes,
    rbac,
)
from eks_access import config as core
from eks_access.principals import principals


def cluster_user(user: core.User, config: core.StackConfig | core.IdentityConfig) -> ClusterUser:
    handing_over = config.identity is not None and config.identity.mode == "handover"
    return ClusterUser(
        user.name,
        ClusterUserArgs(
            user_name=user.name,
            path=user.path,
            key_generations=user.keys,
            pgp_key=config.user_pgp_key(user),
            retain=handing_over,
        ),
    )


def identity_stack(config: core.IdentityConfig) -> None:
    """An identity stack: the account's IAM users and keys, for cluster stacks to reference."""
    # No groups: each cluster stack adds the memberships of its own team groups.
    users = {name: cluster_user(user, config) for name, (user, _) in core.iam_users(config).items()}
    pulumi.export(
        "users",
        {
            name: {
                "arn": u.arn,
                "uniqueId": u.unique_id,
                "accessKeyIds": u.access_key_ids,
                "encryptedSecrets": u.encrypted_secrets,
            }
            for name, u in users.items()
        },
    )
    pulumi.export(
        "accessKeySecrets", pulumi.Output.secret({n: u.secrets for n, u in users.items()})
    )


def cluster_stack(config: core.StackConfig) -> None:
    """A cluster stack: access to one cluster (and, without an identity stack, its users)."""
    # Plain invokes: their answers are known before any resource is registered, so every ARN
    # (and so aws-auth's text) shows in previews, and a wrong mode stops the run before changes.
    stop([problem] if (problem := guards.no_principals(config)) else [])
    account = aws.get_caller_identity().account_id
    partition = aws.get_partition().partition
    # IAM users live in the identity stack's account when one owns them, else in this one.
    users_account = config.identity.account if config.identity else account
    stop(modes.account_problems(config, account))
    listed: dict[str, str] = {}  # permission set name -> where it is first listed
    for t, team in enumerate(config.teams):
        for i, item in enumerate(kinds.PERMISSION_SETS.items(team)):
            listed.setdefault(item.name, f"teams[{t}].{kinds.PERMISSION_SETS.key}[{i}]")
    roles, problems = permission_set_roles(listed)
    stop(problems)
    everyone = principals(config, users_account, partition, roles)
    entries = access_entries.entries(config, users_account, partition, roles)
    users_by_name = core.iam_users(config)

    if config.cluster.create is None and config.cluster.writes_aws_auth:
        # Rendered first, before any resource (AwsAuth renders the same again, in a few ms),
        # so an aws-auth that cannot be written stops the run before anything is changed.
        try:
            rendered = awsauth.render(everyone, config.cluster.map_accounts)
        except awsauth.AwsAuthError as e:
            stop([f"{core.NAMESPACE}:teams: {e}"])
        if warning := awsauth.size_warning(rendered):
            pulumi.log.warn(warning)

    if config.cluster.create is None:
        found = aws.eks.get_cluster(name=config.cluster.name)
        stop(
            modes.live_mode_problems(
                found.access_configs[0].authentication_mode,
                config.cluster.authentication_mode,
                found.name,
                config.region,
            )
        )
        cluster_arn: pulumi.Input[str] = found.arn
        instance: pulumi.Input[str] = arns.cluster_instance(found.arn, found.created_at)
        endpoint, ca = found.endpoint, found.certificate_authorities[0].data

        def kubeconfig_for(profile: str | None) -> pulumi.Input[str]:
            return json.dumps(kubeconfig.render(found.name, endpoint, ca, config.region, profile))

        admin_kubeconfig = kubeconfig_for(None)
        if config.cluster.writes_aws_auth:
            # Before anything is registered: the live aws-auth, so that the write never removes
            # a line EKS or a person added (docs/safety.md).
            check_live_aws_auth(
                found.name,
                str(admin_kubeconfig),
                rendered,
                config.remove_live_mappings,
                pulumi.runtime.is_dry_run(),
            )
    else:
        # pulumi-eks owns aws-auth (and the entries) of a cluster it creates: mappings go in here.
        created = eks.Cluster(
            config.cluster.name, **created_cluster.cluster_args(config, everyone, entries)
        )
        cluster_arn = arns.cluster_arn(partition, config.region, account, config.cluster.name)

        # the EKS cluster pulumi-eks made: a re-made one (same name) is another instance
        def made_at(made: aws.eks.Cluster | None) -> pulumi.Output[str] | str:
            return made.created_at if made is not None else ""

        at: pulumi.Output[str] = created.eks_cluster.apply(made_at)
        instance = at.apply(lambda when: arns.cluster_instance(cluster_arn, when or None))

        def kubeconfig_for(profile: str | None) -> pulumi.Input[str]:
            return created.get_kubeconfig(profile_name=profile)

        admin_kubeconfig = created.kubeconfig_json

    # clusterIdentifier: pulumi-kubernetes replaces the provider (and every object it manages)
    # only when this changes (another cluster, or the same name re-created), never for a
    # kubeconfig detail; setting it on an existing stack is an update. The plan stops on a
    # change (eks_access.guards.cluster_change).
    provider = k8s.Provider("kubernetes", kubeconfig=admin_kubeconfig, cluster_identifier=instance)
    k8s_opts = pulumi.ResourceOptions(providers=[provider])

    namespaces = Namespaces(
        "namespaces", NamespacesArgs(rbac.namespace_objects(config.teams)), opts=k8s_opts
    )
    teams = {
        team.name: Team(
            team.name,
            TeamArgs(
                group_name=iam.group_name(config.cluster.name, team.name),
                kubernetes_group=team.kubernetes_group,
                cluster_arn=cluster_arn,
                rbac=rbac.team_objects(team),
                namespaces=namespaces.resources,
                renamed_from=team.renamed_from,
            ),
            opts=k8s_opts,
        )
        for team in config.teams
    }
    owned: dict[str, ClusterUser] = {}  # the IAM users this stack creates
    referenced = None if config.creates_users else config.identity
    identities = pulumi.StackReference(referenced.stack or "") if referenced else None
    users: dict[str, UserAccess] = {}
    for name, (user, team_names) in users_by_name.items():
        source: ClusterUser | IdentityStackUser
        if referenced is None or identities is None:
            source = owned[name] = cluster_user(user, config)
        else:  # an identity stack owns the user: take it from its outputs
            source = IdentityStackUser(
                identities=identities.get_output("users"),
                identity_stack=referenced.stack or "",
                expected_arn=arns.user_arn(partition, users_account, user.name, user.path).arn,
            )
        users[name] = UserAccess(
            name,
            UserAccessArgs(
                user_name=user.name,
                groups=[teams[t].iam_group_name for t in team_names],
                user=source,
            ),
        )

    # Mappings change after the bindings they lead to exist: a member moved into a team's new
    # group (a rename) is never in it before the group is bound to anything.
    after_rbac = pulumi.ResourceOptions(depends_on=[t.rbac for t in teams.values()])
    if config.cluster.create is None and config.cluster.writes_aws_auth:
        aws_auth = AwsAuth(
            "aws-auth",
            AwsAuthArgs(principals=everyone, accounts=config.cluster.map_accounts),
            opts=pulumi.ResourceOptions.merge(k8s_opts, after_rbac),
        )
        pulumi.export("awsAuth", aws_auth.data)
    if config.cluster.create is None and entries:
        # Entries of users this stack creates wait for them and follow their unique ID.
        by_key = {p.entry_key: p.arn.name for p in everyone if p.managed}
        AccessEntries(
            "access-entries",
            AccessEntriesArgs(
                cluster_name=config.cluster.name,
                region=config.region,
                entries=entries,
                principal_arns={k: users[n].arn for k, n in by_key.items()},
                replacement_triggers={k: users[n].unique_id for k, n in by_key.items()},
            ),
            opts=after_rbac,
        )

    pulumi.export(
        "users",
        {
            name: {
                "arn": u.arn,
                **(
                    {
                        "accessKeyIds": owned[name].access_key_ids,
                        "encryptedSecrets": owned[name].encrypted_secrets,
                    }
                    if name in owned
                    else {}
                ),
                "kubeconfig": kubeconfig_for(name),
            }
            for name, u in users.items()
        },
    )
    if config.creates_users:  # else the identity stack exports them
        pulumi.export(
            "accessKeySecrets", pulumi.Output.secret({n: u.secrets for n, u in owned.items()})
        )
    pulumi.export(
        "teams",
        {
            n: {"iamGroup": t.iam_group_name, "kubernetesGroup": t.kubernetes_group}
            for n, t in teams.items()
        },
    )
    pulumi.export("authenticationMode", config.cluster.authentication_mode)


config = read_stack_config()
if isinstance(config, core.IdentityConfig):
    identity_stack(config)
else:
    cluster_stack(config)
