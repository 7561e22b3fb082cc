"""eks-access: who may do what in which EKS cluster, from stack config."""

import pulumi

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
    TeamRoleArgs,
    UserAccess,
    UserAccessArgs,
)
from components.cluster import ClusterHandle, Lookups, cluster_handle, preflight
from components.stack_config import read_stack_config
from components.user_access import IdentityStackUser
from eks_access import arns, iam, rbac, team_roles
from eks_access import config as core
from eks_access.principals import TEAM_ROLE_SOURCE


def cluster_user(
    user: core.User, config: core.StackConfig | core.IdentityConfig, active: bool = True
) -> ClusterUser:
    handing_over = config.identity is not None and config.identity.mode == "handover"
    return ClusterUser(
        user.name,
        ClusterUserArgs(
            user_name=user.name,
            path=user.path,
            key_generations=user.keys,
            pgp_key=config.user_pgp_key(user),
            retain=handing_over,
            active=active,
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
    found = preflight(config)  # every lookup and stop, before anything is registered
    cluster = cluster_handle(config, found)  # existing or created, and its Kubernetes provider
    k8s_opts = pulumi.ResourceOptions(providers=[cluster.provider])
    namespaces = Namespaces(
        "namespaces", NamespacesArgs(rbac.namespace_objects(config.teams)), opts=k8s_opts
    )
    teams = team_components(config, found, cluster, namespaces, k8s_opts)
    owned, users = user_components(config, found, teams)
    if cluster.writes_mappings:
        mappings(config, found, teams, users, k8s_opts)
    exports(config, cluster, teams, owned, users)


def team_components(
    config: core.StackConfig,
    found: Lookups,
    cluster: ClusterHandle,
    namespaces: Namespaces,
    k8s_opts: pulumi.ResourceOptions,
) -> dict[str, Team]:
    return {
        team.name: Team(
            team.name,
            TeamArgs(
                group_name=iam.group_name(config.cluster.name, team.name),
                kubernetes_group=team.kubernetes_group,
                cluster_arn=cluster.arn,
                rbac=rbac.team_objects(team),
                namespaces=namespaces.resources,
                renamed_from=team.renamed_from,
                role=TeamRoleArgs(
                    name=team_roles.role_name(config.cluster.name, team.name),
                    trust_policy=team_roles.trust_policy(
                        found.partition, found.users_account, team.require_mfa
                    ),
                )
                if team.access == "role"
                else None,
            ),
            opts=k8s_opts,
        )
        for team in config.teams
    }


def user_components(
    config: core.StackConfig, found: Lookups, teams: dict[str, Team]
) -> tuple[dict[str, ClusterUser], dict[str, UserAccess]]:
    """The IAM users this stack creates, and every user's access (its team groups)."""
    owned: dict[str, ClusterUser] = {}
    referenced = None if config.creates_users else config.identity
    identities = found.identities  # read and checked by the preflight
    users: dict[str, UserAccess] = {}
    for name, (user, team_names) in core.iam_users(config).items():
        source: ClusterUser | IdentityStackUser
        if referenced is None or identities is None:
            source = owned[name] = cluster_user(user, config, active=bool(team_names))
        else:  # an identity stack owns the user: take it from its outputs
            source = IdentityStackUser(
                identities=identities.get_output("users"),
                identity_stack=referenced.stack or "",
                expected_arn=arns.user_arn(
                    found.partition, found.users_account, user.name, user.path
                ).arn,
            )
        users[name] = UserAccess(
            name,
            UserAccessArgs(
                user_name=user.name,
                groups=[teams[t].iam_group_name for t in team_names],
                user=source,
            ),
        )
    return owned, users


def mappings(
    config: core.StackConfig,
    found: Lookups,
    teams: dict[str, Team],
    users: dict[str, UserAccess],
    k8s_opts: pulumi.ResourceOptions,
) -> None:
    """aws-auth and the access entries of a cluster the stack does not create."""
    # Mappings change after the bindings they lead to exist: a member moved into a team's new
    # group (a rename) is never in it before the group is bound to anything.
    # A role team's mapping (its role's line, in the same write that drops its members' own
    # lines when a team switches) waits for the role and the group policy that lets the
    # members assume it too: a role that could not be made must not cost them their access.
    after_rbac = pulumi.ResourceOptions(
        depends_on=[r for t in teams.values() for r in (t.rbac, *t.assumable)]
    )
    if config.cluster.writes_aws_auth:
        aws_auth = AwsAuth(
            "aws-auth",
            AwsAuthArgs(principals=found.everyone, accounts=config.cluster.map_accounts),
            opts=pulumi.ResourceOptions.merge(k8s_opts, after_rbac),
        )
        pulumi.export("awsAuth", aws_auth.data)
    if found.entries:
        # Entries of users this stack creates wait for them and follow their unique ID; a team
        # role's entry waits for the role (EKS refuses an entry for a principal not there yet).
        by_key = {p.entry_key: p.arn.name for p in found.everyone if p.managed}
        team_of = {
            p.entry_key: teams[p.teams[0]] for p in found.everyone if p.source == TEAM_ROLE_SOURCE
        }
        roles = {k: t.role_arn for k, t in team_of.items() if t.role_arn is not None}
        # a role re-made under its name has another unique ID, which EKS's entry is bound to
        role_ids = {k: t.role_unique_id for k, t in team_of.items() if t.role_unique_id is not None}
        AccessEntries(
            "access-entries",
            AccessEntriesArgs(
                cluster_name=config.cluster.name,
                region=config.region,
                entries=found.entries,
                principal_arns={**{k: users[n].arn for k, n in by_key.items()}, **roles},
                replacement_triggers={
                    **{k: users[n].unique_id for k, n in by_key.items()},
                    **role_ids,
                },
            ),
            opts=after_rbac,
        )


def exports(
    config: core.StackConfig,
    cluster: ClusterHandle,
    teams: dict[str, Team],
    owned: dict[str, ClusterUser],
    users: dict[str, UserAccess],
) -> None:
    named = {t.name: t for t in config.teams}
    by_user = {n: [named[t] for t in ts] for n, (_, ts) in core.iam_users(config).items()}
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
                "kubeconfig": cluster.kubeconfig_for(
                    team_roles.kubeconfig_profile(config.cluster.name, name, by_user[name])
                ),
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
            n: {
                "iamGroup": t.iam_group_name,
                "kubernetesGroup": t.kubernetes_group,
                # access: role: what a member's AWS CLI profile names (docs/config.md)
                **(
                    {
                        "roleArn": t.role_arn,
                        "awsProfile": team_roles.role_name(config.cluster.name, n),
                    }
                    if t.role_arn is not None
                    else {}
                ),
            }
            for n, t in teams.items()
        },
    )
    pulumi.export("authenticationMode", config.cluster.authentication_mode)


config = read_stack_config()
if isinstance(config, core.IdentityConfig):
    identity_stack(config)
else:
    cluster_stack(config)
