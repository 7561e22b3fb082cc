"""The AWS stand-in provider (``e2e/engine/standin.py``) over its gRPC protocol.

The stand-in replaces pulumi-aws when the real Pulumi engine runs offline, so what it does must
be what AWS and pulumi-aws do: these tests call it the way the engine does (a gRPC stub, Pulumi's
wire encoding), with IAM in a moto server on loopback and EKS in a state file. No Pulumi CLI,
no Go.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import grpc  # type: ignore[import-untyped]
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from moto.server import ThreadedMotoServer
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from e2e.engine import add_cluster, read_state, write_launcher
from e2e.engine import standin as si

ACCOUNT = "210987654321"  # not moto's default: ARNs must carry the configured account
REGION = "eu-west-1"
ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy"
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
K = provider_pb2.PropertyDiff


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[si.StandIn, provider_pb2_grpc.ResourceProviderStub]]:
    servicer = si.StandIn()
    server, port = si.serve(servicer)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield servicer, provider_pb2_grpc.ResourceProviderStub(channel)
    channel.close()
    server.stop(None)


def struct(props: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(props)
    return s


def data(s: struct_pb2.Struct) -> dict[str, Any]:
    return dict(json_format.MessageToDict(s))


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::eks-access::{type_}::{name}"


class Provider:
    """The engine's side of the conversation, one call per step."""

    def __init__(self, stub: provider_pb2_grpc.ResourceProviderStub, servicer: si.StandIn):
        self.stub = stub
        self.servicer = servicer

    def check(self, type_: str, name: str, news: dict[str, Any]) -> dict[str, Any]:
        resp = self.stub.Check(
            provider_pb2.CheckRequest(
                urn=urn(type_, name), type=type_, name=name, news=struct(news), randomSeed=b"s"
            )
        )
        assert not resp.failures
        return data(resp.inputs)

    def create(
        self, type_: str, name: str, inputs: dict[str, Any], preview: bool = False
    ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        ins = self.check(type_, name, inputs)
        resp = self.stub.Create(
            provider_pb2.CreateRequest(
                urn=urn(type_, name), type=type_, name=name, properties=struct(ins), preview=preview
            )
        )
        return resp.id, data(resp.properties), ins

    def diff(
        self,
        type_: str,
        id_: str,
        old_inputs: dict[str, Any],
        olds: dict[str, Any],
        news: dict[str, Any],
        ignore: tuple[str, ...] = (),
    ) -> provider_pb2.DiffResponse:
        response: provider_pb2.DiffResponse = self.stub.Diff(
            provider_pb2.DiffRequest(
                id=id_,
                urn=urn(type_, "r"),
                type=type_,
                old_inputs=struct(old_inputs),
                olds=struct(olds),
                news=struct(news),
                ignoreChanges=list(ignore),
            )
        )
        return response

    def update(
        self,
        type_: str,
        id_: str,
        olds: dict[str, Any],
        old_inputs: dict[str, Any],
        news: dict[str, Any],
        preview: bool = False,
    ) -> dict[str, Any]:
        resp = self.stub.Update(
            provider_pb2.UpdateRequest(
                id=id_,
                urn=urn(type_, "r"),
                type=type_,
                olds=struct(olds),
                old_inputs=struct(old_inputs),
                news=struct(news),
                preview=preview,
            )
        )
        return data(resp.properties)

    def delete(self, type_: str, id_: str, olds: dict[str, Any]) -> None:
        self.stub.Delete(
            provider_pb2.DeleteRequest(
                id=id_, urn=urn(type_, "r"), type=type_, properties=struct(olds)
            )
        )

    def invoke(self, tok: str, args: dict[str, Any]) -> dict[str, Any]:
        resp = self.stub.Invoke(provider_pb2.InvokeRequest(tok=tok, args=struct(args)))
        return data(getattr(resp, "return"))


@pytest.fixture
def state(tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "eks.json"
    monkeypatch.setenv("EKS_STANDIN_MOTO", moto_url)
    monkeypatch.setenv("EKS_STANDIN_STATE", str(path))
    return path


@pytest.fixture
def aws(state: Path, served: tuple[si.StandIn, provider_pb2_grpc.ResourceProviderStub]) -> Provider:
    servicer, stub = served
    stub.Configure(
        provider_pb2.ConfigureRequest(
            args=struct({"region": REGION, "allowedAccountIds": [ACCOUNT], "version": "7.51.1"}),
            acceptSecrets=True,
            acceptResources=True,
        )
    )
    return Provider(stub, servicer)


@pytest.fixture
def iam(moto_url: str) -> Any:
    client = boto3.client(
        "iam",
        endpoint_url=moto_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def add_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = ACCOUNT

    client.meta.events.register("before-sign.iam.*", add_account)
    return client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def user_arn(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT}:user{path}{name}"


def error_of(call: Any) -> str:
    with pytest.raises(grpc.RpcError) as e:
        call()
    return str(e.value.details())


USER, GROUP, POLICY = "aws:iam/user:User", "aws:iam/group:Group", "aws:iam/groupPolicy:GroupPolicy"
MEMBERSHIP, KEY = "aws:iam/userGroupMembership:UserGroupMembership", "aws:iam/accessKey:AccessKey"
ENTRY, ASSOC = (
    "aws:eks/accessEntry:AccessEntry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
)


# --- protocol -----------------------------------------------------------------------------------


def test_the_launcher_serves_and_prints_its_port_first(tmp_path: Path) -> None:
    exe = write_launcher(tmp_path / "bin")
    assert exe.name == "pulumi-resource-aws" and os.access(exe, os.X_OK)
    proc = subprocess.Popen(
        [str(exe), "127.0.0.1:1"], stdout=subprocess.PIPE, cwd=tmp_path, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            info = stub.GetPluginInfo(empty_pb2.Empty(), timeout=10)
            hand = stub.Handshake(provider_pb2.ProviderHandshakeRequest(), timeout=10)
        assert info.version == "7.51.1"
        assert hand.accept_secrets and hand.accept_resources
    finally:
        proc.kill()
        proc.wait()


def test_configure_takes_region_and_account_and_invokes_answer(aws: Provider) -> None:
    me = aws.invoke("aws:index/getCallerIdentity:getCallerIdentity", {})
    assert me["accountId"] == ACCOUNT and me["arn"].startswith(f"arn:aws:iam::{ACCOUNT}:")
    assert aws.invoke("aws:index/getPartition:getPartition", {})["partition"] == "aws"


def test_get_cluster_reads_the_state_file_and_refuses_an_unknown_cluster(
    aws: Provider, state: Path
) -> None:
    add_cluster(state, "demo", authentication_mode="API", endpoint="https://k:443", ca_data="Q0E=")
    found = aws.invoke("aws:eks/getCluster:getCluster", {"name": "demo"})
    assert found["endpoint"] == "https://k:443"
    assert found["certificateAuthorities"] == [{"data": "Q0E="}]
    assert found["accessConfigs"][0]["authenticationMode"] == "API"
    assert found["arn"] == f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/demo"
    message = error_of(lambda: aws.invoke("aws:eks/getCluster:getCluster", {"name": "nope"}))
    assert "ResourceNotFoundException" in message


def test_check_applies_defaults_and_keeps_secrets(aws: Provider) -> None:
    secret = {si.SIG: si.SECRET_SIG, "value": "keybase:alice"}
    ins = aws.check(KEY, "k", {"user": "alice", "pgpKey": secret})
    assert ins == {"user": "alice", "pgpKey": secret, "status": "Active", si.DEFAULTS: []}
    entry = aws.check(ENTRY, "e", {"clusterName": "c", "principalArn": "a"})
    # pulumi-aws v7 fills an EKS resource's region from the provider's (region.go)
    assert entry["type"] == "STANDARD" and entry["region"] == REGION
    assert "region" not in aws.check(KEY, "k", {"user": "alice"})  # IAM is global
    user = aws.check(USER, "bob", {"name": "bob"})
    assert user["path"] == "/" and user["forceDestroy"] is False and user[si.DEFAULTS] == []
    named = aws.check(USER, "carol", {})  # auto-named: the bridge lists it in __defaults
    assert named["name"].startswith("carol-") and named[si.DEFAULTS] == ["name"]


def test_the_stand_in_diff_follows_the_providers_facts_not_the_model() -> None:
    """A replaced group policy deletes first when the program named it (the bridge's rule),
    create-first when the bridge named it; the facts file, not lifecycle.yaml, decides."""
    group = "aws:iam/groupPolicy:GroupPolicy"
    old = {"group": "a", "name": "a-describe", "policy": "{}", si.DEFAULTS: []}
    resp = si.diff(group, old, {**old, "group": "b", "name": "b-describe"}, [])
    assert set(resp.replaces) == {"group", "name"} and resp.deleteBeforeReplace
    resp = si.diff(group, old, {**old, "group": "b", si.DEFAULTS: ["name"]}, [])
    assert list(resp.replaces) == ["group"] and not resp.deleteBeforeReplace
    entry = {"clusterName": "c", "principalArn": "a", "type": "STANDARD", "region": "us-east-1"}
    resp = si.diff("aws:eks/accessEntry:AccessEntry", entry, {**entry, "region": "eu-west-1"}, [])
    assert list(resp.replaces) == ["region"]


def test_a_preview_create_has_no_side_effects_and_unknown_outputs(aws: Provider, iam: Any) -> None:
    name = unique("ghost")
    id_, outs, _ = aws.create(USER, name, {"name": name}, preview=True)
    assert id_ == "" and outs["arn"] == si.UNKNOWN and outs["uniqueId"] == si.UNKNOWN
    assert name not in {u["UserName"] for u in iam.list_users()["Users"]}


# --- IAM ----------------------------------------------------------------------------------------


def test_user_create_rename_in_place_and_delete(aws: Provider, iam: Any) -> None:
    name, new = unique("alice"), unique("alice2")
    id_, outs, ins = aws.create(USER, name, {"name": name, "tags": {"team": "a"}})
    assert outs["arn"] == user_arn(name) and outs["uniqueId"]
    assert outs["tagsAll"] == {"team": "a"} and outs["forceDestroy"] is False

    news = aws.check(USER, name, {"name": new, "tags": {"team": "a"}})
    d = aws.diff(USER, id_, ins, outs, news)
    assert d.changes == d.DIFF_SOME and list(d.replaces) == []
    assert d.detailedDiff["name"].kind == K.UPDATE and d.hasDetailedDiff

    renamed = aws.update(USER, id_, outs, ins, news)
    assert renamed["arn"] == user_arn(new) and renamed["uniqueId"] == outs["uniqueId"]
    assert iam.get_user(UserName=new)["User"]["UserId"] == outs["uniqueId"]
    aws.delete(USER, id_, renamed)
    assert new not in {u["UserName"] for u in iam.list_users()["Users"]}


def test_diff_compares_old_inputs_not_outputs_and_honours_ignore_changes(aws: Provider) -> None:
    ins = {"user": "u", "pgpKey": "keybase:a", "status": "Active"}
    outs = {**ins, "secret": "s", "createDate": "x"}  # outputs the inputs do not have
    assert aws.diff(KEY, "AKIA1", ins, outs, ins).changes == provider_pb2.DiffResponse.DIFF_NONE
    news = {**ins, "pgpKey": "keybase:b"}
    replace = aws.diff(KEY, "AKIA1", ins, outs, news)
    assert list(replace.replaces) == ["pgpKey"]
    assert replace.detailedDiff["pgpKey"].kind == K.UPDATE_REPLACE
    ignored = aws.diff(KEY, "AKIA1", ins, outs, news, ignore=("pgpKey",))
    assert ignored.changes == provider_pb2.DiffResponse.DIFF_NONE


def test_group_rename_in_place_keeps_members_and_policy(aws: Provider, iam: Any) -> None:
    user, group, renamed = unique("u"), unique("team-a"), unique("team-b")
    _, user_outs, _ = aws.create(USER, user, {"name": user})
    gid, gouts, gins = aws.create(GROUP, group, {"name": group})
    assert gouts["arn"] == f"arn:aws:iam::{ACCOUNT}:group/{group}"
    mid, mouts, mins = aws.create(MEMBERSHIP, "m", {"user": user, "groups": [group]})
    doc = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"eks:DescribeCluster","Resource":"*"}]}'
    pid, pouts, pins = aws.create(POLICY, "p", {"group": group, "name": "describe", "policy": doc})
    assert pid == f"{group}:describe"

    # The group: renamed in place (an update, no replacement).
    gnews = aws.check(GROUP, group, {"name": renamed})
    d = aws.diff(GROUP, gid, gins, gouts, gnews)
    assert d.changes == d.DIFF_SOME and list(d.replaces) == []
    gouts2 = aws.update(GROUP, gid, gouts, gins, gnews)
    assert gouts2["uniqueId"] == gouts["uniqueId"] and gouts2["arn"].endswith(f"/{renamed}")
    # The policy: its group changed, so it is replaced (new one first, then the old one's
    # delete finds no group under the old name and is no error).
    pnews = {**pins, "group": renamed}
    assert list(aws.diff(POLICY, pid, pins, pouts, pnews).replaces) == ["group"]
    aws.create(POLICY, "p", pnews)
    aws.delete(POLICY, pid, pouts)
    assert iam.list_group_policies(GroupName=renamed)["PolicyNames"] == ["describe"]
    # The membership: groups updated in place; removing the old name is no error.
    mnews = {"user": user, "groups": [renamed]}
    md = aws.diff(MEMBERSHIP, mid, mins, mouts, mnews)
    assert list(md.replaces) == [] and md.detailedDiff["groups"].kind == K.UPDATE
    aws.update(MEMBERSHIP, mid, mouts, mins, mnews)
    members = iam.get_group(GroupName=renamed)["Users"]
    assert [m["UserId"] for m in members] == [user_outs["uniqueId"]]


def test_membership_adds_and_removes_only_its_difference(aws: Provider, iam: Any) -> None:
    user, a, b, other = unique("u"), unique("a"), unique("b"), unique("other")
    aws.create(USER, user, {"name": user})
    for g in (a, b, other):
        aws.create(GROUP, g, {"name": g})
    iam.add_user_to_group(UserName=user, GroupName=other)  # another stack's membership
    mid, mouts, mins = aws.create(MEMBERSHIP, "m", {"user": user, "groups": [a]})
    mnews = {"user": user, "groups": [b]}
    # Order is not a change (a set); a new user is a replacement.
    reordered = aws.diff(
        MEMBERSHIP, mid, {"user": user, "groups": [a, b]}, {}, {"user": user, "groups": [b, a]}
    )
    assert reordered.changes == reordered.DIFF_NONE
    assert list(aws.diff(MEMBERSHIP, mid, mins, mouts, {**mins, "user": "x"}).replaces) == ["user"]
    aws.update(MEMBERSHIP, mid, mouts, mins, mnews)
    groups = {g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]}
    assert groups == {b, other}
    aws.delete(MEMBERSHIP, mid, mnews)
    groups = {g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]}
    assert groups == {other}


def test_group_policy_update_puts_the_new_document(aws: Provider, iam: Any) -> None:
    group = unique("g")
    aws.create(GROUP, group, {"name": group})
    doc = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"eks:DescribeCluster","Resource":"*"}]}'
    pid, pouts, pins = aws.create(POLICY, "p", {"group": group, "name": "d", "policy": doc})
    new_doc = doc.replace('"*"', '"arn:aws:eks:eu-west-1:210987654321:cluster/demo"')
    d = aws.diff(POLICY, pid, pins, pouts, {**pins, "policy": new_doc})
    assert list(d.replaces) == [] and d.detailedDiff["policy"].kind == K.UPDATE
    aws.update(POLICY, pid, pouts, pins, {**pins, "policy": new_doc})
    live = iam.get_group_policy(GroupName=group, PolicyName="d")["PolicyDocument"]
    assert "cluster/demo" in str(live)


def test_a_team_role_and_its_policy_follow_the_role_facts(aws: Provider, iam: Any) -> None:
    """The role's trust is updated in place and its name replaces; its inline policy is put
    again in place, replaced with a new role, and deleted before the role (IAM refuses to
    delete a role that still has one)."""
    role, policy = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
    name = unique("team-role")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action":
                        "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]})  # fmt: skip
    rid, routs, rins = aws.create(role, name, {"name": name, "assumeRolePolicy": trust})
    assert routs["arn"] == f"arn:aws:iam::{ACCOUNT}:role/{name}" and routs["uniqueId"]
    d = aws.diff(role, rid, rins, routs, {**rins, "name": name + "-2"})
    assert list(d.replaces) == ["name"]
    doc = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"eks:DescribeCluster","Resource":"*"}]}'
    pid, pouts, pins = aws.create(policy, "p", {"role": name, "name": "d", "policy": doc})
    assert pid == f"{name}:d"
    new_doc = doc.replace('"*"', '"arn:aws:eks:eu-west-1:210987654321:cluster/demo"')
    d = aws.diff(policy, pid, pins, pouts, {**pins, "policy": new_doc})
    assert list(d.replaces) == [] and d.detailedDiff["policy"].kind == K.UPDATE
    aws.update(policy, pid, pouts, pins, {**pins, "policy": new_doc})
    assert "cluster/demo" in str(
        iam.get_role_policy(RoleName=name, PolicyName="d")["PolicyDocument"]
    )
    d = aws.diff(policy, pid, pins, pouts, {**pins, "role": name + "-2"})
    assert list(d.replaces) == ["role"]
    assert "DeleteConflict" in error_of(lambda: aws.delete(role, rid, routs))
    aws.delete(policy, pid, pouts)
    aws.delete(role, rid, routs)
    assert name not in {r["RoleName"] for r in iam.list_roles()["Roles"]}


def test_access_keys_two_at_most_and_pgp_hides_the_secret(aws: Provider, iam: Any) -> None:
    user = unique("k")
    aws.create(USER, user, {"name": user})
    id1, plain_key, _ = aws.create(KEY, "k1", {"user": user})
    assert plain_key["secret"] and "encryptedSecret" not in plain_key
    id2, pgp_key, _ = aws.create(KEY, "k2", {"user": user, "pgpKey": "keybase:alice"})
    assert pgp_key["encryptedSecret"] and "secret" not in pgp_key
    assert {k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]} == {
        id1,
        id2,
    }
    message = error_of(lambda: aws.create(KEY, "k3", {"user": user}))
    assert "LimitExceeded" in message
    # Status is updated in place.
    ins = {"user": user, "status": "Active"}
    d = aws.diff(KEY, id1, ins, plain_key, {**ins, "status": "Inactive"})
    assert list(d.replaces) == [] and d.changes == d.DIFF_SOME
    aws.update(KEY, id1, plain_key, ins, {**ins, "status": "Inactive"})
    statuses = {
        k["AccessKeyId"]: k["Status"]
        for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    }
    assert statuses[id1] == "Inactive"
    aws.delete(KEY, id1, plain_key)
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]] == [
        id2
    ]


def test_a_user_with_keys_cannot_be_deleted(aws: Provider) -> None:
    user = unique("held")
    uid, outs, _ = aws.create(USER, user, {"name": user})
    aws.create(KEY, "k", {"user": user})
    assert "DeleteConflict" in error_of(lambda: aws.delete(USER, uid, outs))


# --- EKS ----------------------------------------------------------------------------------------


def entry_inputs(cluster: str, principal: str, **more: Any) -> dict[str, Any]:
    return {"clusterName": cluster, "principalArn": principal, **more}


def test_one_entry_per_principal(aws: Provider, state: Path) -> None:
    add_cluster(state, "c1")
    principal = "arn:aws:iam::210987654321:role/admins"
    id_, outs, _ = aws.create(ENTRY, "e", entry_inputs("c1", principal, kubernetesGroups=["ops"]))
    assert id_ == f"c1:{principal}" and outs["accessEntryArn"].startswith("arn:aws:eks:")
    assert outs["type"] == "STANDARD"
    message = error_of(lambda: aws.create(ENTRY, "e2", entry_inputs("c1", principal)))
    assert "ResourceInUseException" in message


def test_a_config_map_cluster_refuses_entries_and_an_unknown_cluster_too(
    aws: Provider, state: Path
) -> None:
    add_cluster(state, "old", authentication_mode="CONFIG_MAP")
    principal = "arn:aws:iam::210987654321:role/admins"
    assert "InvalidRequestException" in error_of(
        lambda: aws.create(ENTRY, "e", entry_inputs("old", principal))
    )
    assert "ResourceNotFoundException" in error_of(
        lambda: aws.create(ENTRY, "e", entry_inputs("nope", principal))
    )
    assert read_state(state)["accessEntries"].get("old", {}) == {}


def test_entry_rules_for_usernames_and_node_types(aws: Provider, state: Path) -> None:
    add_cluster(state, "c")
    role = "arn:aws:iam::210987654321:role/r"
    for bad in ("system:admin", "eks:x", "aws:x", "amazon:x", "iam:x"):
        message = error_of(
            lambda bad=bad: aws.create(ENTRY, "e", entry_inputs("c", role, userName=bad))
        )
        assert "InvalidParameterException" in message
    message = error_of(
        lambda: aws.create(
            ENTRY, "e", entry_inputs("c", role, type="EC2_LINUX", kubernetesGroups=["g"])
        )
    )
    assert "InvalidParameterException" in message
    _, outs, _ = aws.create(ENTRY, "e", entry_inputs("c", role, type="EC2_LINUX"))
    assert outs["userName"] == "system:node:{{EC2PrivateDNSName}}"


def test_an_entry_needs_its_iam_user_to_exist(aws: Provider, state: Path) -> None:
    add_cluster(state, "c")
    message = error_of(
        lambda: aws.create(ENTRY, "e", entry_inputs("c", user_arn(unique("nobody"))))
    )
    assert "InvalidParameterException" in message


def test_entry_update_changes_groups_in_place_and_diff_agrees(aws: Provider, state: Path) -> None:
    add_cluster(state, "c")
    principal = "arn:aws:iam::210987654321:role/dev"
    id_, outs, ins = aws.create(ENTRY, "e", entry_inputs("c", principal, kubernetesGroups=["a"]))
    news = {**ins, "kubernetesGroups": ["a", "b"]}
    d = aws.diff(ENTRY, id_, ins, outs, news)
    assert d.changes == d.DIFF_SOME and list(d.replaces) == []
    assert d.detailedDiff["kubernetesGroups"].kind == K.UPDATE
    assert list(aws.diff(ENTRY, id_, ins, outs, {**ins, "type": "EC2_LINUX"}).replaces) == ["type"]
    aws.update(ENTRY, id_, outs, ins, news)
    assert read_state(state)["accessEntries"]["c"][principal]["kubernetesGroups"] == ["a", "b"]
    # Optional+Computed, as the provider has them: groups not sent are kept, never emptied
    # (why the program re-makes an entry that loses its last group)
    aws.update(ENTRY, id_, outs, news, {**news, "kubernetesGroups": []})
    assert read_state(state)["accessEntries"]["c"][principal]["kubernetesGroups"] == ["a", "b"]


def test_association_is_an_upsert_and_disassociating_removes_it(aws: Provider, state: Path) -> None:
    add_cluster(state, "c")
    principal = "arn:aws:iam::210987654321:role/dev"
    aws.create(ENTRY, "e", entry_inputs("c", principal))
    cluster_scope = {"type": "cluster"}
    ns_scope = {"type": "namespace", "namespaces": ["a"]}
    old_id, old_outs, old_ins = aws.create(
        ASSOC,
        "a",
        {
            "clusterName": "c",
            "principalArn": principal,
            "policyArn": VIEW,
            "accessScope": cluster_scope,
        },
    )
    assert old_id == f"c#{principal}#{VIEW}"
    new_ins = {**old_ins, "accessScope": ns_scope}
    # A changed scope replaces (the type has no update)...
    d = aws.diff(ASSOC, old_id, old_ins, old_outs, new_ins)
    assert list(d.replaces) == ["accessScope"]
    assert {k: v.kind for k, v in d.detailedDiff.items()} == {
        "accessScope.namespaces": K.ADD_REPLACE,
        "accessScope.type": K.UPDATE_REPLACE,
    }
    # ...and create-then-delete of the same association leaves none.
    aws.create(ASSOC, "a", new_ins)
    assert read_state(state)["associations"]["c"][principal][VIEW]["accessScope"] == {
        "type": "namespace",
        "namespaces": ["a"],
    }
    aws.delete(ASSOC, old_id, old_outs)
    assert read_state(state)["associations"].get("c", {}).get(principal, {}) == {}
    # Namespaces compare as a set.
    same = aws.diff(
        ASSOC,
        old_id,
        {**old_ins, "accessScope": {"type": "namespace", "namespaces": ["a", "b"]}},
        {},
        {**old_ins, "accessScope": {"type": "namespace", "namespaces": ["b", "a"]}},
    )
    assert same.changes == same.DIFF_NONE


def test_an_association_needs_its_entry_and_goes_with_it(aws: Provider, state: Path) -> None:
    add_cluster(state, "c")
    principal = "arn:aws:iam::210987654321:role/ops"
    assoc = {
        "clusterName": "c",
        "principalArn": principal,
        "policyArn": ADMIN,
        "accessScope": {"type": "cluster"},
    }
    assert "ResourceNotFoundException" in error_of(lambda: aws.create(ASSOC, "a", assoc))
    eid, eouts, _ = aws.create(ENTRY, "e", entry_inputs("c", principal))
    aws.create(ASSOC, "a", assoc)
    aws.create(ASSOC, "v", {**assoc, "policyArn": VIEW})
    assert set(read_state(state)["associations"]["c"][principal]) == {ADMIN, VIEW}
    aws.delete(ENTRY, eid, eouts)
    after = read_state(state)
    assert principal not in after["accessEntries"]["c"]
    assert principal not in after["associations"].get("c", {})
    # Deleting the association afterwards is no error (already gone with the entry).
    aws.delete(ASSOC, f"c#{principal}#{ADMIN}", assoc)
