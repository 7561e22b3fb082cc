"""eks-access: who may do what in which EKS cluster, from stack config."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import (
    AwsAuth,
    AwsAuthArgs,
    ClusterUser,
    ClusterUserArgs,
    Namespaces,
    NamespacesArgs,
    Team,
    TeamArgs,
)
from components.stack_config import read_stack_config
from eks_access import config as core
from eks_access import iam, kubeconfig, principals, rbac

config = read_stack_config()

# The cluster and the account: invokes, so ARNs are known in previews.
cluster = aws.eks.get_cluster_output(name=config.cluster.name)
account_id = aws.get_caller_identity_output().account_id
partition = aws.get_partition_output().partition
endpoint = pulumi.Output.all(cluster.endpoint, cluster.certificate_authorities[0].data)


def kubeconfig_for(profile: str | None) -> pulumi.Output[str]:
    return endpoint.apply(
        lambda e: json.dumps(
            kubeconfig.render(config.cluster.name, e[0], e[1], config.region, profile)
        )
    )


provider = k8s.Provider("kubernetes", kubeconfig=kubeconfig_for(None))
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
            cluster_arn=cluster.arn,
            rbac=rbac.team_objects(team),
            namespaces=namespaces.resources,
        ),
        opts=k8s_opts,
    )
    for team in config.teams
}
users = {
    name: ClusterUser(
        name,
        ClusterUserArgs(
            user_name=user.name,
            path=user.path,
            groups=[teams[t].iam_group_name for t in team_names],
            key_generations=user.keys,
            pgp_key=config.user_pgp_key(user),
        ),
    )
    for name, (user, team_names) in core.iam_users(config).items()
}
aws_auth = AwsAuth(
    "aws-auth",
    AwsAuthArgs(
        principals=pulumi.Output.all(account_id, partition).apply(
            lambda v: principals.principals(config, v[0], v[1])
        )
    ),
    opts=k8s_opts,
)

pulumi.export(
    "users",
    {
        name: {
            "arn": u.arn,
            "accessKeyIds": u.access_key_ids,
            "encryptedSecrets": u.encrypted_secrets,
            "kubeconfig": kubeconfig_for(name),
        }
        for name, u in users.items()
    },
)
pulumi.export("accessKeySecrets", pulumi.Output.secret({n: u.secrets for n, u in users.items()}))
pulumi.export(
    "teams",
    {
        n: {"iamGroup": t.iam_group_name, "kubernetesGroup": t.kubernetes_group}
        for n, t in teams.items()
    },
)
pulumi.export("awsAuth", aws_auth.data)
