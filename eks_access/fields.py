"""The stack config's vocabulary: names, limits, and field validators with the fix in each
message; the base model every config model shares."""

from __future__ import annotations

import base64
import binascii
import difflib
import re
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from eks_access import arns, clock, names, rules

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
# Access-entry usernames: EKS substitutes these (EKS user guide, "Set a custom username"; its own
# default role username uses SessionName). A session template must follow a colon there.
ENTRY_TEMPLATES = frozenset({"SessionName", "SessionNameRaw", "AccountID"})
# Namespaces every cluster already has; the program must never own (and so never delete) them.
BUILTIN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
MAX_ACCESS_KEYS = rules.MAX_ACCESS_KEYS  # IAM's own limit per user (eks_access.rules)
MAX_ACCESS_ENTRIES = 3000  # per cluster, not adjustable (EKS service quotas)

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
IAM_USER_NAME = re.compile(rf"^{arns.NAME_CHARS}{{1,64}}$")
_IAM_PATH = re.compile(r"^/([\x21-\x7e]{1,510}/)?$")
_KEY_LABEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
TEMPLATE = re.compile(r"\{\{([^{}]*)\}\}")
_RBAC_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.:]{0,251}[a-z0-9])?$")


# --- field validators: each raises ValueError with the fix in its message ---------------------


def dns_label(value: str) -> str:
    if not _DNS1123_LABEL.match(value):
        raise ValueError(
            f"{show(value)} is not a DNS-1123 label; use at most 63 lower-case letters, digits "
            "and '-', starting and ending with a letter or digit"
        )
    return value


_SCOPE_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61})?\*$")


def scope_namespace(value: str) -> str:
    """An access policy's namespace: a DNS-1123 label, or a prefix ending in ``*`` (EKS
    matches ``dev-*`` against every namespace that starts with ``dev-``, existing or not)."""
    if _SCOPE_PREFIX.match(value):
        return value
    return dns_label(value)


def cluster_name(value: str) -> str:
    if not _CLUSTER_NAME.match(value):
        raise ValueError(
            f"{show(value)} is not an EKS cluster name; use 1-100 letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return value


def iam_user_name(value: str) -> str:
    if not IAM_USER_NAME.match(value):
        raise ValueError(
            f"{show(value)} is not an IAM user name; use 1-64 letters, digits or + = , . @ _ -"
        )
    return value


def iam_path(value: str) -> str:
    if not _IAM_PATH.match(value):
        raise ValueError(f"{show(value)} is not an IAM path; use '/' or '/division/team/'")
    return value


def key_label(value: str) -> str:
    if not _KEY_LABEL.match(value):
        raise ValueError(
            f"{show(value)} is not a key generation label; use 1-32 lower-case letters, digits "
            "and '-', e.g. '2026-12'"
        )
    return value


def iam_arn(kind: arns.PrincipalKind) -> Any:
    """A validator for an IAM ``kind`` ARN, with the parser's own message."""

    def check(value: str) -> str:
        if _STS_SESSION.match(value):
            raise ValueError(
                f"{show(value)} is an STS session ARN; EKS maps the role, not one session of it: "
                "write the role's ARN, arn:aws:iam::ACCOUNT:role/NAME"
            )
        try:
            arn = arns.parse_iam_arn(value, kind)
        except arns.ArnError as e:
            raise ValueError(str(e)) from None
        if arn.path.startswith("/aws-service-role/"):
            raise ValueError(
                f"{show(value)} is a service-linked role, which AWS services assume for "
                "themselves; EKS refuses it as an access-entry principal: map a role of your own"
            )
        return value

    return check


_STS_SESSION = re.compile(r"^arn:[^:]+:sts::\d{12}:(assumed-role|federated-user)/")


def no_reserved_prefix(what: str) -> Any:
    def check(value: str) -> str:
        if not value.strip():
            raise ValueError(f"the {what} is empty; give a name or leave the key out")
        if bad := names.problem(value, what, show(value)):
            raise ValueError(bad)
        for prefix in RESERVED_PREFIXES:
            if value.lower().startswith(prefix):
                raise ValueError(
                    f"{what} {show(value)} starts with the reserved prefix {prefix!r}; EKS and "
                    f"Kubernetes reserve it, so choose a {what} without it"
                )
        return value

    return check


def _verb(value: str) -> str:
    if problem := unknown_verb(value, KNOWN_VERBS | URL_VERBS, "(RBAC verbs and HTTP methods)"):
        raise ValueError(problem)
    return value


def unknown_verb(value: str, known: frozenset[str], what: str) -> str | None:
    if value in known:
        return None
    close = difflib.get_close_matches(value, sorted(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown verb {show(value)}; {hint}known verbs {what}: {', '.join(sorted(known))}"


def rbac_name(value: str) -> str:
    if not _RBAC_NAME.match(value):
        raise ValueError(
            f"{show(value)} is not a valid Role name; use lower-case letters, digits, '-', '.' "
            "or ':'"
        )
    return value


def fmt(names: Iterable[str]) -> str:
    """Template names as a config writes them: ``{{AccountID}}, {{SessionName}}``."""
    return ", ".join("{{" + n + "}}" for n in sorted(names))


def session_pattern(username: str) -> re.Pattern[str] | None:
    """The usernames a username template gives its sessions (``dev:{{SessionName}}`` matches
    ``dev:alice``; the session is group ``s``), or None for a literal username."""
    parts = re.split(r"(\{\{(?:SessionName|SessionNameRaw|AccountID|AccessKeyID)\}\})", username)
    if len(parts) == 1:
        return None
    out, seen = "", False
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out += re.escape(part)
        elif part.startswith("{{SessionName") and not seen:
            # a session name is [\w+=,.@-]{2,64}; rendered, {{SessionName}} has no "@" (EKS
            # and the authenticator turn it into "-"), {{SessionNameRaw}} keeps it
            out += "(?P<s>[A-Za-z0-9_+=,.@-]+)" if "Raw" in part else "(?P<s>[A-Za-z0-9_+=,.-]+)"
            seen = True
        elif part == "{{AccountID}}":
            out += r"\d{12}"
        else:
            out += "[A-Za-z0-9_+=,.@-]+"
    return re.compile(f"^{out}$")


def disallowed_templates(value: str, allowed: frozenset[str]) -> list[str]:
    return [t for t in TEMPLATE.findall(value) if t not in allowed]


_KEYBASE = re.compile(r"^keybase:[A-Za-z0-9_-]{1,64}$")


def pgp_key(value: str) -> str:
    """``keybase:NAME`` or a base64-encoded OpenPGP public key (what IAM's CreateAccessKey
    takes through the provider's ``pgp_key``), checked before AWS refuses it halfway."""
    if value.startswith("keybase:"):
        if not _KEYBASE.match(value):
            raise ValueError(
                f"{show(value)} is not a Keybase user; write keybase:NAME (letters, digits, _ or -)"
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
            f"{show(value)} is neither keybase:NAME nor a base64 OpenPGP public key; export one "
            "with `gpg --export KEYID | base64 -w0`"
        )
    return value


def show(value: Any, limit: int = 60) -> str:
    """A value as messages quote it: repr, shortened when long (a 5,000-character paste)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}… ({len(str(value))} characters)"


def split_shorthand(data: Any, key: str) -> Any:
    """``- alice`` in a list of users means ``- {name: alice}``: one short line per entry."""
    return {key: data} if isinstance(data, str) else data


DnsLabel = Annotated[str, AfterValidator(dns_label)]
ScopeNamespace = Annotated[str, AfterValidator(scope_namespace)]
KeyLabel = Annotated[str, AfterValidator(key_label)]
RoleArn = Annotated[str, AfterValidator(iam_arn("role"))]
UserArn = Annotated[str, AfterValidator(iam_arn("user"))]
Username = Annotated[str, AfterValidator(no_reserved_prefix("username"))]
GroupName = Annotated[str, AfterValidator(no_reserved_prefix("group"))]
NonEmpty = Annotated[str, Field(min_length=1)]
Verb = Annotated[str, AfterValidator(_verb)]
PgpKey = Annotated[str, AfterValidator(pgp_key)]
Expires = Annotated[str, AfterValidator(clock.expiry_value)]
"""When a grant ends (``eks_access.clock``): a date, or a date-time with its zone."""
Reason = Annotated[str, Field(min_length=1, max_length=200)]
MEMBERSHIP_FIELDS = ("expires", "reason")
"""Fields of a principal entry that belong to one team's membership, not to the principal: the
same user may end, for another reason, at another time in another team."""


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=False,
        validate_by_alias=True,
        strict=False,
    )


class Shorthand(Model):
    """A principal entry of a team, which may be written as one string: ``- alice`` means
    ``- {name: alice}`` (``shorthand`` names the key the string fills)."""

    shorthand: ClassVar[str]

    expires: Expires | None = None
    """When this principal's membership of the team ends (the same principal may end at other
    times in other teams)."""
    reason: Reason | None = None
    """Why the membership was granted (a ticket, an incident): shown by the review and by
    ``eks-access expiring``; ``eks-access grant --reason`` writes it."""

    def settings(self) -> Any:
        """The entry without what may differ between the teams that list one principal."""
        return self.model_copy(update=dict.fromkeys(MEMBERSHIP_FIELDS))

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, data: Any) -> Any:
        return split_shorthand(data, cls.shorthand)
