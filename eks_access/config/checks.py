"""The rules that span entries (pydantic checks each entry alone): duplicates, one principal with
one username, names that IAM compares ignoring case, AWS limits, partitions and accounts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eks_access import arns, iam, kinds, names, regions, team_roles
from eks_access.config.mode_checks import mode_checks
from eks_access.config.models import IdentityConfig, StackConfig
from eks_access.fields import (
    BUILTIN_NAMESPACES,
    MAX_ACCESS_ENTRIES,
    NAMESPACE,
    TEMPLATE,
    disallowed_templates,
    fmt,
    session_pattern,
    show,
)
from eks_access.problems import Problem


def region_problems(data: Mapping[str, Any]) -> list[Problem]:
    """aws:region present and known (botocore's endpoint data), the cluster key present."""
    problems: list[Problem] = []
    region = data.get("region")
    if "region" not in data:
        problems.append(
            Problem("aws:region", "required; run `pulumi config set aws:region <region>`")
        )
    elif not isinstance(region, str) or regions.partition_of(region) is None:
        close = regions.closest(region) if isinstance(region, str) else None
        hint = f"did you mean {close!r}? " if close else ""
        problems.append(
            Problem(
                "aws:region",
                f"{show(region)} is not an AWS region; {hint}use one of the regions botocore "
                "knows (upgrade botocore for a region newer than it)",
            )
        )
    if "cluster" not in data:
        problems.append(
            Problem(
                f"{NAMESPACE}:cluster",
                "required; add `cluster: {name: <EKS cluster name>, nodeRoleArns: [...]}`",
            )
        )
    return problems


def partition_checks(config: StackConfig) -> list[Problem]:
    """Every ARN in the region's partition, and the node roles in one account."""
    problems: list[Problem] = []
    partition = regions.partition_of(config.region)
    places = [
        (f"cluster.{kind.config_key}[{i}]", arn)
        for kind in kinds.NODE_KINDS
        for i, arn in enumerate(getattr(config.cluster, kind.model_field))
    ]
    if config.cluster.creator_principal_arn:
        places.append(("cluster.creatorPrincipalArn", config.cluster.creator_principal_arn))
    ctx = config.context()
    for t, team in enumerate(config.teams):
        places += [  # the ARNs the config spells out (not those the program builds)
            (f"{m.path}.arn", m.item.arn)
            for m in kinds.members(team, f"teams[{t}]", ctx)
            if "arn" in m.kind.model.model_fields
        ]
    for path, arn in places:
        parsed = arns.parse_iam_arn(arn)
        if parsed.partition != partition:
            problems.append(
                Problem(
                    path,
                    f"{arn} is in partition {parsed.partition!r}, but aws:region "
                    f"{config.region} is in {partition!r}; an EKS cluster there only knows "
                    f"principals of its own partition: write arn:{partition}:iam::...",
                )
            )
    accounts = {
        arns.parse_iam_arn(arn).account: path
        for path, arn in reversed(places)
        if path.startswith("cluster.") and path != "cluster.creatorPrincipalArn"
    }
    if len(accounts) > 1:
        order = [path for path, _ in places]  # the config's order: nodeRoleArns first
        first, *others = sorted(accounts.items(), key=lambda a: order.index(a[1]))
        for account, path in others:
            problems.append(
                Problem(
                    path,
                    f"node role in account {account}, but {first[1]} is in account {first[0]}: "
                    "nodes run in the cluster's own account, and the plan takes the users' "
                    "account from the node roles. Fix the ARN, or remove the role",
                )
            )
    return problems


def cross_checks(config: StackConfig) -> list[Problem]:
    """Rules that span entries; pydantic checks each entry alone."""
    problems: list[Problem] = []

    def first_seen(table: dict[str, str], key: str, path: str) -> str | None:
        if key in table:
            return table[key]
        table[key] = path
        return None

    node_keys: dict[str, str] = {}
    problems.extend(mode_checks(config))
    cluster = config.cluster
    has_nodes = bool(cluster.node_roles)
    if cluster.writes_aws_auth and cluster.create is None and not has_nodes:
        problems.append(
            Problem(
                "cluster.nodeRoleArns",
                "required: the program owns aws-auth's mapRoles, so it must list every node and "
                "Fargate role or nodes would be dropped from the cluster; copy the rolearn entries "
                "of `kubectl get configmap aws-auth -n kube-system -o yaml`",
            )
        )
    for kind in kinds.NODE_KINDS:
        for i, arn in enumerate(getattr(config.cluster, kind.model_field)):
            path = f"cluster.{kind.config_key}[{i}]"
            if (
                other := first_seen(node_keys, arns.parse_iam_arn(arn).match_key, path)
            ) is not None:
                problems.append(Problem(path, f"{arn} is listed already at {other}; list it once"))

    teams: dict[str, str] = {}
    groups: dict[str, str] = {}
    created: dict[str, str] = {}
    formers: dict[str, str] = {}
    for team_kind in kinds.TEAM_KINDS:
        problems.extend(team_kind.config_checks(config.teams))
    problems.extend(
        team_roles.checks(config.teams, config.cluster.name, config.context().cluster_account)
    )
    if config.cluster.create is not None:
        # pulumi-eks writes a created cluster's mappings (aws-auth or access entries) from its
        # arguments, with the cluster, which cannot wait for a team role registered after it:
        # EKS refuses an entry for a role not there yet, and an aws-auth write that drops the
        # members' own lines would not wait for the role they are to assume instead.
        problems.extend(
            Problem(
                f"teams[{t}].access",
                "`access: role` cannot be used with `cluster.create` yet: the cluster's "
                "mappings are written with the cluster, before the team's role exists. Use "
                "`access: user`, or manage the cluster outside this stack (remove "
                "`cluster.create` once it exists)",
            )
            for t, team in enumerate(config.teams)
            if team.access == "role"
        )
    problems.extend(_limits(config))
    ctx = config.context()
    # aws-auth keys mappings by path-less, lower-cased ARN: two spellings of one role collide.
    principals: dict[str, tuple[str, str]] = {}
    by_username: dict[str, tuple[str, str]] = {}  # username -> (identity, first path)
    look_alike_users: dict[str, tuple[str, str]] = {}  # skeleton -> (username, first path)
    look_alike_groups: dict[str, tuple[str, str]] = {}
    sessions: list[tuple[kinds.Member, str]] = []  # templated usernames, with their principal

    for t, team in enumerate(config.teams):
        tp = f"teams[{t}]"
        if (other := first_seen(teams, team.name, f"{tp}.name")) is not None:
            problems.append(
                Problem(
                    f"{tp}.name",
                    f"team {team.name!r} is defined at {other} too; merge the two or rename one",
                )
            )
        if len(iam.group_name(config.cluster.name, team.name)) > iam.MAX_GROUP_NAME:
            problems.append(
                Problem(
                    f"{tp}.name",
                    f"the team's IAM group "
                    f"{iam.group_name(config.cluster.name, team.name)!r} would be "
                    f"over {iam.MAX_GROUP_NAME} characters; shorten the team name",
                )
            )
        for f, former in enumerate(team.renamed_from):
            if any(t.name == former for t in config.teams):
                problems.append(
                    Problem(
                        f"{tp}.renamedFrom[{f}]",
                        f"{former!r} is the name of a team in this config; renamedFrom names "
                        "what this team was called before, so remove it or rename that team",
                    )
                )
            elif (other := first_seen(formers, former, f"{tp}.renamedFrom[{f}]")) is not None:
                problems.append(
                    Problem(
                        f"{tp}.renamedFrom[{f}]",
                        f"{former!r} is claimed by {other} too; one team takes over its resources",
                    )
                )
        if (
            clash := _looks_like(look_alike_groups, team.kubernetes_group, f"{tp}.group")
        ) is not None:
            problems.append(Problem(f"{tp}.group", f"Kubernetes group {clash}"))
        if (other := first_seen(groups, team.kubernetes_group, f"{tp}.group")) is not None:
            problems.append(
                Problem(
                    f"{tp}.group",
                    f"Kubernetes group {team.kubernetes_group!r} "
                    f"is used by {other} too; give each team its own group",
                )
            )
        for n, ns in enumerate(team.namespaces):
            if ns in team.namespaces[:n]:
                problems.append(Problem(f"{tp}.namespaces[{n}]", f"{ns!r} is listed twice"))
            if team.create_namespaces:
                if ns in BUILTIN_NAMESPACES:
                    problems.append(
                        Problem(
                            f"{tp}.namespaces[{n}]",
                            f"{ns!r} exists in every cluster and must not be owned by this "
                            "program; "
                            "set createNamespaces: false or move it to a team that does not create",
                        )
                    )
                elif (other := first_seen(created, ns, f"{tp}.namespaces[{n}]")) is not None:
                    problems.append(
                        Problem(
                            f"{tp}.namespaces[{n}]",
                            f"namespace {ns!r} is created by {other} too; set createNamespaces on "
                            "one team only",
                        )
                    )
        if (team.namespace_access or team.rules) and not team.namespaces:
            key = "namespaceAccess" if team.namespace_access else "rules"
            problems.append(
                Problem(
                    f"{tp}.{key}",
                    "needs at least one namespace; add "
                    "`namespaces: [...]` or use clusterAccess/clusterRules",
                )
            )
        binds = bool(
            team.namespace_access or team.rules or team.cluster_access or team.cluster_rules
        )
        if not team.map_group:
            if team.group:
                problems.append(
                    Problem(
                        f"{tp}.group",
                        "mapGroup: false maps the team's principals without a group; remove "
                        "group, or set mapGroup: true",
                    )
                )
            if binds and team.bind_to != "users":
                problems.append(
                    Problem(
                        f"{tp}.mapGroup",
                        "with mapGroup: false no principal carries the team's group, so its "
                        "bindings must name each member: set bindTo: users",
                    )
                )
        if team.role_name and not team.rules:
            problems.append(
                Problem(
                    f"{tp}.roleName",
                    "names the custom Role, but the team has "
                    "no rules; add rules or remove roleName",
                )
            )
        for r, rule in enumerate(team.rules):
            if rule.non_resource_urls:
                problems.append(
                    Problem(
                        f"{tp}.rules[{r}].nonResourceURLs",
                        "non-resource URLs are cluster-wide; move this rule to clusterRules",
                    )
                )

        for m in kinds.members(team, tp, ctx):
            problems.extend(_member_checks(m, tp, team, binds, node_keys, principals, ctx))
            if (clash := _looks_like(look_alike_users, m.username, m.path)) is not None:
                problems.append(Problem(f"{m.path}.username", f"username {clash}"))
            if "{{" in m.username:
                sessions.append((m, m.kind.identity_key(m.item, ctx)))
                continue
            # One username, one principal: RBAC could not tell two apart.
            seen = by_username.setdefault(m.username, (m.kind.identity_key(m.item, ctx), m.path))
            if seen[0] != m.kind.identity_key(m.item, ctx):
                problems.append(
                    Problem(
                        f"{m.path}.username",
                        f"username {m.username!r} is used by {seen[1]} too; give each principal "
                        "its own",
                    )
                )
    problems.extend(_session_collisions(sessions, by_username))
    return problems


def _session_collisions(
    sessions: list[tuple[kinds.Member, str]], fixed: dict[str, tuple[str, str]]
) -> list[Problem]:
    """Usernames a session can take that another principal has: a role mapped as
    ``ops:{{SessionName}}`` logs in as ``ops:bob`` for session ``bob`` (``@`` turned to ``-``),
    which a user named ``ops:bob`` is too; two roles with one template collide for every
    session. RBAC could not tell them apart."""
    out = []
    seen: dict[str, tuple[str, str]] = {}  # template, SessionNameRaw as SessionName -> first
    for m, key in sessions:
        pattern = session_pattern(m.username)
        if pattern is None:
            continue
        for username, (owner, where) in sorted(fixed.items()):
            if owner != key and pattern.match(username):
                out.append(Problem(f"{m.path}.username",
                                   f"{m.username!r} gives a session the username {username!r}, "
                                   f"which {where} has: RBAC could not tell them apart; change "
                                   "the template's prefix or that username"))  # fmt: skip
        shape = m.username.replace("{{SessionNameRaw}}", "{{SessionName}}")
        first = seen.setdefault(shape, (key, m.path))
        if first[0] != key:
            out.append(Problem(f"{m.path}.username",
                               f"{m.username!r} is the template of {first[1]} too: every session "
                               "of the two roles could have one username; give each its own "
                               "prefix"))  # fmt: skip
    return out


def _looks_like(seen: dict[str, tuple[str, str]], name: str, path: str) -> str | None:
    """The message when ``name`` is confusable with another name seen before (equal UTS #39
    skeletons, different text), else None; records ``name``."""
    other, where = seen.setdefault(names.skeleton(name), (name, path))
    if other == name:
        return None
    return (
        f"{show(name)} looks like {show(other)} at {where} (Unicode confusables, UTS #39): a "
        "reviewer cannot tell them apart, RBAC can; rename one"
    )


def identity_checks(config: IdentityConfig) -> list[Problem]:
    """An identity stack's users, checked as a cluster stack checks them."""
    ctx = kinds.Context(config.users_account)
    problems = [p for kind in kinds.TEAM_KINDS for p in kind.config_checks(config.teams)]
    for t, team in enumerate(config.teams):
        problems += [
            p for m in kinds.members(team, f"teams[{t}]", ctx) for p in _template_checks(m)
        ]
    return problems


def _template_checks(m: kinds.Member) -> list[Problem]:
    if bad := disallowed_templates(m.username, m.kind.templates):
        return [
            Problem(
                f"{m.path}.username",
                f"unknown template {{{{{bad[0]}}}}} for {m.kind.noun}; allowed: "
                f"{fmt(m.kind.templates)}",
            )
        ]
    return []


def _member_checks(
    m: kinds.Member,
    team_path: str,
    team: Any,
    binds: bool,
    node_keys: Mapping[str, str],
    principals: dict[str, tuple[str, str]],
    ctx: kinds.Context,
) -> list[Problem]:
    """One listed principal: its kind's own checks, its username's templates, not a node role,
    one username wherever it is listed."""
    problems = [*m.kind.item_checks(m.item, m.path, team), *_template_checks(m)]
    if binds and team.bind_to == "users" and TEMPLATE.search(m.username):
        problems.append(
            Problem(
                f"{m.path}.username",
                f"{m.username!r} is a template, which a RoleBinding cannot name; set "
                "bindTo: group or give it a fixed username",
            )
        )
    if m.kind.principal == "role" and m.arn.match_key in node_keys:
        problems.append(
            Problem(
                f"{m.path}.arn",
                f"{m.arn.arn} is a node role ({node_keys[m.arn.match_key]}); node roles are "
                "mapped by the program itself, remove it from the team",
            )
        )
    elif not m.kind.managed:  # created users: IamUsers.config_checks
        what = f"{m.kind.principal} {m.arn.arn}"
        problems += _mapped_once(
            principals, m.kind.identity_key(m.item, ctx), m.path, team_path, what,
            m.username,
        )  # fmt: skip
    return problems


def _limits(config: StackConfig) -> list[Problem]:
    """AWS limits that `pulumi up` would otherwise hit halfway (EKS and IAM quotas pages)."""
    problems: list[Problem] = []
    if config.cluster.writes_access_entries:
        # one entry per principal (as eks_access.principals merges them), and the node roles
        # whose entries this program makes
        ctx = config.context()
        members = {
            m.arn.match_key
            for t, team in enumerate(config.teams)
            for m in kinds.members(team, f"teams[{t}]", ctx)
        }
        nodes = [a for a in config.cluster.node_roles if config.cluster.creates_node_entry(a)]
        count = len(members) + len(nodes)
        if count > MAX_ACCESS_ENTRIES:
            problems.append(
                Problem(
                    f"{NAMESPACE}:teams",
                    f"{count} access entries, over EKS's limit of {MAX_ACCESS_ENTRIES} per "
                    "cluster (not adjustable); map teams through roles instead of one entry per "
                    "person",
                )
            )
    size = iam.policy_size(
        iam.describe_cluster_policy(
            arns.cluster_arn("aws-us-gov", config.region, "0" * 12, config.cluster.name)
        )
    )
    if size > iam.MAX_GROUP_POLICY:
        problems.append(
            Problem(
                "cluster.name",
                f"the team group's policy would be {size} characters, over IAM's limit of "
                f"{iam.MAX_GROUP_POLICY} for a group's inline policy; shorten the cluster name",
            )
        )
    return problems


def _mapped_once(
    principals: dict[str, tuple[str, str]],
    key: str,
    path: str,
    team_path: str,
    what: str,
    username: str,
) -> list[Problem]:
    """A principal (by authenticator match key) listed again has the same username, and is
    not listed twice in one team; the first listing is remembered in ``principals``."""
    if key not in principals:
        principals[key] = (path, username)
        return []
    other_path, other_username = principals[key]
    if other_username != username:
        return [
            Problem(
                f"{path}.username",
                f"{what} is mapped at {other_path} as {other_username!r} and here as "
                f"{username!r}; a principal has one username, so make them equal",
            )
        ]
    if other_path.startswith(f"{team_path}."):
        return [Problem(path, f"{what} is listed twice in this team")]
    return []
