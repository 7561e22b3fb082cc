"""IAM and STS ARNs: parsing, and the forms EKS compares.

aws-iam-authenticator keys aws-auth mappings by lower-cased ARN and turns a caller's STS
identity ``arn:aws:sts::ACCT:assumed-role/NAME/SESSION`` into ``arn:aws:iam::ACCT:role/NAME``.
STS never carries a role's IAM path, so aws-auth must hold role ARNs without it, while the
access-entry API wants the real ARN, path included. Both forms are derived here, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from eks_access.regions import partitions

PARTITIONS = tuple(sorted(partitions(), key=len, reverse=True))  # longest first, for the regex
_PARTITION = "|".join(re.escape(p) for p in PARTITIONS)
# IAM names: https://docs.aws.amazon.com/IAM/latest/APIReference/API_User.html (pattern [\w+=,.@-]+)
# IAM's \w is ASCII; Python's (and pydantic's) would also take letters such as "ü" or "ﬁ".
NAME_CHARS = r"[A-Za-z0-9_+=,.@-]"
_IAM_ARN = re.compile(
    rf"^arn:(?P<partition>{_PARTITION}):iam::(?P<account>\d{{12}}):"
    rf"(?P<kind>user|role)(?P<path>/(?:[\x21-\x7e]*/)?)(?P<name>{NAME_CHARS}{{1,64}})$"
)
_STS_ARN = re.compile(
    rf"^arn:(?P<partition>{_PARTITION}):sts::(?P<account>\d{{12}}):"
    rf"assumed-role/(?P<name>{NAME_CHARS}{{1,64}})/(?P<session>{NAME_CHARS}{{2,64}})$"
)
_EKS_CLUSTER_ARN = re.compile(
    rf"^arn:(?P<partition>{_PARTITION}):eks:(?P<region>[a-z0-9-]+):(?P<account>\d{{12}}):"
    r"cluster/(?P<name>[0-9A-Za-z][A-Za-z0-9_-]{0,99})$"
)

PrincipalKind = Literal["user", "role"]
PLACEHOLDER_ACCOUNT = "111122223333"
"""The account assumed when the config names none (AWS documentation's example account)."""


class ArnError(ValueError):
    """The string is not an ARN of the expected form."""


@dataclass(frozen=True, order=True)
class IamArn:
    """An IAM user or role ARN, split into its parts."""

    partition: str
    account: str
    kind: PrincipalKind
    path: str
    name: str

    @property
    def arn(self) -> str:
        """The real IAM ARN, path included (what access entries take)."""
        return f"arn:{self.partition}:iam::{self.account}:{self.kind}{self.path}{self.name}"

    @property
    def aws_auth_arn(self) -> str:
        """The ARN we write in aws-auth: roles without their path (STS never carries it, so a
        role written with its path is never matched), users unchanged (their canonical ARN keeps
        the path)."""
        if self.kind == "role":
            return f"arn:{self.partition}:iam::{self.account}:role/{self.name}"
        return self.arn

    @property
    def match_key(self) -> str:
        """The key the authenticator files our aws-auth entry under, and the canonical ARN of
        the principal's callers, lower-cased: they are equal by construction."""
        return self.aws_auth_arn.lower()


def parse_iam_arn(value: str, kind: PrincipalKind | None = None) -> IamArn:
    """Parse an IAM user or role ARN; ``kind`` restricts which of the two is accepted."""
    m = _IAM_ARN.match(value)
    if m is None:
        want = f"an IAM {kind} ARN" if kind else "an IAM user or role ARN"
        example = f"arn:aws:iam::111122223333:{kind or 'role'}/NAME"
        shown = value if len(value) <= 80 else f"{value[:79]}… ({len(value)} characters)"
        raise ArnError(f"{shown!r} is not {want}; expected the form {example}")
    if kind is not None and m["kind"] != kind:
        raise ArnError(f"{value!r} is an IAM {m['kind']} ARN, but an IAM {kind} ARN is needed here")
    path = m["path"]
    if len(path) > 512:
        raise ArnError(f"{value!r} has an IAM path longer than 512 characters")
    return IamArn(m["partition"], m["account"], m["kind"], path, m["name"])  # type: ignore[arg-type]


def user_arn(partition: str, account: str, name: str, path: str = "/") -> IamArn:
    """The ARN an IAM user will have: known before the user exists, so previews can show it."""
    return parse_iam_arn(f"arn:{partition}:iam::{account}:user{path}{name}", "user")


def caller_key(value: str) -> str:
    """The key the authenticator looks a caller up by: IAM or STS ARN in, lower-cased IAM ARN out.

    An assumed-role session becomes its role (path-less, as STS reports it); IAM ARNs are
    reduced to their aws-auth form.
    """
    m = _STS_ARN.match(value)
    if m is not None:
        return f"arn:{m['partition']}:iam::{m['account']}:role/{m['name']}".lower()
    return parse_iam_arn(value).match_key


def caller_arn(value: str) -> str:
    """The caller's canonical ARN as the authenticator has it, case kept (the username it
    gives a principal of a mapped account): a session's role without its path, or the IAM ARN
    in its aws-auth form."""
    m = _STS_ARN.match(value)
    if m is not None:
        return f"arn:{m['partition']}:iam::{m['account']}:role/{m['name']}"
    return parse_iam_arn(value).aws_auth_arn


def reachable(key: str) -> bool:
    """Whether a caller's canonical ARN can equal this aws-auth key (lower-cased as written):
    an IAM user ARN (its path kept) or a role ARN without a path. A role ARN with a path, or
    something that is no IAM ARN, is never matched."""
    try:
        parsed = parse_iam_arn(key)
    except ArnError:
        return False
    return parsed.kind == "user" or parsed.path == "/"


def session_name(value: str) -> str | None:
    """The session name of an STS assumed-role ARN, or None for an IAM ARN."""
    m = _STS_ARN.match(value)
    return m["session"] if m else None


@dataclass(frozen=True)
class ClusterArn:
    """An EKS cluster ARN."""

    partition: str
    region: str
    account: str
    name: str


def parse_cluster_arn(value: str) -> ClusterArn:
    m = _EKS_CLUSTER_ARN.match(value)
    if m is None:
        raise ArnError(f"{value!r} is not an EKS cluster ARN")
    return ClusterArn(m["partition"], m["region"], m["account"], m["name"])


def cluster_arn(partition: str, region: str, account: str, name: str) -> str:
    return f"arn:{partition}:eks:{region}:{account}:cluster/{name}"


def cluster_instance(arn: str, created_at: str | None) -> str:
    """One cluster's identity over its life: its ARN, and when it was created (a cluster deleted
    and made again under the same name is another instance: its objects are gone)."""
    return f"{arn}@{created_at}" if created_at else arn


def cluster_of_instance(instance: str) -> str:
    """The cluster ARN of an instance identifier."""
    return instance.split("@", 1)[0]
