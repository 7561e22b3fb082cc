"""Read-only lookups the program makes before it registers anything (plain invokes, so their
answers are known in previews and a failed lookup stops the run before any change)."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi_aws as aws

from eks_access.kinds import permission_set


def permission_set_roles(names: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The role of each IAM Identity Center permission set (``names``: name -> the config path
    it is first listed at), and the problems (none or several roles for a name)."""
    found: dict[str, str] = {}
    problems: list[str] = []
    for name, where in sorted(names.items()):
        roles = aws.iam.get_roles(
            name_regex=permission_set.name_regex(name), path_prefix=permission_set.PATH_PREFIX
        )
        try:
            found[name] = permission_set.pick(name, roles.arns)
        except permission_set.PermissionSetError as e:
            problems.append(f"eks-access:{where}: {e}")
    return found, problems
