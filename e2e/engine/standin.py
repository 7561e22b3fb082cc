"""A stand-in for the pulumi-aws resource provider, for running the real Pulumi engine offline.

Test infrastructure, never shipped. It speaks Pulumi's ResourceProvider gRPC protocol directly
(the Python SDK's ``pulumi.provider`` serves only components) and covers the resource types and
functions eks-access uses. IAM goes to a moto server (``EKS_STANDIN_MOTO``); EKS, which moto's
server does not model the way this needs (access entries, upserting policy associations), is kept
in a JSON file (``EKS_STANDIN_STATE``) that every call reads and writes under a lock, since the
engine starts a provider process per operation.

Diffs follow the providers' own facts (``e2e/engine/upstream.yaml``, derived by
``e2e.engine.upstream``), never the project's lifecycle model (``eks_access/data/lifecycle.yaml``):
the offline plan's operations are compared with what the engine does with these, so a wrong
row in the model fails ``make e2e-engine``.

Run: ``python -m e2e.engine.standin`` (the engine does, through ``e2e.engine.write_launcher``);
it prints its port on the first line of stdout and serves until killed.
"""

# ruff: noqa: N802  (the gRPC service's method names are the protocol's)
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import random
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent import futures
from typing import Any, NoReturn

import boto3  # type: ignore[import-untyped]
import grpc  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from e2e.engine import locked_state, upstream

VERSION = "7.51.1"
DEFAULT_ACCOUNT = "111122223333"
DEFAULT_REGION = "us-east-1"

# Pulumi's wire encoding of special values (pulumi/runtime/rpc.py).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
DEFAULTS = "__defaults"
"""The bridge's list of inputs it filled in itself (an auto-name): never diffed, never sent on."""
SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"

Props = dict[str, Any]


class ProviderError(Exception):
    """An operation failed the way the AWS API would fail it; the engine shows the message."""


# --- values on the wire ---------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A wire value without Pulumi's wrappers: secrets unwrapped, resource refs as their ID."""
    if isinstance(value, dict):
        sig = value.get(SIG)
        if sig == SECRET_SIG:
            return plain(value.get("value"))
        if sig == RESOURCE_SIG:
            return plain(value.get("id") or value.get("urn"))
        if sig == OUTPUT_SIG:
            return plain(value["value"]) if "value" in value else UNKNOWN
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def raw(struct: struct_pb2.Struct | None) -> Props:
    """A Struct as Python data, wrappers kept."""
    if struct is None:
        return {}
    return dict(json_format.MessageToDict(struct))


def unwrap(struct: struct_pb2.Struct | None) -> Props:
    return dict(plain(raw(struct)))


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update({k: v for k, v in props.items() if v is not None})
    return s


def is_secret(value: Any) -> bool:
    if isinstance(value, dict):
        return bool(value.get(SIG) == SECRET_SIG) or any(is_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(is_secret(v) for v in value)
    return False


def secret(value: Any) -> Props:
    return {SIG: SECRET_SIG, "value": value}


def has_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return bool(value == UNKNOWN)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def urn_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


# --- property paths -----------------------------------------------

_SEGMENT = re.compile(r'\.?([A-Za-z_][\w-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def path_segments(path: str) -> list[str | int]:
    """``accessScope.namespaces[0]`` -> ``["accessScope", "namespaces", 0]``."""
    out: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if m is None:
            raise ValueError(f"bad property path {path!r}")
        name, index, quoted = m.groups()
        out.append(name if name is not None else int(index) if index else json.loads(quoted))
        pos = m.end()
    return out


_MISSING = object()


def lookup(value: Any, path: str) -> Any:
    for seg in path_segments(path):
        if isinstance(seg, int):
            if not isinstance(value, list) or seg >= len(value):
                return _MISSING
        elif not isinstance(value, dict) or seg not in value:
            return _MISSING
        value = value[seg]
    return value


def top_key(path: str) -> str:
    return str(path_segments(path)[0])


# --- the provider's view of AWS -------------------------------------------------------------------


class Aws:
    """Provider configuration and clients: IAM in moto, EKS in the state file."""

    def __init__(self, region: str, account: str) -> None:
        self.region = region
        self.account = account
        self.partition = "aws"
        self._iam: Any = None
        self._lock = threading.Lock()

    @property
    def iam(self) -> Any:
        with self._lock:  # creating boto3 clients is not thread-safe; using them is
            if self._iam is None:
                endpoint = os.environ.get("EKS_STANDIN_MOTO")
                if not endpoint:
                    raise ProviderError("EKS_STANDIN_MOTO is not set (the moto server's URL)")
                session = boto3.session.Session(
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",
                    region_name=self.region,
                )
                client = session.client(
                    "iam",
                    endpoint_url=endpoint,
                    config=Config(retries={"max_attempts": 1, "mode": "standard"}),
                )
                account = self.account

                # moto puts the account in every ARN; this header picks ours (not its 123456789012).
                def add_account(request: Any, **_: Any) -> None:
                    request.headers["x-moto-account-id"] = account

                client.meta.events.register("before-sign.iam.*", add_account)
                self._iam = client
            return self._iam

    def eks(self, write: bool = True) -> Any:
        path = os.environ.get("EKS_STANDIN_STATE")
        if not path:
            raise ProviderError("EKS_STANDIN_STATE is not set (the EKS state file)")
        return locked_state(path, write)


def code_of(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def fail(action: str, e: ClientError) -> NoReturn:
    err = e.response.get("Error", {})
    op = e.operation_name
    raise ProviderError(
        f"{action}: operation error IAM: {op}, api error {err.get('Code')}: {err.get('Message')}"
    ) from e


def eks_error(op: str, code: str, message: str) -> ProviderError:
    return ProviderError(f"operation error EKS: {op}, {code}: {message}")


def tag_list(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())]


# --- resource types -------------------------------------------------------------------------------


class Kind:
    """One resource type: Check defaults, and Create/Update/Delete/Read against AWS."""

    token = ""
    defaults: Props = {}  # noqa: RUF012 (read-only per class)
    computed: tuple[str, ...] = ()
    """Outputs that are not inputs: unknown in a preview of a create."""
    autoname = False

    def check(self, news: Props, urn: str, seed: bytes) -> tuple[Props, list[tuple[str, str]]]:
        out = dict(news)
        for k, v in self.defaults.items():
            out.setdefault(k, v)
        out[DEFAULTS] = []  # the bridge lists what it filled in (pkg/reservedkeys "__defaults")
        if self.autoname and "name" not in out:
            # As pulumi-aws autonames: the resource's name plus a random suffix (stable per seed).
            rnd = random.Random(seed or urn)
            out["name"] = f"{urn_name(urn)}-{rnd.getrandbits(28):07x}"
            out[DEFAULTS] = ["name"]
        return out, []

    def create(self, aws: Aws, ins: Props) -> tuple[str, Props]:
        raise NotImplementedError

    def update(self, aws: Aws, id_: str, olds: Props, old_ins: Props, news: Props) -> Props:
        raise ProviderError(f"{self.token} has no update: every change replaces it")

    def preview_update(self, olds: Props, old_ins: Props, news: Props) -> Props:
        return {**olds, **news}

    def delete(self, aws: Aws, id_: str, olds: Props, old_ins: Props) -> None:
        raise NotImplementedError

    def read(self, aws: Aws, id_: str, olds: Props) -> Props | None:
        """The live outputs, or None when the resource is gone (refresh drops it)."""
        return olds


class User(Kind):
    token = "aws:iam/user:User"
    defaults: Props = {"path": "/", "forceDestroy": False}  # noqa: RUF012
    computed = ("arn", "uniqueId", "tagsAll")
    autoname = True

    def _outs(self, ins: Props, user: Mapping[str, Any], tags: Props) -> Props:
        return {
            **ins,
            "name": user["UserName"],
            "path": user["Path"],
            "arn": user["Arn"],
            "uniqueId": user["UserId"],
            "tags": ins.get("tags"),
            "tagsAll": tags,
            "forceDestroy": bool(ins.get("forceDestroy", False)),
        }

    def create(self, aws: Aws, ins: Props) -> tuple[str, Props]:
        name = ins["name"]
        try:
            args: Props = {"UserName": name, "Path": ins.get("path", "/")}
            if ins.get("tags"):
                args["Tags"] = tag_list(ins["tags"])
            user = aws.iam.create_user(**args)["User"]
        except ClientError as e:
            fail(f"creating IAM User ({name})", e)
        return name, self._outs(ins, user, dict(ins.get("tags") or {}))

    def update(self, aws: Aws, id_: str, olds: Props, old_ins: Props, news: Props) -> Props:
        old_name, name = olds.get("name", id_), news["name"]
        try:
            if old_name != name or olds.get("path") != news.get("path"):
                args: Props = {"UserName": old_name}
                if old_name != name:
                    args["NewUserName"] = name
                if olds.get("path") != news.get("path"):
                    args["NewPath"] = news.get("path", "/")
                aws.iam.update_user(**args)
            old_tags, tags = dict(olds.get("tags") or {}), dict(news.get("tags") or {})
            if gone := sorted(set(old_tags) - set(tags)):
                aws.iam.untag_user(UserName=name, TagKeys=gone)
            if changed := {k: v for k, v in tags.items() if old_tags.get(k) != v}:
                aws.iam.tag_user(UserName=name, Tags=tag_list(changed))
            user = aws.iam.get_user(UserName=name)["User"]
        except ClientError as e:
            fail(f"updating IAM User ({old_name})", e)
        return self._outs(news, user, tags)

    def preview_update(self, olds: Props, old_ins: Props, news: Props) -> Props:
        out = {**olds, **news, "tagsAll": news.get("tags") or {}}
        if olds.get("name") != news.get("name") or olds.get("path") != news.get("path"):
            out["arn"] = UNKNOWN
        return out

    def delete(self, aws: Aws, id_: str, olds: Props, old_ins: Props) -> None:
        name = olds.get("name", id_)
        try:
            # IAM refuses to delete a user that still has keys or group memberships (the
            # engine deletes those first); force_destroy is not modelled.
            keys = aws.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
            groups = aws.iam.list_groups_for_user(UserName=name)["Groups"]
            if keys or groups:
                raise ProviderError(
                    f"deleting IAM User ({name}): operation error IAM: DeleteUser, api error "
                    "DeleteConflict: Cannot delete entity, must remove "
                    f"{'access keys' if keys else 'group memberships'} first."
                )
            aws.iam.delete_user(UserName=name)
        except ClientError as e:
            if code_of(e) != "NoSuchEntity":
                fail(f"deleting IAM User ({name})", e)

    def read(self, aws: Aws, id_: str, olds: Props) -> Props | None:
        try:
            user = aws.iam.get_user(UserName=olds.get("name", id_))["User"]
        except ClientError as e:
            if code_of(e) == "NoSuchEntity":
                return None
            fail(f"reading IAM User ({id_})", e)
        return self._outs(olds, user, dict(olds.get("tagsAll") or {}))


class Group(Kind):
    token = "aws:iam/group:Group"
    defaults: Props = {"path": "/"}  # noqa: RUF012
    computed = ("arn", "uniqueId")
    autoname = True

    @staticmethod
    def _outs(ins: Props, group: Mapping[str, Any]) -> Props:
        return {
            **ins,
            "name": group["GroupName"],
            "path": group["Path"],
            "arn": group["Arn"],
            "uniqueId": group["GroupId"],
        }

    def create(self, aws: Aws, ins: Props) -> tuple[str, Props]:
        name = ins["name"]
        try:
            group = aws.iam.create_group(GroupName=name, Path=ins.get("path", "/"))["Group"]
        except ClientError as e:
            fail(f"creating IAM Group ({name})", e)
        return name, self._outs(ins, group)

    def update(self, aws: Aws, id_: str, olds: Props, old_ins: Props, news: Props) -> Props:
        old_name, name = olds.get("name", id_), news["name"]
        try:
            args: Props = {"GroupName": old_name}
            if old_name != name:
                args["NewGroupName"] = name
            if olds.get("path") != news.get("path"):
                args["NewPath"] = news.get("path", "/")
            if len(args) > 1:
                # A rename in place: IAM keeps the group's members and policies.
                aws.iam.update_group(**args)
            group = aws.iam.get_group(GroupName=name)["Group"]
        except ClientError as e:
            fail(f"updating IAM Group ({old_name})", e)
        return self._outs(news, group)

    def preview_update(self, olds: Props, old_ins: Props, news: Props) -> Props:
        out = {**olds, **news}
        if olds.get("name") != news.get("name") or olds.get("path") != news.get("path"):
            out["arn"] = UNKNOWN
        return out

    def delete(self, aws: Aws, id_: str, olds: Props, old_ins: Props) -> None:
        name = olds.get("name", id_)
        try:
            # IAM refuses to delete a group with members or inline policies.
            members = aws.iam.get_group(GroupName=name)["Users"]
            policies = aws.iam.list_group_policies(GroupName=name)["PolicyNames"]
            if members or policies:
                raise ProviderError(
                    f"deleting IAM Group ({name}): operation error IAM: DeleteGroup, api error "
                    "DeleteConflict: Cannot delete entity, must "
                    f"{'remove users from group' if members else 'delete policies'} first."
                )
            aws.iam.delete_group(GroupName=name)
        except ClientError as e:
            if code_of(e) != "NoSuchEntity":
                fail(f"deleting IAM Group ({name})", e)

    def read(self, aws: Aws, id_: str, olds: Props) -> Props | None:
        try:
            group = aws.iam.get_group(GroupName=olds.get("name", id_))["Group"]
        except ClientError as e:
            if code_of(e) == "NoSuchEntity":
                return None
            fail(f"reading IAM Group ({id_})", e)
        return self._outs(olds, group)


class _InlinePolicy(Kind):
    """aws_iam_group_policy and aws_iam_role_policy: one inline policy of an owner (a group or
    a role), ID ``<owner>:<name>``; name, name_prefix and the owner replace, the policy is put
    again in place."""

    owner = "group"  # the Terraform argument, and IAM's API names: put_group_policy, GroupName
    label = "Group"

    def _call(self, aws: Aws, verb: str, owner: str, name: str, **more: Any) -> Any:
        method = getattr(aws.iam, f"{verb}_{self.owner}_policy")
        return method(**{f"{self.label}Name": owner, "PolicyName": name, **more})

    def create(self, aws: Aws, ins: Props) -> tuple[str, Props]:
        name = ins.get("name") or f"{ins.get('namePrefix') or 'terraform-'}{uuid.uuid4().hex[:26]}"
        owner = ins[self.owner]
        try:
            self._call(aws, "put", owner, name, PolicyDocument=ins["policy"])
        except ClientError as e:
            fail(f"creating IAM {self.label} ({owner}) Policy ({name})", e)
        return f"{owner}:{name}", {**ins, "name": name}

    def update(self, aws: Aws, id_: str, olds: Props, old_ins: Props, news: Props) -> Props:
        owner, name = news[self.owner], olds["name"]
        try:
            self._call(aws, "put", owner, name, PolicyDocument=news["policy"])
        except ClientError as e:
            fail(f"updating IAM {self.label} ({owner}) Policy ({name})", e)
        return {**news, "name": name}

    def delete(self, aws: Aws, id_: str, olds: Props, old_ins: Props) -> None:
        # From the ID, as terraform-provider-aws does; a renamed or deleted owner is no error.
        owner, _, name = id_.partition(":")
        try:
            self._call(aws, "delete", owner, name)
        except ClientError as e:
            if code_of(e) != "NoSuchEntity":
                fail(f"deleting IAM {self.label} ({owner}) Policy ({name})", e)

    def read(self, aws: Aws, id_: str, olds: Props) -> Props | None:
        owner, _, name = id_.partition(":")
        try:
            doc = self._call(aws, "get", owner, name)["PolicyDocument"]
        except ClientError as e:
            if code_of(e) == "NoSuchEntity":
                return None
            fail(f"reading IAM {self.label} ({owner}) Policy ({name})", e)
        if isinstance(doc, dict):  # boto3 decodes the URL-encoded JSON document
            doc = json.dumps(doc)
        same = _json_equal(doc, olds.get("policy"))
        return {**olds, self.owner: owner, "name": name, "policy": olds["policy"] if same else doc}


class GroupPolicy(_InlinePolicy):
    token = "aws:iam/groupPolicy:GroupPolicy"


class RolePolicy(_InlinePolicy):
    token = "aws:iam/rolePolicy:RolePolicy"
    owner = "role"
    label = "Role"


def _json_equal(a: Any, b: Any) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except (TypeError, ValueError):
        return bool(a == b)


class Role(Kind):
    """aws_iam_role as the program registers it: a name, a path and a trust policy."""

    token = "aws:iam/role:Role"
    defaults: Props = {"path": "/"}  # noqa: RUF012
    computed = ("arn", "uniqueId", "createDate", "tagsAll")
    autoname = True

    @staticmethod
    def _outs(ins: Props, role: Mapping[str, Any]) -> Props:
        return {
            **ins,
            "name": role["RoleName"],
            "path": role["Path"],
            "arn": role["Arn"],
            "uniqueId": role["RoleId"],
            "createDate": str(role["CreateDate"]),
            "tagsAll": dict(ins.get("tags") or {}),
        }

    def create(self, aws: Aws, ins: Props) -> tuple[str, Props]:
        name = ins["name"]
        try:
            role = aws.iam.create_role(
                RoleName=name,
                Path=ins.get("path", "/"),
                AssumeRolePolicyDocument=ins["assumeRolePolicy"],
            )["Role"]
        except ClientError as e:
            fail(f"creating IAM Role ({name})", e)
        return name, self._outs(ins, role)

    def update(self, aws: Aws, id_: str, olds: Props, old_ins: Props, news: Props) -> Props:
        name = olds.get("name", id_)
        try:  # name and path replace (ForceNew); the trust policy is updated in place
            aws.iam.update_assume_role_policy(
                RoleName=name, PolicyDocument=news["assumeRolePolicy"]
            )
            role = aws.iam.get_role(RoleName=name)["Role"]
        except ClientError as e:
            fail(f"updating IAM Role ({name})", e)
        return self._outs(news, role)

    def delete(self, aws: Aws, id_: str, olds: Props, old_ins: Props) -> None:
        name = olds.get("name", id_)
        try:
            aws.iam.delete_role(RoleName=name)
        except ClientError as e:
            if code_of(e) != "NoSuchEntity":
                fail(f"deleting IAM Role ({name})", e)

    def read(self, aws: Aws, id_: str, olds: Props) -> Props | None:
        try:
            role = aws.iam.get_role(RoleName=olds.get("name", id_))["Role"]
        except ClientError as e:
            if code_of(e) == "NoSuchEntity":
                return None
            fail(f"reading IAM Role ({id_})", e)
        return self._outs(olds, role)


class UserGroupMembership(Kind):
    token = "aws:iam/userGroupMembership:UserGroupMembership"

    def _add(self, aws: Aws, user: str, groups: list[str]) -> None:
        for g in groups:
            try:
                aws.iam.add_user_to_group(UserName=user, GroupName=g)
            except ClientError as e:
                fail(f"adding IAM User ({user}) to IAM Group ({g})", e)

    def _remove(self, aws: Aws, user: str, groups: list[str]) -> None:
        for g in groups:
            try:
                aws.iam.remove_user_from_group(UserName=user, GroupName=g)
            except ClientError as e:
                # As terraform-provider-aws: a group (or user) already gone is no error.
                if code_of(e) != "NoSuchEntity":
                    fail(f"removing IAM User ({user}) from IAM Group ({g})", e)

    def create(self, aws: Aws, ins: Props) -> tuple[str, Props]:
        self._add(aws, ins["user"], list(ins.get("groups") or []))
        return f"terraform-{uuid.uuid4().hex[:26]}", dict(ins)

    def update(self, aws: Aws, id_: str, olds: Props, old_ins: Props, news: Props) -> Props:
        old, new = list(olds.get("groups") or []), list(news.get("groups") or [])
        user = news["user"]
        self._add(aws, user, [g for g in new if g not in old])
        self._remove(aws, user, [g for g in old if g not in new])
        return dict(news)

    def delete(self, aws: Aws, id_: str, olds: Props, old_ins: Props) -> None:
        self._remove(aws, olds["user"], list(olds.get("groups") or []))

    def read(self, aws: Aws, id_: str, olds: Props) -> Props | None:
        try:
            live = aws.iam.list_groups_for_user(UserName=olds["user"])["Groups"]
        except ClientError as e:
            if code_of(e) == "NoSuchEntity":
                return None
            fail(f"reading IAM User Group Membership ({id_})", e)
        names = {g["GroupName"] for g in live}
        groups = [g for g in olds.get("groups") or [] if g in names]
        return {**olds, "groups": groups} if groups else None


def ses_smtp_password_v4(secret_key: str, region: str) -> str:
    """The SES SMTP password derived from a secret key (AWS's documented algorithm)."""

    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    sig = sign(("AWS4" + secret_key).encode(), "11111111")
    for part in (region, "ses", "aws4_request", "SendRawEmail"):
        sig = sign(sig, part)
    return base64.b64encode(bytes([0x04]) + sig).decode()


def fake_pgp(pgp_key: str, what: str, value: str) -> str:
    """A deterministic stand-in for PGP encryption: nobody can read it, tests can compare it."""
    fingerprint = hashlib.sha256(pgp_key.encode()).hexdigest()[:16]
    digest = hashlib.sha256(f"{fingerprint}:{value}".encode()).hexdigest()
    return base64.b64encode(f"pgp:{fingerprint}:{what}:{digest}".encode()).decode()


class AccessKey(Kind):
    token = "aws:iam/accessKey:AccessKey"
    defaults: Props = {"status": "Active"}  # noqa: RUF012
    computed = (
        "createDate",
        "secret",
        "sesSmtpPasswordV4",
        "encryptedSecret",
        "encryptedSesSmtpPasswordV4",
        "keyFingerprint",
    )

    def create(self, aws: Aws, ins: Props) -> tuple[str, Props]:
        user = ins["user"]
        try:
            # moto enforces IAM's two keys per user: LimitExceeded fails the create.
            key = aws.iam.create_access_key(UserName=user)["AccessKey"]
            if ins.get("status", "Active") != "Active":
                aws.iam.update_access_key(
                    UserName=user, AccessKeyId=key["AccessKeyId"], Status=ins["status"]
                )
        except ClientError as e:
            fail(f"creating IAM Access Key ({user})", e)
        out: Props = {
            **ins,
            "createDate": key["CreateDate"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": ins.get("status", "Active"),
        }
        secret_key = key["SecretAccessKey"]
        smtp = ses_smtp_password_v4(secret_key, aws.region)
        if pgp := ins.get("pgpKey"):
            # With a PGP key AWS's secret never reaches the state, only its encryption.
            out["encryptedSecret"] = fake_pgp(pgp, "secret", secret_key)
            out["encryptedSesSmtpPasswordV4"] = fake_pgp(pgp, "smtp", smtp)
            out["keyFingerprint"] = hashlib.sha256(pgp.encode()).hexdigest()[:16]
        else:
            out["secret"] = secret_key
            out["sesSmtpPasswordV4"] = smtp
        return str(key["AccessKeyId"]), out

    def update(self, aws: Aws, id_: str, olds: Props, old_ins: Props, news: Props) -> Props:
        if olds.get("status") != news.get("status"):
            try:
                aws.iam.update_access_key(
                    UserName=olds["user"], AccessKeyId=id_, Status=news.get("status", "Active")
                )
            except ClientError as e:
                fail(f"updating IAM Access Key ({id_})", e)
        # pgpKey can differ here only under ignoreChanges: the key keeps what it was made with.
        return {**olds, **news, "pgpKey": olds.get("pgpKey")}

    def delete(self, aws: Aws, id_: str, olds: Props, old_ins: Props) -> None:
        try:
            aws.iam.delete_access_key(UserName=olds["user"], AccessKeyId=id_)
        except ClientError as e:
            if code_of(e) != "NoSuchEntity":
                fail(f"deleting IAM Access Key ({id_})", e)

    def read(self, aws: Aws, id_: str, olds: Props) -> Props | None:
        try:
            keys = aws.iam.list_access_keys(UserName=olds["user"])["AccessKeyMetadata"]
        except ClientError as e:
            if code_of(e) == "NoSuchEntity":
                return None
            fail(f"reading IAM Access Key ({id_})", e)
        found = [k for k in keys if k["AccessKeyId"] == id_]
        return {**olds, "status": found[0]["Status"]} if found else None


# --- EKS (state file) -----------------------------------------------------------------------------

ENTRY_TYPES = (
    "STANDARD",
    "EC2",
    "EC2_LINUX",
    "EC2_WINDOWS",
    "FARGATE_LINUX",
    "HYBRID_LINUX",
    "HYPERPOD_LINUX",
)
RESERVED_USERNAME_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")


def cluster_arn(aws: Aws, name: str) -> str:
    return f"arn:{aws.partition}:eks:{aws.region}:{aws.account}:cluster/{name}"


def live_cluster(state: Props, name: str, op: str, need_entries: bool = True) -> Props:
    cluster = state["clusters"].get(name)
    if cluster is None:
        raise eks_error(op, "ResourceNotFoundException", f"No cluster found for name: {name}.")
    if need_entries and cluster.get("authenticationMode", "CONFIG_MAP") == "CONFIG_MAP":
        raise eks_error(
            op,
            "InvalidRequestException",
            "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] "
            "to perform this operation.",
        )
    return dict(cluster)


def default_username(principal: str, type_: str) -> str:
    if type_ != "STANDARD":
        return "system:node:{{EC2PrivateDNSName}}" if type_.startswith("EC2") else ""
    m = re.match(r"arn:([^:]+):iam::(\d+):role/(?:.*/)?([^/]+)$", principal)
    if m:
        return f"arn:{m[1]}:sts::{m[2]}:assumed-role/{m[3]}/{{{{SessionName}}}}"
    return principal


def validate_entry(op: str, ins: Props) -> None:
    type_ = ins.get("type", "STANDARD")
    if type_ not in ENTRY_TYPES:
        raise eks_error(op, "InvalidParameterException", f"The type {type_} is not valid.")
    groups, username = ins.get("kubernetesGroups") or [], ins.get("userName")
    if type_ != "STANDARD" and (groups or username):
        raise eks_error(
            op,
            "InvalidParameterException",
            f"kubernetesGroups and username can't be specified for access entries of type {type_}.",
        )
    if username and username.startswith(RESERVED_USERNAME_PREFIXES):
        raise eks_error(
            op,
            "InvalidParameterException",
            f"username {username} is invalid: it can't start with "
            + ", ".join(RESERVED_USERNAME_PREFIXES),
        )


class AccessEntry(Kind):
    token = "aws:eks/accessEntry:AccessEntry"
    defaults: Props = {"type": "STANDARD"}  # noqa: RUF012
    computed = ("accessEntryArn", "createdAt", "modifiedAt", "tagsAll")

    def _principal_unique_id(self, aws: Aws, principal: str, op: str) -> str:
        # EKS binds an entry to the principal's unique ID: an IAM user of this account must
        # exist (roles are not checked: node and admin roles live outside the stack).
        m = re.match(r"arn:[^:]+:iam::(\d+):user/(?:.*/)?([^/]+)$", principal)
        if not m or m[1] != aws.account:
            return ""
        try:
            user = aws.iam.get_user(UserName=m[2])["User"]
        except ClientError as e:
            if code_of(e) != "NoSuchEntity":
                fail(f"reading IAM User ({m[2]})", e)
            user = None
        if user is None or user["Arn"] != principal:
            raise eks_error(
                op,
                "InvalidParameterException",
                f"The specified principalArn is invalid: invalid principal {principal}",
            )
        return str(user["UserId"])

    def create(self, aws: Aws, ins: Props) -> tuple[str, Props]:
        op = "CreateAccessEntry"
        cluster, principal = ins["clusterName"], ins["principalArn"]
        validate_entry(op, ins)
        unique_id = self._principal_unique_id(aws, principal, op)
        with aws.eks() as state:
            live_cluster(state, cluster, op)
            entries = state["accessEntries"].setdefault(cluster, {})
            if principal in entries:
                raise eks_error(
                    op,
                    "ResourceInUseException",
                    "The specified access entry resource is already in use on this cluster.",
                )
            type_ = ins.get("type", "STANDARD")
            kind = "user" if ":user/" in principal else "role"
            stamp = now()
            out: Props = {
                **ins,
                "type": type_,
                "kubernetesGroups": list(ins.get("kubernetesGroups") or []),
                "userName": ins.get("userName") or default_username(principal, type_),
                "accessEntryArn": (
                    f"arn:{aws.partition}:eks:{aws.region}:{aws.account}:access-entry/"
                    f"{cluster}/{kind}/{aws.account}/{principal.rsplit('/', 1)[-1]}/"
                    f"{uuid.uuid4()}"
                ),
                "tags": ins.get("tags"),
                "tagsAll": dict(ins.get("tags") or {}),
                "createdAt": stamp,
                "modifiedAt": stamp,
                "region": aws.region,
            }
            entries[principal] = {**out, "principalUniqueId": unique_id}
        return f"{cluster}:{principal}", out

    def update(self, aws: Aws, id_: str, olds: Props, old_ins: Props, news: Props) -> Props:
        op = "UpdateAccessEntry"
        cluster, principal = olds["clusterName"], olds["principalArn"]
        validate_entry(op, news)
        with aws.eks() as state:
            live_cluster(state, cluster, op)
            entry = state["accessEntries"].get(cluster, {}).get(principal)
            if entry is None:
                raise eks_error(
                    op,
                    "ResourceNotFoundException",
                    f"The specified principalArn could not be found: {principal}",
                )
            # Both are Optional+Computed in the provider (access_entry.go): a value not sent
            # (none, or an empty list) keeps what EKS has; it never empties them.
            entry.update(
                kubernetesGroups=list(news.get("kubernetesGroups") or entry["kubernetesGroups"]),
                userName=news.get("userName") or entry["userName"],
                tags=news.get("tags"),
                tagsAll=dict(news.get("tags") or {}),
                modifiedAt=now(),
            )
            out = {k: v for k, v in entry.items() if k != "principalUniqueId"}
        return {**news, **out}

    def delete(self, aws: Aws, id_: str, olds: Props, old_ins: Props) -> None:
        cluster, principal = olds["clusterName"], olds["principalArn"]
        with aws.eks() as state:
            if cluster not in state["clusters"]:
                return  # gone with its cluster
            # EKS deletes the entry's policy associations with it.
            state["accessEntries"].get(cluster, {}).pop(principal, None)
            state["associations"].get(cluster, {}).pop(principal, None)

    def read(self, aws: Aws, id_: str, olds: Props) -> Props | None:
        with aws.eks(write=False) as state:
            entry = (
                state["accessEntries"]
                .get(olds.get("clusterName"), {})
                .get(olds.get("principalArn"))
            )
        if entry is None:
            return None
        return {**olds, **{k: v for k, v in entry.items() if k != "principalUniqueId"}}


POLICY_ARN = re.compile(r"arn:[^:]+:eks::aws:cluster-access-policy/[A-Za-z0-9]+$")


class AccessPolicyAssociation(Kind):
    token = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
    computed = ("associatedAt", "modifiedAt")

    def create(self, aws: Aws, ins: Props) -> tuple[str, Props]:
        op = "AssociateAccessPolicy"
        cluster, principal, policy = ins["clusterName"], ins["principalArn"], ins["policyArn"]
        scope = dict(ins.get("accessScope") or {})
        if not POLICY_ARN.match(policy):
            raise eks_error(op, "InvalidParameterException", f"Invalid policy ARN: {policy}")
        namespaces = list(scope.get("namespaces") or [])
        if scope.get("type") not in ("cluster", "namespace"):
            raise eks_error(op, "InvalidParameterException", "accessScope.type is invalid")
        if (scope["type"] == "namespace") != bool(namespaces):
            raise eks_error(
                op,
                "InvalidParameterException",
                "namespaces must be given for, and only for, an accessScope of type namespace",
            )
        with aws.eks() as state:
            live_cluster(state, cluster, op)
            if principal not in state["accessEntries"].get(cluster, {}):
                raise eks_error(
                    op,
                    "ResourceNotFoundException",
                    f"The specified principalArn could not be found: {principal}",
                )
            # An upsert: associating the same policy again replaces its scope.
            by_policy = state["associations"].setdefault(cluster, {}).setdefault(principal, {})
            stamp = now()
            associated = by_policy.get(policy, {}).get("associatedAt", stamp)
            by_policy[policy] = {
                "accessScope": {"type": scope["type"], "namespaces": namespaces},
                "associatedAt": associated,
                "modifiedAt": stamp,
            }
        out = {**ins, "associatedAt": associated, "modifiedAt": stamp, "region": aws.region}
        return f"{cluster}#{principal}#{policy}", out

    def delete(self, aws: Aws, id_: str, olds: Props, old_ins: Props) -> None:
        cluster, principal, policy = olds["clusterName"], olds["principalArn"], olds["policyArn"]
        with aws.eks() as state:
            # Disassociating removes (principal, policy) whatever scope it has now.
            by_policy = state["associations"].get(cluster, {}).get(principal, {})
            by_policy.pop(policy, None)
            if not by_policy:
                state["associations"].get(cluster, {}).pop(principal, None)

    def read(self, aws: Aws, id_: str, olds: Props) -> Props | None:
        with aws.eks(write=False) as state:
            found = (
                state["associations"]
                .get(olds.get("clusterName"), {})
                .get(olds.get("principalArn"), {})
                .get(olds.get("policyArn"))
            )
        if found is None:
            return None
        scope = dict(found["accessScope"])
        if not scope.get("namespaces") and "namespaces" not in (olds.get("accessScope") or {}):
            scope.pop("namespaces", None)
        return {**olds, "accessScope": scope, "associatedAt": found["associatedAt"]}


KINDS: dict[str, Kind] = {
    k.token: k
    for k in (
        User(),
        Group(),
        GroupPolicy(),
        Role(),
        RolePolicy(),
        UserGroupMembership(),
        AccessKey(),
        AccessEntry(),
        AccessPolicyAssociation(),
    )
}


# --- functions ------------------------------------------------------------------------------------


def get_caller_identity(aws: Aws, args: Props) -> Props:
    return {
        "accountId": aws.account,
        "arn": f"arn:{aws.partition}:iam::{aws.account}:user/eks-standin",
        "userId": "AIDASTANDIN0000000000",
        "id": aws.account,
    }


def get_partition(aws: Aws, args: Props) -> Props:
    return {
        "partition": aws.partition,
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
        "id": aws.partition,
    }


def get_cluster(aws: Aws, args: Props) -> Props:
    name = str(args.get("name"))
    with aws.eks(write=False) as state:
        found = state["clusters"].get(name)
    if found is None:
        raise ProviderError(
            f"reading EKS Cluster ({name}): couldn't find resource (ResourceNotFoundException: "
            f"No cluster found for name: {name}.)"
        )
    mode = found.get("authenticationMode", "CONFIG_MAP")
    return {
        "name": name,
        "id": name,
        "clusterId": found.get("clusterId", ""),
        "arn": found.get("arn") or cluster_arn(aws, name),
        "endpoint": found.get("endpoint", ""),
        "certificateAuthorities": [{"data": found.get("caData", "")}],
        "accessConfigs": [
            {"authenticationMode": mode, "bootstrapClusterCreatorAdminPermissions": False}
        ],
        "version": found.get("version", "1.33"),
        "platformVersion": found.get("platformVersion", "eks.1"),
        "status": found.get("status", "ACTIVE"),
        "createdAt": found.get("createdAt", "2026-01-01T00:00:00Z"),
        "roleArn": found.get("roleArn", f"arn:aws:iam::{aws.account}:role/eks-cluster"),
        "region": aws.region,
        "tags": found.get("tags", {}),
        "enabledClusterLogTypes": [],
        "identities": [],
        "kubernetesNetworkConfigs": [],
        "deletionProtection": False,
    }


FUNCTIONS: dict[str, Callable[[Aws, Props], Props]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": get_caller_identity,
    "aws:index/getPartition:getPartition": get_partition,
    "aws:eks/getCluster:getCluster": get_cluster,
}


# --- diff -----------------------------------------------------------------------------------------

K = provider_pb2.PropertyDiff


def diff(
    type_: str, old_inputs: Props, news: Props, ignore_changes: list[str]
) -> provider_pb2.DiffResponse:
    """The engine's DiffResponse, as pulumi-aws would answer it: ``e2e.engine.upstream``'s own
    diff from the providers' facts (nothing of ``eks_access.lifecycle``)."""
    if type_ not in upstream.facts()["terraform"]:
        raise ProviderError(f"{type_}: no facts in e2e/engine/upstream.yaml")
    found = upstream.provider_diff(type_, old_inputs, news, list(ignore_changes))
    detailed: dict[str, provider_pb2.PropertyDiff] = {}
    for key, replace in found.paths:
        before, after = lookup(old_inputs, key), lookup(news, key)
        if before is _MISSING or before is None:
            kind = K.ADD_REPLACE if replace else K.ADD
        elif after is _MISSING or after is None:
            kind = K.DELETE_REPLACE if replace else K.DELETE
        else:
            kind = K.UPDATE_REPLACE if replace else K.UPDATE
        detailed[key] = provider_pb2.PropertyDiff(kind=kind, inputDiff=True)
    some, none = provider_pb2.DiffResponse.DIFF_SOME, provider_pb2.DiffResponse.DIFF_NONE
    return provider_pb2.DiffResponse(
        changes=some if found.changed else none,
        replaces=list(found.replaces),
        diffs=list(found.changed),
        detailedDiff=detailed,
        hasDetailedDiff=True,
        deleteBeforeReplace=found.delete_before_replace,
    )


# --- the gRPC service -----------------------------------------------------------------------------


def _wrap_secrets(outs: Props, raw_inputs: Props) -> Props:
    """Outputs stay plain except where the input was a secret: as pulumi-aws keeps it secret."""
    return {k: secret(v) if is_secret(raw_inputs.get(k)) else v for k, v in outs.items()}


class StandIn(provider_pb2_grpc.ResourceProviderServicer):
    """The ResourceProvider service; every call is also recorded in ``calls`` (for tests)."""

    def __init__(self) -> None:
        self.aws = Aws(os.environ.get("AWS_REGION", DEFAULT_REGION), self._env_account())
        self.calls: list[str] = []
        self.log = os.environ.get("EKS_STANDIN_LOG")

    @staticmethod
    def _env_account() -> str:
        return os.environ.get("EKS_STANDIN_ACCOUNT", DEFAULT_ACCOUNT)

    def _record(self, rpc: str, detail: str = "") -> None:
        self.calls.append(f"{rpc} {detail}".strip())
        if self.log:  # one line per call, for finding out what the engine asks
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(f"{os.getpid()} {rpc} {detail}\n")

    @staticmethod
    def _kind(type_: str, urn: str, context: grpc.ServicerContext) -> Kind:
        token = type_ or urn.split("::")[2].rsplit("$", 1)[-1]
        kind = KINDS.get(token)
        if kind is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"stand-in: unknown resource type {token}")
        return kind  # type: ignore[return-value]  # abort raises

    @staticmethod
    def _guard(context: grpc.ServicerContext, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except ProviderError as e:
            context.abort(grpc.StatusCode.UNKNOWN, str(e))

    # plugin identity and configuration

    def GetPluginInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("GetPluginInfo")
        return plugin_pb2.PluginInfo(version=VERSION)

    def Handshake(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("Handshake")
        return provider_pb2.ProviderHandshakeResponse(
            accept_secrets=True, accept_resources=True, accept_outputs=False
        )

    def Attach(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("Attach")
        return empty_pb2.Empty()

    def GetSchema(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("GetSchema")
        return provider_pb2.GetSchemaResponse(schema="{}")

    def CheckConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("CheckConfig")
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("DiffConfig")
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)

    def Configure(self, request: Any, context: grpc.ServicerContext) -> Any:
        args = unwrap(request.args)
        variables = dict(request.variables)
        region = args.get("region") or variables.get("aws:config:region") or self.aws.region
        allowed = args.get("allowedAccountIds")
        if allowed is None and "aws:config:allowedAccountIds" in variables:
            allowed = json.loads(variables["aws:config:allowedAccountIds"])
        account = (allowed or [None])[0] or self._env_account()
        self.aws = Aws(str(region), str(account))
        self._record("Configure", f"region={region} account={account}")
        return provider_pb2.ConfigureResponse(
            acceptSecrets=True, acceptResources=True, supportsPreview=True, acceptOutputs=False
        )

    def Cancel(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("Cancel")
        return empty_pb2.Empty()

    # resources

    def Check(self, request: Any, context: grpc.ServicerContext) -> Any:
        kind = self._kind(request.type, request.urn, context)
        self._record("Check", request.urn)
        # Inputs keep their secret wrappers: the engine trusts a secret-accepting provider.
        news, failures = kind.check(raw(request.news), request.urn, bytes(request.randomSeed))
        facts = upstream.facts()["terraform"].get(kind.token, {})
        if facts.get("region") and not news.get("region"):
            news["region"] = self.aws.region  # pulumi-aws v7's PreCheckCallback (region.go)
        return provider_pb2.CheckResponse(
            inputs=to_struct(news),
            failures=[provider_pb2.CheckFailure(property=p, reason=r) for p, r in failures],
        )

    def Diff(self, request: Any, context: grpc.ServicerContext) -> Any:
        kind = self._kind(request.type, request.urn, context)
        self._record("Diff", f"{request.urn} ignoreChanges={list(request.ignoreChanges)}")
        old_inputs = unwrap(request.old_inputs) if request.HasField("old_inputs") else {}
        if not old_inputs:  # state written by an engine that did not keep inputs
            old_inputs = {k: v for k, v in unwrap(request.olds).items() if k not in kind.computed}
        token = request.type or kind.token
        return self._guard(
            context,
            lambda: diff(token, old_inputs, unwrap(request.news), list(request.ignoreChanges)),
        )

    def Create(self, request: Any, context: grpc.ServicerContext) -> Any:
        kind = self._kind(request.type, request.urn, context)
        self._record("Create", f"{request.urn} preview={request.preview}")
        raw_ins = raw(request.properties)
        ins = {k: v for k, v in plain(raw_ins).items() if k != DEFAULTS}
        if request.preview:
            outs = {**ins, **{k: UNKNOWN for k in kind.computed}}
            return provider_pb2.CreateResponse(id="", properties=to_struct(outs))
        if has_unknown(ins):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "unknown inputs outside a preview")
        id_, outs = self._guard(context, lambda: kind.create(self.aws, ins))
        props = to_struct(_wrap_secrets(outs, raw_ins))
        return provider_pb2.CreateResponse(id=id_, properties=props)

    def Update(self, request: Any, context: grpc.ServicerContext) -> Any:
        kind = self._kind(request.type, request.urn, context)
        self._record("Update", f"{request.urn} preview={request.preview}")
        olds, raw_news = unwrap(request.olds), raw(request.news)
        news = {k: v for k, v in plain(raw_news).items() if k != DEFAULTS}
        old_ins = unwrap(request.old_inputs)
        if request.preview:
            outs = kind.preview_update(olds, old_ins, news)
        else:
            outs = self._guard(
                context, lambda: kind.update(self.aws, request.id, olds, old_ins, news)
            )
        return provider_pb2.UpdateResponse(properties=to_struct(_wrap_secrets(outs, raw_news)))

    def Delete(self, request: Any, context: grpc.ServicerContext) -> Any:
        kind = self._kind(request.type, request.urn, context)
        self._record("Delete", request.urn)
        olds, old_ins = unwrap(request.properties), unwrap(request.old_inputs)
        self._guard(context, lambda: kind.delete(self.aws, request.id, olds, old_ins))
        return empty_pb2.Empty()

    def Read(self, request: Any, context: grpc.ServicerContext) -> Any:
        kind = self._kind(request.type, request.urn, context)
        self._record("Read", request.urn)
        olds = unwrap(request.properties)
        live = self._guard(context, lambda: kind.read(self.aws, request.id, olds))
        if live is None:  # gone: an empty ID tells the engine to drop it
            return provider_pb2.ReadResponse(id="")
        return provider_pb2.ReadResponse(
            id=request.id, properties=to_struct(live), inputs=request.inputs
        )

    def Invoke(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("Invoke", request.tok)
        fn = FUNCTIONS.get(request.tok)
        if fn is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"stand-in: no function {request.tok}")
        result = self._guard(context, lambda: fn(self.aws, unwrap(request.args)))  # type: ignore[misc]
        response = provider_pb2.InvokeResponse()
        getattr(response, "return").CopyFrom(to_struct(result))  # a Python keyword
        return response


def serve(servicer: StandIn | None = None, port: int = 0) -> tuple[grpc.Server, int]:
    """Start serving on loopback; returns the server and its port."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8),
        options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
    )
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer or StandIn(), server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, bound


def main() -> None:
    # sys.argv[1], when given, is the engine's address; the stand-in has nothing to tell it.
    server, port = serve()
    print(port, flush=True)  # the engine reads the port from the first line
    server.wait_for_termination()


if __name__ == "__main__":
    main()
