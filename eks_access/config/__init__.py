"""The stack config: what `Pulumi.<stack>.yaml` may say, validated into immutable models.

Structured config lives under the project namespace (``eks-access:cluster``,
``eks-access:teams``) beside ``aws:region``. :func:`load` turns the raw values into a
:class:`StackConfig` or raises :class:`ConfigError` with one :class:`Problem` per mistake, each
naming its config path (``teams[2].users[0].name``) and the fix. The modules, by job:

- ``fields``: names, limits and field validators; ``models``: the models;
- ``errors``: problems, and pydantic's errors rewritten into them;
- ``assembly``: shared team definitions and overrides;
- ``checks``: rules across entries; ``mode_checks``: what each authentication mode needs;
- ``loading``: raw config in, a model or every problem out.

The principals a team lists are the principal kinds' (``eks_access.kinds``).
"""

from eks_access.config.assembly import IDENTITY, OVERRIDES, TEAMS_FILE, merge_teams
from eks_access.config.loading import (
    iam_users,
    in_effect,
    load,
    load_as_written,
    load_identity,
)
from eks_access.config.models import (
    AUTH_MODES,
    AccessPolicy,
    AccessPolicyName,
    AuthMode,
    Cluster,
    ClusterAccess,
    CreateCluster,
    Identity,
    IdentityConfig,
    PolicyRule,
    Preset,
    StackConfig,
    Team,
)
from eks_access.fields import (
    BUILTIN_NAMESPACES,
    ENTRY_TEMPLATES,
    IAM_USER_NAME,
    KNOWN_VERBS,
    MAX_ACCESS_ENTRIES,
    MAX_ACCESS_KEYS,
    NAMESPACE,
    RESERVED_PREFIXES,
    ROLE_TEMPLATES,
    URL_VERBS,
    USER_TEMPLATES,
)
from eks_access.kinds.existing_user import ExistingUser
from eks_access.kinds.iam_role import Role
from eks_access.kinds.iam_user import User
from eks_access.kinds.permission_set import PermissionSet
from eks_access.problems import ConfigError, Problem

__all__ = [
    "AUTH_MODES",
    "BUILTIN_NAMESPACES",
    "ENTRY_TEMPLATES",
    "IAM_USER_NAME",
    "IDENTITY",
    "KNOWN_VERBS",
    "MAX_ACCESS_ENTRIES",
    "MAX_ACCESS_KEYS",
    "NAMESPACE",
    "OVERRIDES",
    "RESERVED_PREFIXES",
    "ROLE_TEMPLATES",
    "TEAMS_FILE",
    "URL_VERBS",
    "USER_TEMPLATES",
    "AccessPolicy",
    "AccessPolicyName",
    "AuthMode",
    "Cluster",
    "ClusterAccess",
    "ConfigError",
    "CreateCluster",
    "ExistingUser",
    "Identity",
    "IdentityConfig",
    "PermissionSet",
    "PolicyRule",
    "Preset",
    "Problem",
    "Role",
    "StackConfig",
    "Team",
    "User",
    "iam_users",
    "in_effect",
    "load",
    "load_as_written",
    "load_identity",
    "merge_teams",
]
