"""The stack config model: what `Pulumi.<stack>.yaml` may say, validated into immutable models.

Structured config lives under the project namespace (``eks-access:cluster``, ``eks-access:teams``)
beside ``aws:region``. :func:`load` turns the raw values into a :class:`StackConfig` or raises
:class:`ConfigError` with one :class:`Problem` per mistake, each naming its config path
(``teams[2].users[0].name``) and the fix. Shape checks are pydantic's; the rules that span
several entries (duplicates, one principal with two usernames, ...) are :func:`_cross_checks`.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from eks_access import arns, iam, regions

NAMESPACE = "eks-access"
RESERVED_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")
_OBJECT_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
_SPECIAL_VERBS = ("use", "bind", "escalate", "impersonate", "approve", "sign", "*")
KNOWN_VERBS = frozenset((*_OBJECT_VERBS, *_SPECIAL_VERBS))
# Non-resource URLs are authorised by the request's HTTP method, lower-cased.
URL_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "*"})
# Placeholders aws-iam-authenticator substitutes in usernames and groups (pkg/mapper/configmap).
ROLE_TEMPLATES = frozenset({"AccountID", "SessionName", "SessionNameRaw", "AccessKeyID"})
USER_TEMPLATES = frozenset({"AccountID", "AccessKeyID"})
# Namespaces every cluster already has; the program must never own (and so never delete) them.
BUILTIN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
MAX_ACCESS_KEYS = 2  # IAM's own limit per user
MAX_ACCESS_ENTRIES = 3000  # per cluster, not adjustable (EKS service quotas)

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
_IAM_USER_NAME = re.compile(rf"^{arns.NAME_CHARS}{{1,64}}$")
_IAM_PATH = re.compile(r"^/([\x21-\x7e]{1,510}/)?$")
_KEY_LABEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_TEMPLATE = re.compile(r"\{\{([^{}]*)\}\}")
_RBAC_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.:]{0,251}[a-z0-9])?$")


# --- field validators: each raises ValueError with the fix in its message ---------------------


def _dns_label(value: str) -> str:
    if not _DNS1123_LABEL.match(value):
        raise ValueError(
            f"{_show(value)} is not a DNS-1123 label; use at most 63 lower-case letters, digits "
            "and '-', starting and ending with a letter or digit"
        )
    return value


def _cluster_name(value: str) -> str:
    if not _CLUSTER_NAME.match(value):
        raise ValueError(
            f"{_show(value)} is not an EKS cluster name; use 1-100 letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return value


def _iam_user_name(value: str) -> str:
    if not _IAM_USER_NAME.match(value):
        raise ValueError(
            f"{_show(value)} is not an IAM user name; use 1-64 letters, digits or + = , . @ _ -"
        )
    return value


def _iam_path(value: str) -> str:
    if not _IAM_PATH.match(value):
        raise ValueError(f"{_show(value)} is not an IAM path; use '/' or '/division/team/'")
    return value


def _key_label(value: str) -> str:
    if not _KEY_LABEL.match(value):
        raise ValueError(
            f"{_show(value)} is not a key generation label; use 1-32 lower-case letters, digits "
            "and '-', e.g. '2026-12'"
        )
    return value


def _role_arn(value: str) -> str:
    try:
        arns.parse_iam_arn(value, "role")
    except arns.ArnError as e:
        raise ValueError(str(e)) from None
    return value


def _no_reserved_prefix(what: str) -> Any:
    def check(value: str) -> str:
        if not value.strip():
            raise ValueError(f"the {what} is empty; give a name or leave the key out")
        for prefix in RESERVED_PREFIXES:
            if value.lower().startswith(prefix):
                raise ValueError(
                    f"{what} {_show(value)} starts with the reserved prefix {prefix!r}; EKS and "
                    f"Kubernetes reserve it, so choose a {what} without it"
                )
        return value

    return check


def _verb(value: str) -> str:
    if problem := _unknown_verb(value, KNOWN_VERBS | URL_VERBS, "(RBAC verbs and HTTP methods)"):
        raise ValueError(problem)
    return value


def _unknown_verb(value: str, known: frozenset[str], what: str) -> str | None:
    if value in known:
        return None
    close = difflib.get_close_matches(value, sorted(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown verb {_show(value)}; {hint}known verbs {what}: {', '.join(sorted(known))}"


def _rbac_name(value: str) -> str:
    if not _RBAC_NAME.match(value):
        raise ValueError(
            f"{_show(value)} is not a valid Role name; use lower-case letters, digits, '-', '.' "
            "or ':'"
        )
    return value


def _templates(value: str, allowed: frozenset[str]) -> list[str]:
    return [t for t in _TEMPLATE.findall(value) if t not in allowed]


_KEYBASE = re.compile(r"^keybase:[A-Za-z0-9_-]{1,64}$")


def _pgp_key(value: str) -> str:
    """``keybase:NAME`` or a base64-encoded OpenPGP public key (what IAM's CreateAccessKey
    takes through the provider's ``pgp_key``), checked before AWS refuses it halfway."""
    if value.startswith("keybase:"):
        if not _KEYBASE.match(value):
            raise ValueError(
                f"{_show(value)} is not a Keybase user; write keybase:NAME (letters, digits, _ or "
                "-)"
            )
        return value
    try:
        packet = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        packet = b""
    # No library here: the check is one byte. An OpenPGP public key starts with a Public-Key
    # packet, tag 6 (RFC 9580 section 4.2): 0x98-0x9b in the old format, 0xc6 in the new.
    if not packet or not (0x98 <= packet[0] <= 0x9B or packet[0] == 0xC6):
        raise ValueError(
            f"{_show(value)} is neither keybase:NAME nor a base64 OpenPGP public key; export one "
            "with `gpg --export KEYID | base64 -w0`"
        )
    return value


def _show(value: Any, limit: int = 60) -> str:
    """A value as messages quote it: repr, shortened when long (a 5,000-character paste)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(str(value))} characters)"


def _split_shorthand(data: Any, key: str) -> Any:
    """``- alice`` in a list of users means ``- {name: alice}``: one short line per entry."""
    return {key: data} if isinstance(data, str) else data


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
KeyLabel = Annotated[str, AfterValidator(_key_label)]
RoleArn = Annotated[str, AfterValidator(_role_arn)]
Username = Annotated[str, AfterValidator(_no_reserved_prefix("username"))]
GroupName = Annotated[str, AfterValidator(_no_reserved_prefix("group"))]
NonEmpty = Annotated[str, Field(min_length=1)]
Verb = Annotated[str, AfterValidator(_verb)]
PgpKey = Annotated[str, AfterValidator(_pgp_key)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=False,
        validate_by_alias=True,
        strict=False,
    )


class PolicyRule(_Model):
    """One Kubernetes RBAC PolicyRule, in the spelling of the Kubernetes API."""

    api_groups: tuple[str, ...] = ()
    resources: tuple[NonEmpty, ...] = ()
    verbs: tuple[Verb, ...] = Field(min_length=1)
    resource_names: tuple[NonEmpty, ...] = ()
    non_resource_urls: tuple[NonEmpty, ...] = Field(default=(), alias="nonResourceURLs")

    @model_validator(mode="after")
    def _shape(self) -> PolicyRule:
        if not self.resources and not self.non_resource_urls:
            raise ValueError(
                "a rule needs 'resources' (with 'apiGroups') or 'nonResourceURLs'; add one"
            )
        if self.resources and not self.api_groups:
            raise ValueError(
                "'resources' need 'apiGroups'; use [\"\"] for the core group (pods, secrets, ...)"
            )
        if self.non_resource_urls and (self.resources or self.resource_names):
            raise ValueError(
                "a rule takes either 'resources' or 'nonResourceURLs', not both; split it in two"
            )
        known, what = (
            (URL_VERBS, "for nonResourceURLs (HTTP methods)")
            if self.non_resource_urls
            else (KNOWN_VERBS, "for resources")
        )
        for verb in self.verbs:
            if problem := _unknown_verb(verb, known, what):
                raise ValueError(problem)
        return self


class User(_Model):
    """An IAM user the program creates and maps, with 0-2 access keys."""

    name: Annotated[str, AfterValidator(_iam_user_name)]
    path: Annotated[str, AfterValidator(_iam_path)] = "/"
    username: Username | None = None
    keys: tuple[KeyLabel, ...] = Field(default=(), max_length=MAX_ACCESS_KEYS)
    pgp_key: PgpKey | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return _split_shorthand(data, "name")

    @model_validator(mode="after")
    def _keys_once(self) -> User:
        for label in self.keys:
            if self.keys.count(label) > 1:
                raise ValueError(
                    f"key generation {label!r} is listed twice; each label names one access key "
                    "(its resource is named after it), so list it once"
                )
        return self

    @property
    def kubernetes_username(self) -> str:
        return self.username or self.name


class Role(_Model):
    """An existing IAM role (an IAM Identity Center role, say) mapped to the team."""

    arn: RoleArn
    username: Username | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_arn(cls, data: Any) -> Any:
        return _split_shorthand(data, "arn")

    @property
    def kubernetes_username(self) -> str:
        return self.username or arns.parse_iam_arn(self.arn).name + ":{{SessionName}}"


def _user_arn(value: str) -> str:
    try:
        arns.parse_iam_arn(value, "user")
    except arns.ArnError as e:
        raise ValueError(str(e)) from None
    return value


class ExistingUser(_Model):
    """An IAM user that exists already (made by hand or by another tool), mapped by ARN.

    The program maps it and binds it like a user it creates, but never creates, changes or
    deletes the IAM user, its keys or its group memberships.
    """

    arn: Annotated[str, AfterValidator(_user_arn)]
    username: Username | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_arn(cls, data: Any) -> Any:
        return _split_shorthand(data, "arn")

    @property
    def kubernetes_username(self) -> str:
        return self.username or arns.parse_iam_arn(self.arn).name


Preset = Literal["view", "edit", "admin"]
ClusterAccess = Literal["view", "edit", "admin", "cluster-admin"]


class Team(_Model):
    """A team: who is in it, and what they may do in which namespaces."""

    name: DnsLabel
    group: GroupName | None = None
    namespaces: tuple[DnsLabel, ...] = ()
    create_namespaces: bool = False
    namespace_access: Preset | None = None
    rules: tuple[PolicyRule, ...] = ()
    role_name: Annotated[str, AfterValidator(_rbac_name)] | None = None
    cluster_access: ClusterAccess | None = None
    cluster_rules: tuple[PolicyRule, ...] = ()
    bind_to: Literal["group", "users"] = "group"
    access_policies: tuple[AccessPolicy, ...] = ()
    users: tuple[User, ...] = ()
    existing_users: tuple[ExistingUser, ...] = ()
    roles: tuple[Role, ...] = ()
    renamed_from: tuple[DnsLabel, ...] = ()
    """Earlier names of this team: its resources are renamed in place instead of re-created."""
    map_group: bool = True
    """False: the team's principals are mapped without the team's group (bound by username,
    ``bindTo: users``), as aws-auth entries with no groups are."""

    @model_validator(mode="before")
    @classmethod
    def _one_former_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("renamedFrom"), str):
            return {**data, "renamedFrom": [data["renamedFrom"]]}
        return data

    @property
    def kubernetes_group(self) -> str:
        return self.group or f"{NAMESPACE}:{self.name}"

    @property
    def custom_role_name(self) -> str:
        return self.role_name or f"{NAMESPACE}:{self.name}"


AuthMode = Literal["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"]
# One way only: CONFIG_MAP -> API_AND_CONFIG_MAP -> API.
AUTH_MODES: tuple[AuthMode, ...] = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
AccessPolicyName = Literal["view", "edit", "admin", "cluster-admin", "admin-view"]
# Access-entry usernames: EKS substitutes these (its own default role username uses SessionName).
ENTRY_TEMPLATES = frozenset({"SessionName", "AccountID"})


def _principal_arn(value: str) -> str:
    try:
        arns.parse_iam_arn(value)
    except arns.ArnError as e:
        raise ValueError(str(e)) from None
    return value


class AccessPolicy(_Model):
    """An EKS access policy for every principal of the team (access-entry modes only)."""

    policy: AccessPolicyName
    scope: Literal["cluster", "namespace"] = "namespace"
    namespaces: tuple[DnsLabel, ...] = ()
    """For namespace scope; empty means the team's namespaces."""


class CreateCluster(_Model):
    """Have the stack create the cluster itself with pulumi-eks (a demo or a new cluster)."""

    version: str | None = None
    instance_type: str = "t3.medium"
    node_count: int = Field(default=2, ge=0, le=100)


class Cluster(_Model):
    """The EKS cluster the stack grants access to, and the roles its nodes run as."""

    name: Annotated[str, AfterValidator(_cluster_name)]
    authentication_mode: AuthMode = "CONFIG_MAP"
    node_role_arns: tuple[RoleArn, ...] = ()
    windows_node_role_arns: tuple[RoleArn, ...] = ()
    """Roles of Windows nodes: mapped with the extra group ``eks:kube-proxy-windows`` in
    aws-auth, and as ``EC2_WINDOWS`` access entries."""
    fargate_role_arns: tuple[RoleArn, ...] = ()
    node_access_entries: Literal["create", "eks-managed"] | None = None
    """Who gives node roles their access entries: this program, or EKS (managed node groups)."""
    map_accounts: tuple[Annotated[str, Field(pattern=r"^\d{12}$")], ...] = ()
    """aws-auth ``mapAccounts``: every IAM user and role of these accounts is mapped (to its
    ARN as username, no groups). Kept for clusters adopted with it; prefer explicit entries."""
    creator_principal_arn: Annotated[str, AfterValidator(_principal_arn)] | None = None
    """The principal EKS made an access entry for when it created the cluster."""
    create: CreateCluster | None = None

    @property
    def node_roles(self) -> tuple[str, ...]:
        """Every node and Fargate role ARN, in config order."""
        return (*self.node_role_arns, *self.windows_node_role_arns, *self.fargate_role_arns)

    @property
    def writes_aws_auth(self) -> bool:
        return self.authentication_mode != "API"

    @property
    def writes_access_entries(self) -> bool:
        return self.authentication_mode != "CONFIG_MAP"


class StackConfig(_Model):
    """Everything the program reads from stack config."""

    region: str
    cluster: Cluster
    teams: tuple[Team, ...] = ()
    pgp_key: PgpKey | None = None
    identity: Identity | None = None
    """Set in a cluster stack whose users an identity stack owns (``mode: reference``), or
    is about to own (``mode: handover``)."""
    acknowledge_lockout: bool = False
    """Apply even a config that maps no principal but the nodes (README "Safety")."""

    def user_pgp_key(self, user: User) -> str | None:
        return user.pgp_key or self.pgp_key

    @property
    def creates_users(self) -> bool:
        """Whether this stack creates (owns) the IAM users of its teams."""
        return self.identity is None or self.identity.mode == "handover"

    @property
    def users_account(self) -> str | None:
        """The account the IAM users are in, as far as config tells: the identity stack's,
        else the node roles' (the account the stack runs in)."""
        if self.identity is not None:
            return self.identity.account
        for arn in self.cluster.node_roles:
            return arns.parse_iam_arn(arn).account
        return None


# --- errors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One mistake in the config: where it is and what to do about it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(Exception):
    """The config is invalid; ``problems`` lists every mistake found."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def count(self) -> str:
        """ "1 problem", "3 problems"."""
        n = len(self.problems)
        return f"{n} problem{'' if n == 1 else 's'}"


# Where each StackConfig field lives in the stack file.
_CONFIG_KEYS = {
    "aws:region": "region",
    f"{NAMESPACE}:cluster": "cluster",
    f"{NAMESPACE}:teams": "teams",
    f"{NAMESPACE}:pgpKey": "pgpKey",
    f"{NAMESPACE}:identity": "identity",
    f"{NAMESPACE}:acknowledgeLockout": "acknowledgeLockout",
}
_FIELD_PATHS = {
    "region": "aws:region",
    "pgpKey": f"{NAMESPACE}:pgpKey",
    "identity": f"{NAMESPACE}:identity",
    "acknowledgeLockout": f"{NAMESPACE}:acknowledgeLockout",
}


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    head = str(loc[0]) if loc else ""
    if head in _FIELD_PATHS:
        out = _FIELD_PATHS[head] + out[len(head) :]
    return out or "config"


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that the value at ``loc`` is validated as, for listing allowed keys."""
    model: type[BaseModel] = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = next(
            (f for n, f in model.model_fields.items() if (f.alias or to_camel(n)) == part),
            None,
        )
        if field is None:
            return None
        inner = _inner_model(field.annotation)
        if inner is None:
            return None
        model = inner
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    # A model defined before the ones it refers to may keep no alias: the generator's spelling.
    return [f.alias or to_camel(n) for n, f in model.model_fields.items()]


# What a key looks like when written right, for messages about a value of the wrong type.
_EXAMPLES = {
    "teams": "teams: [{name: payments, users: [alice]}]",
    "cluster": "cluster: {name: dev, nodeRoleArns: [arn:aws:iam::111122223333:role/nodes]}",
    "identity": 'identity: {mode: reference, account: "111122223333", stack: org/project/stack}',
    "users": "users: [alice, {name: bob, keys: [2026-11]}]",
    "existingUsers": "existingUsers: [arn:aws:iam::111122223333:user/carol]",
    "roles": "roles: [{arn: arn:aws:iam::111122223333:role/NAME, username: NAME}]",
    "keys": "keys: [2026-11]",
    "namespaces": "namespaces: [payments, payments-jobs]",
    "rules": 'rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]',
    "clusterRules": 'clusterRules: [{apiGroups: [""], resources: [nodes], verbs: [get]}]',
    "accessPolicies": "accessPolicies: [{policy: view, scope: namespace}]",
    "apiGroups": 'apiGroups: ["", apps]',
    "resources": "resources: [pods, pods/log]",
    "verbs": "verbs: [get, list, watch]",
    "resourceNames": "resourceNames: [app-config]",
    "nonResourceURLs": 'nonResourceURLs: ["/healthz"]',
    "nodeRoleArns": "nodeRoleArns: [arn:aws:iam::111122223333:role/nodes]",
    "windowsNodeRoleArns": "windowsNodeRoleArns: [arn:aws:iam::111122223333:role/win-nodes]",
    "fargateRoleArns": "fargateRoleArns: [arn:aws:iam::111122223333:role/fargate]",
    "mapAccounts": 'mapAccounts: ["111122223333"]',
    "renamedFrom": "renamedFrom: payments-old",
    "create": 'create: {nodeCount: 2, instanceType: t3.medium, version: "1.34"}',
    "nodeCount": "nodeCount: 2",
}
_EXPECTED = {
    "list_type": "a list",
    "tuple_type": "a list",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "model_type": "a mapping of keys",
    "dict_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
}


def _given(value: Any) -> str:
    """What the config holds, in the config's words."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {_show(value)}"
    if isinstance(value, str):
        return f"the text {_show(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _example(loc: tuple[int | str, ...]) -> str:
    key = next((str(part) for part in reversed(loc) if isinstance(part, str)), "")
    return f"; for example `{_EXAMPLES[key]}`" if key in _EXAMPLES else ""


def _describe(error: Any) -> Problem:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        parent = _model_at(loc[:-1])
        allowed = _allowed_keys(parent) if parent else []
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        msg = f"unknown key {_show(key)}; {hint}allowed keys: {', '.join(allowed)}"
    elif kind == "missing":
        msg = "required; add this key" + _example(loc)
    elif kind == "too_long" and loc and loc[-1] == "keys":
        msg = (
            f"an IAM user can hold at most {MAX_ACCESS_KEYS} access keys; remove the oldest "
            "generation once its replacement is in use"
        )
    elif kind in {"value_error", "assertion_error"}:
        msg = str(error["msg"]).removeprefix("Value error, ")
    elif kind in _EXPECTED:
        msg = f"expected {_EXPECTED[kind]}, got {_given(error.get('input'))}" + _example(loc)
    elif kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "")
        msg = f"expected one of {expected}, got {_given(error.get('input'))}"
    elif kind in {"too_short", "string_too_short"}:
        msg = f"must not be empty, got {_given(error.get('input'))}" + _example(loc)
    else:
        msg = f"{error['msg']}, got {_given(error.get('input'))}" + _example(loc)
    return Problem(_path(loc), msg)


# --- shared team definitions ----------------------------------------------------------------------

TEAMS_FILE = f"{NAMESPACE}:teamsFile"
OVERRIDES = f"{NAMESPACE}:teamOverrides"
IDENTITY = f"{NAMESPACE}:identity"


def merge_teams(
    raw: Mapping[str, Any], shared: Any = None, shared_from: str = TEAMS_FILE
) -> tuple[dict[str, Any], list[Problem]]:
    """Stack config with shared teams and this stack's overrides applied.

    ``shared`` is the team list of ``eks-access:teamsFile`` (already read) or None; teams may
    also come from a Pulumi ESC environment, which the CLI merges into ``eks-access:teams``.
    ``eks-access:teamOverrides`` maps a team name to the fields this cluster sets differently
    (``namespaceAccess: view`` in prod, other ``users``); ``null`` for a field removes it.
    """
    out = {k: v for k, v in raw.items() if k not in (TEAMS_FILE, OVERRIDES)}
    problems: list[Problem] = []
    if shared is None and TEAMS_FILE in raw:  # callers read the file first (stackfile)
        problems.append(Problem(TEAMS_FILE, "the teams file was not read; check the path"))
    if shared is not None:
        if f"{NAMESPACE}:teams" in raw:
            problems.append(
                Problem(
                    f"{NAMESPACE}:teams",
                    f"teams come from {shared_from} already; move these into that file or use "
                    f"{OVERRIDES} for what this stack does differently",
                )
            )
        out[f"{NAMESPACE}:teams"] = shared
    overrides = raw.get(OVERRIDES)
    if overrides is None:
        return out, problems
    teams = out.get(f"{NAMESPACE}:teams")
    if not isinstance(overrides, dict):
        return out, [*problems, Problem(OVERRIDES, "expected a mapping of team name to fields")]
    if not isinstance(teams, list):
        return out, [*problems, Problem(OVERRIDES, "there are no teams to override")]
    by_name = {t.get("name"): i for i, t in enumerate(teams) if isinstance(t, dict)}
    merged = list(teams)
    for name, fields in overrides.items():
        if name not in by_name:
            close = difflib.get_close_matches(str(name), [str(n) for n in by_name], n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(
                Problem(f"{OVERRIDES}.{name}", f"no team {name!r}; {hint}check the name")
            )
            continue
        if not isinstance(fields, dict) or "name" in fields:
            problems.append(
                Problem(
                    f"{OVERRIDES}.{name}", "expected the team's fields to change (not its name)"
                )
            )
            continue
        team = dict(merged[by_name[name]])
        for key, value in fields.items():
            if value is None:
                team.pop(key, None)
            else:
                team[key] = value
        merged[by_name[name]] = team
    out[f"{NAMESPACE}:teams"] = merged
    return out, problems


# --- identity: who owns the IAM users ------------------------------------------------------------


class Identity(_Model):
    """Where IAM users are owned, when one account serves several cluster stacks.

    ``mode: owner``: this stack creates the users and their keys, nothing else (no cluster).
    ``mode: reference``: this cluster stack creates none; it maps the users of ``stack`` (a
    Pulumi stack reference, ``org/project/stack``) and adds their team-group memberships.
    ``mode: handover``: a cluster stack that still creates its users, handing them to the
    identity ``stack``: they and their keys are kept in AWS when this stack lets go of them.
    Without the key, a stack does both, as a single-stack setup always has.
    """

    mode: Literal["owner", "reference", "handover"]
    account: Annotated[str, Field(pattern=r"^\d{12}$")]
    """The AWS account the users live in (their ARNs are known before they exist)."""
    stack: NonEmpty | None = None

    @model_validator(mode="after")
    def _stack_for_reference(self) -> Identity:
        if self.mode in ("reference", "handover") and not self.stack:
            raise ValueError(
                f"mode {self.mode!r} needs 'stack': the identity stack, org/project/stack"
            )
        if self.mode == "owner" and self.stack:
            raise ValueError("an owner stack references no other stack; remove 'stack'")
        return self


class IdentityConfig(_Model):
    """An identity stack's config: the users to own (from the teams), nothing about clusters."""

    region: str
    identity: Identity
    teams: tuple[Team, ...] = ()
    pgp_key: PgpKey | None = None

    def user_pgp_key(self, user: User) -> str | None:
        return user.pgp_key or self.pgp_key

    @property
    def users_account(self) -> str | None:
        return self.identity.account


def load_identity(raw: Mapping[str, Any]) -> IdentityConfig:
    """Validate an identity owner stack's config (``eks-access:identity: {mode: owner}``)."""
    data = {
        "region": raw.get("aws:region"),
        "identity": raw.get(IDENTITY),
        "teams": raw.get(f"{NAMESPACE}:teams", []),
    }
    if f"{NAMESPACE}:pgpKey" in raw:
        data["pgpKey"] = raw[f"{NAMESPACE}:pgpKey"]
    try:
        config = IdentityConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_describe(err) for err in e.errors()) from None
    problems = [
        Problem(key, "an identity owner stack owns IAM users only; remove this key")
        for key in (f"{NAMESPACE}:cluster",)
        if key in raw
    ]
    problems.extend(_defined_users(config.teams)[1])
    if problems:
        raise ConfigError(problems)
    return config


# --- loading ------------------------------------------------------------------------------------


def load(raw: Mapping[str, Any]) -> StackConfig:
    """Validate raw stack config (``{"aws:region": ..., "eks-access:teams": ...}``).

    Keys of other namespaces (``aws:profile``, ``kubernetes:...``) are left to their owners.
    """
    raw, problems = merge_teams(raw)
    data: dict[str, Any] = {}
    ours = [k for k in _CONFIG_KEYS if k.startswith(f"{NAMESPACE}:")] + [TEAMS_FILE, OVERRIDES]
    for key, value in raw.items():
        namespace = key.partition(":")[0]
        if key in _CONFIG_KEYS:
            data[_CONFIG_KEYS[key]] = value
        elif key.startswith(f"{NAMESPACE}:") or (
            namespace != NAMESPACE
            and difflib.SequenceMatcher(None, namespace, NAMESPACE).ratio() >= 0.8
        ):
            # Ours misspelt, or our namespace misspelt (eks-acess:teams): both would be
            # silently ignored by Pulumi, and the stack would plan as if the key were missing.
            close = difflib.get_close_matches(
                f"{NAMESPACE}:{key.partition(':')[2]}" if ":" in key else key, ours, n=1
            )
            hint = f"did you mean {close[0]!r}? " if close else ""
            what = "config key" if namespace == NAMESPACE else f"config namespace {namespace!r}"
            problems.append(
                Problem(
                    key if len(key) <= 80 else f"{key[:79]}…",
                    f"unknown {what}; {hint}known keys: {', '.join(ours)}",
                )
            )
    problems += _region_problems(data)
    try:
        config = StackConfig.model_validate(data)
    except ValidationError as e:
        errors = e.errors()
        # A list whose only items were invalid also reads as "too short": say the cause only.
        item_locs = {tuple(err["loc"][:-1]) for err in errors if isinstance(err["loc"][-1], int)}
        seen = {p.path for p in problems}
        problems.extend(
            p
            for err in errors
            if not (err["type"] == "too_short" and tuple(err["loc"]) in item_locs)
            # a missing cluster is said already, under its config key
            and not (err["type"] == "missing" and tuple(err["loc"]) == ("cluster",))
            and (p := _describe(err)).path not in seen
        )
        raise ConfigError(problems) from None
    problems.extend(_cross_checks(config))
    problems.extend(_partition_checks(config))
    if problems:
        raise ConfigError(problems)
    return config


def _region_problems(data: Mapping[str, Any]) -> list[Problem]:
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
                f"{_show(region)} is not an AWS region; {hint}use one of the regions botocore "
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


def _partition_checks(config: StackConfig) -> list[Problem]:
    """Every ARN in the region's partition, and the node roles in one account."""
    problems: list[Problem] = []
    partition = regions.partition_of(config.region)
    places = [
        (f"cluster.{to_camel(f)}[{i}]", arn)
        for f in ("node_role_arns", "windows_node_role_arns", "fargate_role_arns")
        for i, arn in enumerate(getattr(config.cluster, f))
    ]
    if config.cluster.creator_principal_arn:
        places.append(("cluster.creatorPrincipalArn", config.cluster.creator_principal_arn))
    for t, team in enumerate(config.teams):
        places += [(f"teams[{t}].roles[{r}].arn", role.arn) for r, role in enumerate(team.roles)]
        places += [
            (f"teams[{t}].existingUsers[{e}].arn", user.arn)
            for e, user in enumerate(team.existing_users)
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
        first, *others = sorted(accounts.items(), key=lambda a: a[1])
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


def _cross_checks(config: StackConfig) -> list[Problem]:
    """Rules that span entries; pydantic checks each entry alone."""
    problems: list[Problem] = []

    def first_seen(table: dict[str, str], key: str, path: str) -> str | None:
        if key in table:
            return table[key]
        table[key] = path
        return None

    node_keys: dict[str, str] = {}
    problems.extend(_mode_checks(config))
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
    for field in ("node_role_arns", "windows_node_role_arns", "fargate_role_arns"):
        alias = to_camel(field)
        for i, arn in enumerate(getattr(config.cluster, field)):
            path = f"cluster.{alias}[{i}]"
            if (
                other := first_seen(node_keys, arns.parse_iam_arn(arn).match_key, path)
            ) is not None:
                problems.append(Problem(path, f"{arn} is listed already at {other}; list it once"))

    teams: dict[str, str] = {}
    groups: dict[str, str] = {}
    created: dict[str, str] = {}
    formers: dict[str, str] = {}
    users, user_problems = _defined_users(config.teams)
    problems.extend(user_problems)
    users_by_lower = {name.lower(): found for name, found in users.items()}
    problems.extend(_limits(config))
    # aws-auth keys mappings by path-less, lower-cased ARN: two spellings of one role collide.
    principals: dict[str, tuple[str, str]] = {}

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

        for r, role in enumerate(team.roles):
            rp = f"{tp}.roles[{r}]"
            if bad := _templates(role.kubernetes_username, ROLE_TEMPLATES):
                problems.append(
                    Problem(
                        f"{rp}.username",
                        f"unknown template {{{{{bad[0]}}}}}; allowed: {_fmt(ROLE_TEMPLATES)}",
                    )
                )
            key = arns.parse_iam_arn(role.arn).match_key
            if key in node_keys:
                problems.append(
                    Problem(
                        f"{rp}.arn",
                        f"{role.arn} is a node role "
                        f"({node_keys[key]}); node roles are mapped by the "
                        "program itself, remove it from the team",
                    )
                )
            else:
                problems.extend(
                    _mapped_once(
                        principals, key, rp, tp, f"role {role.arn}", role.kubernetes_username
                    )
                )
            if binds and team.bind_to == "users" and _TEMPLATE.search(role.kubernetes_username):
                problems.append(
                    Problem(
                        f"{rp}.username",
                        f"{role.kubernetes_username!r} is a "
                        "template, which a RoleBinding cannot name; set "
                        "bindTo: group or give the role a fixed username",
                    )
                )

        for e, existing in enumerate(team.existing_users):
            ep = f"{tp}.existingUsers[{e}]"
            problems.extend(_user_template(ep, existing.kubernetes_username))
            parsed = arns.parse_iam_arn(existing.arn)
            if (same := users_by_lower.get(parsed.name.lower())) is not None:
                problems.append(
                    Problem(
                        f"{ep}.arn",
                        f"{existing.arn} has the name of the user this stack creates at "
                        f"{same[0]} (IAM names ignore case); in one account that is the same "
                        "IAM user. List it in one place only",
                    )
                )
            problems.extend(
                _mapped_once(
                    principals,
                    parsed.match_key,
                    ep,
                    tp,
                    f"user {existing.arn}",
                    existing.kubernetes_username,
                )
            )

    # The same username for two different principals makes RBAC unable to tell them apart.
    by_username: dict[str, str] = {}
    for path, user in users.values():
        if (other := first_seen(by_username, user.kubernetes_username, path)) is not None:
            problems.append(
                Problem(
                    f"{path}.username",
                    f"username {user.kubernetes_username!r} "
                    f"is used by {other} too; give each principal its own",
                )
            )
    for path, username in principals.values():
        if "{{" not in username and (other := first_seen(by_username, username, path)) is not None:
            problems.append(
                Problem(
                    f"{path}.username",
                    f"username {username!r} is used by {other} too; give each principal its own",
                )
            )
    return problems


def _limits(config: StackConfig) -> list[Problem]:
    """AWS limits that `pulumi up` would otherwise hit halfway (EKS and IAM quotas pages)."""
    from eks_access.principals import principals

    problems: list[Problem] = []
    if config.cluster.writes_access_entries:
        mapped = principals(config, config.users_account or arns.PLACEHOLDER_ACCOUNT)
        count = sum(not p.is_node or config.cluster.node_access_entries == "create" for p in mapped)
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


def _user_template(path: str, username: str) -> list[Problem]:
    if bad := _templates(username, USER_TEMPLATES):
        return [
            Problem(
                f"{path}.username",
                f"unknown template {{{{{bad[0]}}}}} for a user; allowed: {_fmt(USER_TEMPLATES)}",
            )
        ]
    return []


def _defined_users(
    teams: tuple[Team, ...],
) -> tuple[dict[str, tuple[str, User]], list[Problem]]:
    """Each IAM user the teams create, by name with where it is first defined, and the
    problems: unknown templates, one user defined with two settings, listed twice in a team."""
    users: dict[str, tuple[str, User]] = {}
    spelled: dict[str, str] = {}  # lower-cased name -> the first spelling
    teams_of: dict[str, int] = {}
    problems: list[Problem] = []
    for t, team in enumerate(teams):
        for u, user in enumerate(team.users):
            up = f"teams[{t}].users[{u}]"
            problems.extend(_user_template(up, user.kubernetes_username))
            first = spelled.setdefault(user.name.lower(), user.name)
            if first != user.name:
                problems.append(
                    Problem(
                        f"{up}.name",
                        f"IAM user {user.name!r} is {first!r} at {users[first][0]}: IAM names "
                        "ignore case, so AWS would refuse the second (EntityAlreadyExists). Spell "
                        "it one way",
                    )
                )
                continue
            teams_of[user.name] = teams_of.get(user.name, 0) + 1
            if teams_of[user.name] == iam.MAX_GROUPS_PER_USER + 1:
                problems.append(
                    Problem(
                        up,
                        f"IAM user {user.name!r} would be in more than "
                        f"{iam.MAX_GROUPS_PER_USER} team groups, IAM's limit of groups per user; "
                        "merge teams or use a role for this person",
                    )
                )
            if user.name not in users:
                users[user.name] = (up, user)
            elif users[user.name][1] != user:
                problems.append(
                    Problem(
                        up,
                        f"IAM user {user.name!r} is defined at {users[user.name][0]} with other "
                        "settings; an IAM user exists once per account, so give it the same "
                        "settings in both places",
                    )
                )
            elif any(u2.name == user.name for u2 in team.users[:u]):
                problems.append(
                    Problem(up, f"user {user.name!r} is listed twice in this team; list it once")
                )
    return users, problems


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


def _mode_checks(config: StackConfig) -> list[Problem]:
    """What each authentication mode needs; see README "Authentication modes"."""
    problems: list[Problem] = []
    cluster = config.cluster
    mode = cluster.authentication_mode
    if mode == "API" and cluster.create is None and cluster.node_access_entries is None:
        problems.append(
            Problem(
                "cluster.nodeAccessEntries",
                "required in API mode: EKS stops reading aws-auth, where node roles were mapped; "
                "set `create` to have this program create EC2_LINUX/FARGATE_LINUX access entries "
                "for nodeRoleArns/fargateRoleArns, or `eks-managed` if EKS made them (managed "
                "node groups and Fargate profiles get them when the cluster leaves CONFIG_MAP)",
            )
        )
    if cluster.node_access_entries == "create" and not cluster.node_roles:
        problems.append(
            Problem(
                "cluster.nodeAccessEntries",
                "`create` needs the node roles; "
                "list them in cluster.nodeRoleArns / fargateRoleArns",
            )
        )
    if cluster.node_access_entries is not None and not cluster.writes_access_entries:
        problems.append(
            Problem(
                "cluster.nodeAccessEntries",
                "only used with access entries; "
                "remove it or set authenticationMode: API_AND_CONFIG_MAP",
            )
        )
    creator = (
        arns.parse_iam_arn(cluster.creator_principal_arn).match_key
        if cluster.creator_principal_arn
        else None
    )
    for t, team in enumerate(config.teams):
        tp = f"teams[{t}]"
        if team.access_policies and not cluster.writes_access_entries:
            problems.append(
                Problem(
                    f"{tp}.accessPolicies",
                    "EKS access policies need access "
                    "entries; set cluster.authenticationMode: API_AND_CONFIG_MAP "
                    "(or API), or grant the same through namespaceAccess",
                )
            )
        seen: set[str] = set()
        for a, policy in enumerate(team.access_policies):
            ap = f"{tp}.accessPolicies[{a}]"
            if policy.policy in seen:
                problems.append(
                    Problem(
                        ap,
                        f"{policy.policy!r} is listed twice; EKS takes each "
                        "policy once per principal, so merge the two",
                    )
                )
            seen.add(policy.policy)
            if policy.scope == "namespace" and not (policy.namespaces or team.namespaces):
                problems.append(
                    Problem(
                        f"{ap}.namespaces",
                        "namespace scope needs namespaces; "
                        "list them here or in the team, or use scope: cluster",
                    )
                )
            if policy.scope == "cluster" and policy.namespaces:
                problems.append(
                    Problem(
                        f"{ap}.namespaces",
                        "cluster scope takes no namespaces; remove them or use scope: namespace",
                    )
                )
        if cluster.writes_access_entries:
            for r, role in enumerate(team.roles):
                if creator and arns.parse_iam_arn(role.arn).match_key == creator:
                    problems.append(
                        Problem(
                            f"{tp}.roles[{r}].arn",
                            f"{role.arn} is the cluster "
                            "creator (cluster.creatorPrincipalArn), which already "
                            "has an access entry; a second one fails with "
                            "ResourceInUseException. Remove it from the team",
                        )
                    )
                if bad := _templates(role.kubernetes_username, ENTRY_TEMPLATES):
                    problems.append(
                        Problem(
                            f"{tp}.roles[{r}].username",
                            f"{{{{{bad[0]}}}}} is "
                            "not substituted in access-entry usernames; use "
                            f"{_fmt(ENTRY_TEMPLATES)}",
                        )
                    )
            for u, user in enumerate(team.users):
                if creator and user.name == creator.rsplit("/", 1)[-1] and ":user/" in creator:
                    problems.append(
                        Problem(
                            f"{tp}.users[{u}]",
                            f"{user.name} is the cluster "
                            "creator (cluster.creatorPrincipalArn), which already "
                            "has an access entry; remove it from the team",
                        )
                    )
    return problems


def _fmt(names: Iterable[str]) -> str:
    return ", ".join("{{" + n + "}}" for n in sorted(names))


def iam_users(config: StackConfig | IdentityConfig) -> dict[str, tuple[User, tuple[str, ...]]]:
    """Each IAM user the stack creates, once, with the names of the teams that list it."""
    out: dict[str, tuple[User, tuple[str, ...]]] = {}
    for team in config.teams:
        for user in team.users:
            known = out.get(user.name)
            out[user.name] = (user, (*known[1], team.name) if known else (team.name,))
    return dict(sorted(out.items()))
