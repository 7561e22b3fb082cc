"""Pulumi components that turn the core's desired state into resources."""

from components.access_entries import AccessEntries, AccessEntriesArgs
from components.aws_auth import AwsAuth, AwsAuthArgs
from components.cluster_user import ClusterUser, ClusterUserArgs
from components.namespaces import Namespaces, NamespacesArgs
from components.team import Team, TeamArgs, TeamRoleArgs
from components.team_rbac import TeamRbac, TeamRbacArgs
from components.user_access import UserAccess, UserAccessArgs

__all__ = [
    "AccessEntries",
    "AccessEntriesArgs",
    "AwsAuth",
    "AwsAuthArgs",
    "ClusterUser",
    "ClusterUserArgs",
    "Namespaces",
    "NamespacesArgs",
    "Team",
    "TeamArgs",
    "TeamRbac",
    "TeamRbacArgs",
    "TeamRoleArgs",
    "UserAccess",
    "UserAccessArgs",
]
