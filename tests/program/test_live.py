"""The live aws-auth preflight: the stack's record of what it wrote, the lines EKS, eksctl and
people write, and the stop before a write that would remove one of them (``eks_access.live``,
``components/preflight.py``), in the core, in the real program under mocks, and in `plan --live`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import preflight
from components.preflight import PreflightStop, check_live_aws_auth
from eks_access import awsauth, cluster_view, live, stackfile
from eks_access import config as core
from eks_access.kinds.nodes import LINUX
from eks_access.principals import principals
from offline.run import answering_aws_auth, run
from tests.conftest import DEV, NODE_ROLE, ROOT, minimal_raw, write_stack

ACCOUNT = "111122223333"
# What EKS writes into mapRoles for a new managed node group (EKS user guide, "Apply the
# aws-auth ConfigMap"), for a Fargate profile's pod execution role, and for Windows nodes.
EKS_NODE_GROUP = f"""- groups:
  - system:bootstrappers
  - system:nodes
  rolearn: arn:aws:iam::{ACCOUNT}:role/eks-ng-2-NodeInstanceRole
  username: system:node:{{{{EC2PrivateDNSName}}}}
"""
EKS_FARGATE = f"""- groups:
  - system:bootstrappers
  - system:nodes
  - system:node-proxier
  rolearn: arn:aws:iam::{ACCOUNT}:role/eks-fargate-pods
  username: system:node:{{{{SessionName}}}}
"""
WINDOWS_NODES = f"""- groups:
  - system:bootstrappers
  - system:nodes
  - eks:kube-proxy-windows
  rolearn: arn:aws:iam::{ACCOUNT}:role/windows-nodes
  username: system:node:{{{{EC2PrivateDNSName}}}}
"""
# What `eksctl create iamidentitymapping --arn ... --username admin --group system:masters` adds.
EKSCTL_ROLE = f"""- groups:
  - system:masters
  rolearn: arn:aws:iam::{ACCOUNT}:role/ops-admin
  username: admin
"""
HAND_USER = f"""- userarn: arn:aws:iam::{ACCOUNT}:user/dave
  username: dave
  groups: [system:masters]
"""


@pytest.fixture(scope="module")
def desired() -> dict[str, str]:
    return awsauth.render(principals(stackfile.read(DEV).load()))


def live_with(desired: dict[str, str], roles: str = "", users: str = "", **kw: Any) -> Any:
    annotations = kw.get("annotations", {live.RECORD_ANNOTATION: live.record(desired)})
    return live.LiveAwsAuth(
        {"mapRoles": desired["mapRoles"] + roles, "mapUsers": desired["mapUsers"] + users},
        annotations,
        "test",
    )


# --- the record -----------------------------------------------------------------------------------


def test_the_record_names_every_arn_the_patch_maps_and_nothing_else(desired: dict[str, str]):
    recorded, problem = live.read_record({live.RECORD_ANNOTATION: live.record(desired)})
    mapped = {m.key for m in awsauth.parse(desired).roles.values()}
    mapped |= {m.key for m in awsauth.parse(desired).users.values()}
    assert problem is None
    assert recorded == {live._digest(k) for k in mapped}
    # the SSO role as aws-auth writes it (no path), not as the config lists it
    assert f"arn:aws:iam::{ACCOUNT}:role/awsreservedsso_paymentsdev_0123456789abcdef" in mapped


def test_the_record_keeps_mapped_accounts():
    data = {"mapRoles": EKS_NODE_GROUP, "mapUsers": "[]\n", "mapAccounts": "- '444455556666'\n"}
    recorded, _ = live.read_record({live.RECORD_ANNOTATION: live.record(data)})
    keys = {f"arn:aws:iam::{ACCOUNT}:role/eks-ng-2-nodeinstancerole", "444455556666"}
    assert recorded == {live._digest(k) for k in keys}


@pytest.mark.parametrize("text", ["not json", '{"arns": 3}', "[]", '{"v": 1}'])
def test_an_unreadable_record_is_no_record_and_says_so(text: str):
    recorded, problem = live.read_record({live.RECORD_ANNOTATION: text})
    assert recorded is None
    assert problem and live.RECORD_ANNOTATION in problem


def test_a_record_of_8000_long_names_stays_under_half_the_annotation_limit():
    # more lines than fit in aws-auth's 1 MiB, each with IAM's longest name (64 characters)
    users = "".join(
        f"- userarn: arn:aws:iam::{ACCOUNT}:user/{'u' * 59}{i:05d}\n  username: u{i}\n"
        for i in range(8000)
    )
    text = live.record({"mapRoles": EKS_NODE_GROUP, "mapUsers": users})
    assert len(text) < 128 * 1024  # Kubernetes allows 256 KiB of annotations per object
    assert len(live.read_record({live.RECORD_ANNOTATION: text})[0] or ()) == 8001


# --- node-shaped lines, as EKS and eksctl write them -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (EKS_NODE_GROUP, "nodeRoleArns"),
        (EKS_FARGATE, "fargateRoleArns"),
        (WINDOWS_NODES, "windowsNodeRoleArns"),
        (EKSCTL_ROLE, None),
    ],
)
def test_node_shaped_lines_are_told_by_groups_and_username(text: str, key: str | None):
    (line,) = live.live_lines({"mapRoles": text})[0]
    assert line.node_kind == key


def test_a_node_username_alone_makes_a_line_node_shaped():
    (line,) = live.live_lines(
        {"mapRoles": f"- rolearn: arn:aws:iam::{ACCOUNT}:role/n\n  username: system:node:x\n"}
    )[0]
    assert line.node_kind == "nodeRoleArns"


# --- the verdict ----------------------------------------------------------------------------------


def test_a_node_role_eks_added_stops_with_the_config_key_to_add_it_to(desired: dict[str, str]):
    verdict = live.preflight(live_with(desired, roles=EKS_NODE_GROUP), desired)
    (stop,) = verdict.stops
    assert "node role arn:aws:iam::111122223333:role/eks-ng-2-NodeInstanceRole" in stop
    assert "add it to eks-access:cluster.nodeRoleArns" in stop
    assert "its nodes cannot join" in stop


def test_a_fargate_role_points_at_fargate_role_arns(desired: dict[str, str]):
    (stop,) = live.preflight(live_with(desired, roles=EKS_FARGATE), desired).stops
    assert "eks-access:cluster.fargateRoleArns" in stop


def test_hand_and_eksctl_lines_stop_named_with_username_groups_and_the_key(
    desired: dict[str, str],
):
    verdict = live.preflight(live_with(desired, roles=EKSCTL_ROLE, users=HAND_USER), desired)
    assert len(verdict.stops) == 2
    role, user = verdict.stops
    assert "arn:aws:iam::111122223333:role/ops-admin (username 'admin', groups " in role
    assert "[system:masters], in mapRoles)" in role
    assert "arn:aws:iam::111122223333:user/dave" in user and "in mapUsers" in user
    assert "eks-access:removeLiveMappings" in user


def test_an_acknowledged_line_is_removed_with_a_warning_and_only_that_one(
    desired: dict[str, str],
):
    current = live_with(desired, roles=EKSCTL_ROLE, users=HAND_USER)
    # ARNs compare as the authenticator compares them: lower-cased
    verdict = live.preflight(current, desired, [f"arn:aws:iam::{ACCOUNT}:user/DAVE"])
    (stop,) = verdict.stops
    assert "ops-admin" in stop
    assert [line.arn for line in verdict.removed] == [f"arn:aws:iam::{ACCOUNT}:user/dave"]
    assert any("is removed by this run" in w for w in verdict.warnings)


def test_a_line_this_stack_wrote_is_removed_without_a_stop(desired: dict[str, str]):
    # bob was in the config when the stack last wrote aws-auth; now he is not
    dev = yaml.safe_load(DEV.read_text())["config"]
    dev["eks-access:teams"][1]["users"] = [
        u for u in dev["eks-access:teams"][1]["users"] if u != "bob"
    ]
    smaller = awsauth.render(principals(core.load(dev)))
    current = live.LiveAwsAuth(
        desired, {live.RECORD_ANNOTATION: live.record(desired)}, "the cluster"
    )
    verdict = live.preflight(current, smaller)
    assert verdict.stops == () and verdict.warnings == ()
    assert verdict.recorded


def test_without_a_record_every_line_not_in_the_config_is_foreign(desired: dict[str, str]):
    current = live_with(desired, users=HAND_USER, annotations={})
    verdict = live.preflight(current, desired)
    assert len(verdict.stops) == 1 and not verdict.recorded
    assert any("no eks-access/mapped record" in w for w in verdict.warnings)


def test_aws_auth_as_eks_creates_it_passes_for_the_config(desired: dict[str, str]):
    current = live.as_eks_creates_it([(LINUX, NODE_ROLE)])
    assert live.preflight(current, desired) == live.Preflight((), (), (), False)


def test_a_foreign_account_stops_only_when_the_stack_writes_map_accounts():
    data = {"mapRoles": EKS_NODE_GROUP, "mapUsers": "[]\n"}
    current = live.LiveAwsAuth({**data, "mapAccounts": "- '444455556666'\n"}, {}, "t")
    assert live.preflight(current, data).stops == ()  # mapAccounts is left to its owner
    mine = {**data, "mapAccounts": "- '999988887777'\n"}
    (stop,) = live.preflight(current, mine).stops
    assert "account 444455556666 (mapAccounts)" in stop


def test_a_key_that_does_not_parse_warns_and_maps_nobody(desired: dict[str, str]):
    current = live.LiveAwsAuth({**desired, "mapUsers": "- userarn: [unclosed\n"}, {}, "t")
    verdict = live.preflight(current, desired)
    assert verdict.stops == ()
    assert any("mapUsers: YAML does not parse" in w for w in verdict.warnings)


@pytest.mark.parametrize(
    ("ack", "why"),
    [
        (NODE_ROLE, "which the config maps"),
        (f"arn:aws:iam::{ACCOUNT}:user/zed", "does not hold"),
    ],
)
def test_a_stale_acknowledgement_is_pointed_out(desired: dict[str, str], ack: str, why: str):
    verdict = live.preflight(live_with(desired), desired, [ack])
    assert verdict.stops == ()
    (warning,) = verdict.warnings
    assert why in warning and "take it off the list" in warning


# --- reading an export ----------------------------------------------------------------------------


def _configmap(data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system", "resourceVersion": "1392"},
        "data": data,
    }


def test_an_export_folders_aws_auth_takes_kubectl_yaml_json_and_a_list(tmp_path: Path):
    obj = _configmap({"mapRoles": EKS_NODE_GROUP})
    for text in (
        yaml.safe_dump(obj),
        json.dumps(obj),
        yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [obj]}),
    ):
        (tmp_path / "aws-auth.yaml").write_text(text)
        found = cluster_view.read(tmp_path).aws_auth
        assert found is not None and found.data == {"mapRoles": EKS_NODE_GROUP}


def test_an_export_folders_aws_auth_without_the_file_is_none(tmp_path: Path):
    assert cluster_view.read(tmp_path).aws_auth is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("data: [unclosed", "does not parse"),
        ("- just a list", "not a ConfigMap"),
        (yaml.safe_dump({**_configmap({}), "metadata": {"name": "other"}}), "is not kube-system"),
        (yaml.safe_dump({"kind": "List", "items": []}), "exactly one aws-auth"),
        (yaml.safe_dump({**_configmap({}), "data": ["x"]}), "must be mappings"),
    ],
)
def test_an_export_folders_aws_auth_refuses_what_is_not_aws_auth(
    tmp_path: Path, text: str, fragment: str
):
    (tmp_path / "aws-auth.yaml").write_text(text)
    with pytest.raises(live.LiveError, match=fragment):
        cluster_view.read(tmp_path)


# --- config ---------------------------------------------------------------------------------------


def test_remove_live_mappings_takes_arns_and_accounts():
    config = core.load(
        minimal_raw(
            **{
                "eks-access:removeLiveMappings": [
                    f"arn:aws:iam::{ACCOUNT}:user/dave",
                    "444455556666",
                ]
            }
        )
    )
    assert config.remove_live_mappings == (f"arn:aws:iam::{ACCOUNT}:user/dave", "444455556666")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (minimal_raw(**{"eks-access:removeLiveMappings": ["dave"]}), "as the live aws-auth line"),
        (
            minimal_raw(
                **{
                    "eks-access:removeLiveMappings": [f"arn:aws:iam::{ACCOUNT}:user/dave"],
                    "eks-access:cluster": {
                        "name": "demo",
                        "authenticationMode": "API",
                        "nodeRoleArns": [NODE_ROLE],
                        "nodeAccessEntries": "eks-managed",
                    },
                }
            ),
            "writes none here",
        ),
    ],
)
def test_remove_live_mappings_refused_with_the_fix(raw: dict[str, Any], fragment: str):
    with pytest.raises(core.ConfigError) as e:
        core.load(raw)
    (problem,) = e.value.problems
    assert problem.path.startswith("eks-access:removeLiveMappings")
    assert fragment in problem.message


# --- the real program under mocks -----------------------------------------------------------------


def _dev_live(tmp_path: Path, roles: str = "", users: str = "", raw: Any = None) -> Any:
    raw = raw or yaml.safe_load(DEV.read_text())["config"]
    stack = stackfile.read(write_stack(tmp_path, raw, "dev"))
    desired = awsauth.render(principals(stack.load()))
    return stack, live.LiveAwsAuth(
        {"mapRoles": desired["mapRoles"] + roles, "mapUsers": desired["mapUsers"] + users},
        {},
        "test",
    )


def test_the_program_stops_before_registering_anything(tmp_path: Path):
    stack, current = _dev_live(tmp_path, roles=EKS_NODE_GROUP)
    registered: list[int] = []
    with pytest.raises(PreflightStop, match="eks-ng-2-NodeInstanceRole") as e:
        run(stack, live_aws_auth=current, on_register=lambda: registered.append(1))
    assert "stopped the run before anything was registered" in str(e.value)
    assert registered == []  # no IAM user, no namespace, no binding, no aws-auth
    # the same program with nothing foreign registers everything
    (tmp_path / "ok").mkdir()
    ok, _ = _dev_live(tmp_path / "ok")
    run(ok, on_register=lambda: registered.append(1))
    assert len(registered) > 20


def test_a_cluster_without_aws_auth_is_written_as_before(tmp_path: Path):
    """No aws-auth yet (an API_AND_CONFIG_MAP cluster whose nodes have entries): the patch
    creates it, as server-side apply upserts; the preflight has nothing to protect."""
    stack, _ = _dev_live(tmp_path)
    with answering_aws_auth(None):
        verdict = check_live_aws_auth(
            "dev", "{}", awsauth.render(principals(stack.load())), (), False
        )
    assert verdict is not None and verdict.stops == () and not verdict.recorded


def test_an_unreadable_aws_auth_warns_in_preview_and_stops_up(monkeypatch: pytest.MonkeyPatch):
    def unreachable(kubeconfig: str) -> Any:
        raise preflight.UnreadableError("HTTPSConnectionPool: connection refused")

    monkeypatch.setattr(preflight, "READER", unreachable)
    desired = awsauth.render(principals(stackfile.read(DEV).load()))
    assert check_live_aws_auth("dev", "{}", desired, (), dry_run=True) is None
    with pytest.raises(PreflightStop, match="could not read kube-system/aws-auth of cluster dev"):
        check_live_aws_auth("dev", "{}", desired, (), dry_run=False)


def test_the_real_reader_says_404_is_no_aws_auth_and_other_errors_unreadable(
    monkeypatch: pytest.MonkeyPatch,
):
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException

    kubeconfig = json.dumps(
        {"apiVersion": "v1", "kind": "Config", "current-context": "c",
         "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
         "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
         "users": [{"name": "u", "user": {"token": "t"}}]}
    )  # fmt: skip

    def answer(status: int) -> Any:
        def read(self: Any, name: str, namespace: str, **kw: Any) -> Any:
            assert (name, namespace) == ("aws-auth", "kube-system")
            raise ApiException(status=status, reason="Not Found" if status == 404 else "Forbidden")

        return read

    monkeypatch.setattr(CoreV1Api, "read_namespaced_config_map", answer(404))
    assert preflight.read_with_client(kubeconfig) is None
    monkeypatch.setattr(CoreV1Api, "read_namespaced_config_map", answer(403))
    with pytest.raises(preflight.UnreadableError, match="403 Forbidden"):
        preflight.read_with_client(kubeconfig)


def test_the_patch_writes_the_record_of_what_it_maps(tmp_path: Path):
    stack, current = _dev_live(tmp_path)
    (patch,) = run(stack, live_aws_auth=current).of_type("kubernetes:core/v1:ConfigMapPatch")
    annotations = patch.inputs["metadata"]["annotations"]
    recorded, _ = live.read_record(annotations)
    assert recorded == {live._digest(x.key) for x in live.live_lines(patch.inputs["data"])[0]}


def test_the_config_listing_the_role_and_acknowledging_the_user_passes(tmp_path: Path):
    raw = yaml.safe_load(DEV.read_text())["config"]
    raw["eks-access:cluster"]["nodeRoleArns"].append(
        f"arn:aws:iam::{ACCOUNT}:role/eks-ng-2-NodeInstanceRole"
    )
    raw["eks-access:removeLiveMappings"] = [f"arn:aws:iam::{ACCOUNT}:user/dave"]
    stack, current = _dev_live(tmp_path, roles=EKS_NODE_GROUP, users=HAND_USER, raw=raw)
    (patch,) = run(stack, live_aws_auth=current).of_type("kubernetes:core/v1:ConfigMapPatch")
    mapped = awsauth.parse(patch.inputs["data"])
    assert f"arn:aws:iam::{ACCOUNT}:role/eks-ng-2-nodeinstancerole" in mapped.roles
    assert f"arn:aws:iam::{ACCOUNT}:user/dave" not in mapped.users


def test_a_role_written_with_its_path_is_replaced_by_the_configs_pathless_mapping():
    """A hand-written SSO or node role line with its path never matches a caller; when the
    config maps that role (path-less, as aws-auth must), the line goes with a warning."""
    dev = stackfile.read(DEV).load()
    desired = awsauth.render(principals(dev))
    sso = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/us-east-1/AWSReservedSSO_PaymentsDev_0123456789abcdef"
    pathed = f"- rolearn: {sso}\n  username: x\n  groups: [a]\n"
    verdict = live.preflight(live_with(desired, roles=pathed, annotations={}), desired)
    assert verdict.stops == ()
    assert any("without its path" in w for w in verdict.warnings)


def test_an_acknowledgement_with_the_path_matches_the_pathless_line(desired: dict[str, str]):
    line = f"- rolearn: arn:aws:iam::{ACCOUNT}:role/ops-admin\n  username: a\n  groups: [b]\n"
    current = live_with(desired, roles=line)
    verdict = live.preflight(current, desired, [f"arn:aws:iam::{ACCOUNT}:role/team/OPS-admin"])
    assert verdict.stops == () and len(verdict.removed) == 1


def test_a_hybrid_node_role_is_pointed_to_its_own_list(desired: dict[str, str]):
    hybrid = (
        f"- rolearn: arn:aws:iam::{ACCOUNT}:role/hybrid\n  username: system:node:{{{{SessionName}}}}\n"
        "  groups: [system:bootstrappers, system:nodes]\n"
    )
    (stop,) = live.preflight(live_with(desired, roles=hybrid), desired).stops
    assert "EKS Hybrid Nodes" in stop and "eks-access:cluster.hybridNodeRoleArns" in stop


def test_api_mode_reads_no_aws_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    monkeypatch.setattr(preflight, "check_live_aws_auth", lambda name, *a: calls.append(name))
    api = minimal_raw(
        **{
            "eks-access:cluster": {
                "name": "demo",
                "authenticationMode": "API",
                "nodeRoleArns": [NODE_ROLE],
                "nodeAccessEntries": "eks-managed",
            },
            "eks-access:teams": [{"name": "a", "clusterAccess": "view", "users": ["ann"]}],
        }
    )
    run(stackfile.read(write_stack(tmp_path, api)))
    assert calls == []
    config_map = {**api, "eks-access:cluster": {"name": "demo", "nodeRoleArns": [NODE_ROLE]}}
    (tmp_path / "cm").mkdir()
    run(stackfile.read(write_stack(tmp_path / "cm", config_map)))
    assert calls == ["demo"]  # the control: a mode that writes aws-auth reads it first


# --- plan --live ----------------------------------------------------------------------------------


def test_plan_live_stops_with_exit_3_naming_both_and_writes_nothing(tmp_path: Path, invoke: Any):
    stack, current = _dev_live(tmp_path, roles=EKS_NODE_GROUP, users=HAND_USER)
    export = tmp_path / "live"
    export.mkdir()
    (export / "aws-auth.yaml").write_text(yaml.safe_dump(_configmap(dict(current.data))))
    out = tmp_path / "out"
    r = invoke(
        *["plan", "--config-file", str(stack.path), "--out", str(out), "--live", str(export)]
    )
    code = r.returncode
    err = r.stderr
    assert code == 3
    assert "eks-ng-2-NodeInstanceRole" in err and "user/dave" in err
    assert not out.exists() or not any(out.iterdir())


def test_plan_without_live_says_what_it_assumed(tmp_path: Path, invoke: Any):
    r = invoke("plan", "--config-file", str(DEV), "--out", str(tmp_path))
    code = r.returncode
    assert code == 0
    assert "assumed as EKS creates it" in r.stdout


def test_review_with_live_puts_the_preflight_stop_above_the_fold(tmp_path: Path, invoke: Any):
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
            cwd=tmp_path, check=True, capture_output=True,
        )  # fmt: skip

    stack, current = _dev_live(tmp_path, roles=EKS_NODE_GROUP)
    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "base")
    doc = yaml.safe_load(stack.path.read_text())
    doc["config"]["eks-access:teams"][2]["users"].append("dave")
    stack.path.write_text(yaml.safe_dump(doc, sort_keys=False))
    export = tmp_path / "live"
    export.mkdir()
    (export / "aws-auth.yaml").write_text(yaml.safe_dump(_configmap(dict(current.data))))
    argv = ["review", "--base", "HEAD", "--config-file", str(stack.path), "--format", "markdown"]
    r = invoke(*argv, "--live", str(export))
    assert r.returncode == 0
    top = r.stdout.split("<details>", 1)[0]
    assert ":no_entry: pulumi up stops: the live aws-auth holds 1 line" in top
    assert "eks-ng-2-NodeInstanceRole" in top
    r = invoke(*argv)
    assert r.returncode == 0  # without --live: not known, not said
    assert "pulumi up stops" not in r.stdout


def test_a_failing_token_command_is_said_not_sent_anonymously(tmp_path: Path):
    """The kubeconfig's `aws eks get-token` failing (no credentials, no aws CLI) is reported
    as such, not as the API server's 401 for an anonymous request."""
    fails = tmp_path / "aws"
    fails.write_text("#!/bin/sh\necho 'Unable to locate credentials' >&2\nexit 255\n")
    fails.chmod(0o755)
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(fails),
            "args": ["eks", "get-token"]}}}],
    }  # fmt: skip
    with pytest.raises(preflight.UnreadableError, match="exited 255: Unable to locate credentials"):
        preflight.read_with_client(json.dumps(kubeconfig))


def test_plan_live_of_an_export_without_aws_auth_plans_its_creation(tmp_path: Path, invoke: Any):
    export = tmp_path / "live"
    export.mkdir()
    (export / "cluster.json").write_text(json.dumps({"cluster": {"name": "dev"}}))
    r = invoke(
        *["plan", "--config-file", str(DEV), "--out", str(tmp_path / "o"), "--live", str(export)]
    )
    code = r.returncode
    assert code == 0
    assert "none in the cluster exported in" in r.stdout


def test_plan_live_of_a_fleet_needs_a_folder_per_stack_that_writes_aws_auth(
    tmp_path: Path, invoke: Any
):
    files = [str(ROOT / f"Pulumi.{s}.yaml") for s in ("identity", "staging", "prod")]
    argv = ["plan", "--config-file", *files, "--out", str(tmp_path / "o"), "--live", str(tmp_path)]
    r = invoke(*argv)
    assert r.returncode == 2
    assert "several stacks read DIR/<stack>/ each" in r.stderr
