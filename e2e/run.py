"""`make e2e`: the offline plan's aws-auth and RBAC on a real Kubernetes API server.

No cloud account: etcd and kube-apiserver (``--authorization-mode=RBAC``) run on loopback,
built from the official Go modules at pinned versions (``e2e/*/go.mod``), and kubectl comes
from the same Kubernetes release. aws-auth is read back by aws-iam-authenticator's own mapper
code (``e2e/authmap``). With ``KUBECONFIG`` set, an existing cluster (kind, minikube) is used
instead of starting one.

Steps: the seed's three outcomes for ``eks_user``; server-side apply of the aws-auth patch over
a pre-existing aws-auth whose node roles another manager wrote; and a differential check of
``can-i`` against the API server's own SubjectAccessReview for every principal of the dev
stack and of generated configs. Every process started here is stopped on the way out.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT / "e2e"
CACHE = Path(os.environ.get("EKS_ACCESS_E2E_CACHE", Path.home() / ".cache" / "eks-access-e2e"))
BIN = CACHE / "bin"
KUBE_VERSION = "v1.37.2"  # e2e/kube/go.mod pins the same
VERSION_FLAGS = " ".join(
    f"-X k8s.io/component-base/version.{k}={v}"
    for k, v in (("gitVersion", KUBE_VERSION), ("gitMajor", "1"), ("gitMinor", "37"))
)
BUILDS = {  # binary -> (module folder, package, ldflags)
    "etcd": ("etcd", "go.etcd.io/etcd/server/v3", ""),
    "kube-apiserver": ("kube", "k8s.io/kubernetes/cmd/kube-apiserver", VERSION_FLAGS),
    "kubectl": ("kube", "k8s.io/kubernetes/cmd/kubectl", VERSION_FLAGS),
    "kube-controller-manager": (
        "kube",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        VERSION_FLAGS,
    ),
    "authmap": ("authmap", ".", ""),
    "esceval": ("esceval", ".", ""),
}
ADMIN_TOKEN_FILE = "tokens.csv"
NODE_ROLE_ARN = "arn:aws:iam::111122223333:role/eks-node-group"


def log(message: str) -> None:
    print(message, flush=True)


# --- build (cached outside the repository) --------------------------------------------------------


def build() -> None:
    """Build each binary unless the cache holds one built from the same pinned sources."""
    if shutil.which("go") is None:
        sys.exit("make e2e needs the Go toolchain (go 1.26); `make test` does not")
    (CACHE / "stamps").mkdir(parents=True, exist_ok=True)
    for name, (folder, package, ldflags) in BUILDS.items():
        src = E2E / folder
        digest = hashlib.sha256(ldflags.encode())
        for f in sorted(src.glob("*")):
            if f.suffix in (".mod", ".sum", ".go"):
                digest.update(f.read_bytes())
        stamp = CACHE / "stamps" / name
        if (BIN / name).exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
            continue
        log(f"building {name} from {src.relative_to(ROOT)} (first run: minutes)")
        start = time.time()
        subprocess.run(
            ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(BIN / name), package],
            cwd=src,
            check=True,
        )
        stamp.write_text(digest.hexdigest())
        log(f"  built {name} in {time.time() - start:.0f} s")


# --- a control plane on loopback ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ControlPlane:
    """etcd and kube-apiserver as child processes; `stop` ends both, whatever happened."""

    def __init__(self, workdir: Path, controllers: str = "clusterrole-aggregation"):
        self.dir = workdir
        self.controllers = controllers
        """kube-controller-manager's controllers: deletions with propagation (a `pulumi destroy`)
        also need the garbage collector, and namespace deletion the namespace controller."""
        self.procs: list[subprocess.Popen[bytes]] = []
        self.token = hashlib.sha256(os.urandom(16)).hexdigest()
        self.port = free_port()
        self.kubeconfig = workdir / "kubeconfig"

    def start(self) -> None:
        etcd_client, etcd_peer = free_port(), free_port()
        self._spawn(
            "etcd",
            [
                str(BIN / "etcd"),
                "--data-dir",
                str(self.dir / "etcd"),
                "--listen-client-urls",
                f"http://127.0.0.1:{etcd_client}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{etcd_client}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{etcd_peer}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{etcd_peer}",
                "--initial-cluster",
                f"default=http://127.0.0.1:{etcd_peer}",
            ],
        )
        key = self.dir / "sa.key"
        subprocess.run(
            ["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True
        )
        # The one static credential: the test's own admin, in system:masters.
        (self.dir / ADMIN_TOKEN_FILE).write_text(
            f'{self.token},e2e-admin,e2e-admin,"system:masters"\n'
        )
        self._spawn(
            "kube-apiserver",
            [
                str(BIN / "kube-apiserver"),
                "--etcd-servers",
                f"http://127.0.0.1:{etcd_client}",
                "--bind-address",
                "127.0.0.1",
                "--advertise-address",
                "127.0.0.1",
                "--endpoint-reconciler-type",
                "none",  # loopback cannot be a Service endpoint
                "--secure-port",
                str(self.port),
                "--cert-dir",
                str(self.dir / "certs"),
                "--authorization-mode",
                "RBAC",
                "--token-auth-file",
                str(self.dir / ADMIN_TOKEN_FILE),
                "--service-account-issuer",
                "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file",
                str(key),
                "--service-account-signing-key-file",
                str(key),
                "--service-cluster-ip-range",
                "10.96.0.0/24",
            ],
        )
        self.kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "e2e",
                            "cluster": {
                                "server": f"https://127.0.0.1:{self.port}",
                                "insecure-skip-tls-verify": True,
                            },
                        }
                    ],
                    "users": [{"name": "admin", "user": {"token": self.token}}],
                    "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
                    "current-context": "e2e",
                }
            )
        )
        self.wait_ready()
        # view, edit and admin are aggregated ClusterRoles: the controller manager's
        # clusterrole-aggregation controller fills in their rules (and nothing else runs).
        self._spawn(
            "kube-controller-manager",
            [
                str(BIN / "kube-controller-manager"),
                "--kubeconfig",
                str(self.kubeconfig),
                "--controllers",
                self.controllers,
                "--leader-elect=false",
                "--secure-port",
                "0",
            ],
        )
        self.wait_aggregated()

    def _spawn(self, name: str, argv: list[str]) -> None:
        logfile = (self.dir / f"{name}.log").open("wb")
        self.procs.append(
            subprocess.Popen(argv, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args[0]} exited; see {self.dir}/*.log")
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _ = api(self.port, self.token, "GET", "/readyz")
                if status == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"kube-apiserver not ready after {timeout} s; see {self.dir}")

    def wait_aggregated(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, role = api(
                self.port, self.token, "GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/view"
            )
            if status == 200 and isinstance(role, dict) and role.get("rules"):
                return
            time.sleep(0.5)
        raise RuntimeError(
            f"the view ClusterRole was not aggregated in {timeout} s; see {self.dir}"
        )

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def api(port: int, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPSConnection(
        "127.0.0.1", port, context=ssl._create_unverified_context(), timeout=10
    )
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, data.decode(errors="replace")
    finally:
        conn.close()


class Cluster:
    """kubectl, the authenticator's mapper and SubjectAccessReviews against one API server."""

    def __init__(self, kubeconfig: Path, port: int | None, token: str | None):
        self.kubeconfig = kubeconfig
        self.port, self.token = port, token
        self.sar_count = 0
        self._conn: http.client.HTTPSConnection | None = None

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(BIN / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc

    def apply(self, docs: list[dict[str, Any]], manager: str) -> None:
        from offline import plan

        self.kubectl(
            "apply",
            "--server-side",
            f"--field-manager={manager}",
            "--force-conflicts",
            "-f",
            "-",
            # The plan's own YAML writer: kubectl reads YAML 1.1, where a bare `y` is `true`.
            stdin=plan.dump_yaml(docs),
        )

    def authmap(self, ready_arn: str, arns_: list[str]) -> list[dict[str, Any]]:
        proc = subprocess.run(
            [
                str(BIN / "authmap"),
                "-kubeconfig",
                str(self.kubeconfig),
                "-ready-arn",
                ready_arn,
                *arns_,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return [json.loads(line) for line in proc.stdout.splitlines()]

    def allowed(self, user: str, groups: list[str], attrs: dict[str, str]) -> bool:
        """The API server's own answer (SubjectAccessReview), as for kubectl auth can-i --as.
        ``attrs`` are resource attributes, or ``{"path", "verb"}`` for a non-resource URL."""
        kind = "nonResourceAttributes" if "path" in attrs else "resourceAttributes"
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": groups, kind: attrs},
        }
        self.sar_count += 1
        if self.port is None:  # an existing cluster: through kubectl and its credentials
            out = self.kubectl("create", "-o", "json", "-f", "-", stdin=json.dumps(review))
            return bool(json.loads(out.stdout)["status"].get("allowed"))
        if self._conn is None:
            self._conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=ssl._create_unverified_context(), timeout=10
            )
        self._conn.request(
            "POST",
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            json.dumps(review),
            {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        answer = json.loads(self._conn.getresponse().read())
        return bool(answer["status"].get("allowed"))


# --- the checks -----------------------------------------------------------------------------------


def strip_pulumi(doc: dict[str, Any]) -> dict[str, Any]:
    """A manifest of the offline plan as kubectl would send it (no Pulumi annotations)."""
    doc = json.loads(json.dumps(doc))
    meta = doc.setdefault("metadata", {})
    notes = {
        k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith("pulumi.com/")
    }
    if notes:
        meta["annotations"] = notes
    else:
        meta.pop("annotations", None)
    return doc


def eks_aws_auth(node_arn: str) -> dict[str, Any]:
    """aws-auth as EKS or eksctl leave it: the node role only (written here by hand, not by the
    program's renderer, since it stands for another tool's object)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": {
            "mapRoles": yaml.safe_dump(
                [
                    {
                        "rolearn": node_arn,
                        "username": "system:node:{{EC2PrivateDNSName}}",
                        "groups": ["system:bootstrappers", "system:nodes"],
                    }
                ]
            )
        },
    }


def seed_scenario(c: Cluster, plan_dir: Path) -> None:
    """The seed's three outcomes for eks_user, and aws-auth applied over another manager's."""
    from eks_access import stackfile

    config = stackfile.read(ROOT / "Pulumi.dev.yaml").load()
    node_arn = config.cluster.node_role_arns[0]
    eks_user = "arn:aws:iam::111122223333:user/eks_user"
    # aws-auth as EKS or eksctl leave it: node roles only, written by another field manager.
    c.apply(
        [eks_aws_auth(node_arn)],
        "eksctl",
    )

    log("\n== 1. eks_user not yet in aws-auth")
    (me,) = c.authmap(node_arn, [eks_user])
    assert not me["mapped"], me
    log(f"   aws-iam-authenticator mapper: {eks_user} is not mapped: it is not logged in")
    proc = c.kubectl("get", "pods", "--token", "eks_user-has-no-identity", check=False)
    log(
        "   $ kubectl get pods   (as a caller the API server cannot authenticate)\n"
        f"   {proc.stderr.strip()}"
    )
    assert "You must be logged in to the server (Unauthorized)" in proc.stderr

    log("\n== 2. aws-auth applied (server-side, field manager eks-access), no RBAC yet")
    (aws_auth,) = yaml.safe_load_all((plan_dir / "aws-auth.yaml").read_text())
    patch = strip_pulumi(aws_auth)
    manager = aws_auth["metadata"]["annotations"]["pulumi.com/patchFieldManager"]
    c.apply([patch], manager)
    before = json.loads(
        c.kubectl(
            "get", "cm", "aws-auth", "-n", "kube-system", "-o", "json", "--show-managed-fields"
        ).stdout
    )
    (node, me) = c.authmap(node_arn, [node_arn, eks_user])
    assert node["mapped"] and "system:nodes" in node["groups"], node  # node roles survived
    assert me["mapped"] and me["username"] == "eks_user", me
    log(f"   mapper: {eks_user} -> user {me['username']!r}, groups {me['groups']}")
    log(f"   mapper: node role {node_arn} still -> {node['username']!r} {node['groups']}")
    owners = {f["manager"] for f in before["metadata"]["managedFields"]}
    assert manager in owners, owners
    c.apply([patch], manager)  # again: nothing may change
    after = json.loads(
        c.kubectl(
            "get", "cm", "aws-auth", "-n", "kube-system", "-o", "json", "--show-managed-fields"
        ).stdout
    )
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    log(f"   re-applying is a no-op (resourceVersion {after['metadata']['resourceVersion']} kept)")
    as_me = [
        "--as",
        me["username"],
        *[f"--as-group={g}" for g in [*me["groups"], "system:authenticated"]],
    ]
    proc = c.kubectl("get", "pods", "-n", "default", *as_me, check=False)
    log(f"   $ kubectl get pods --as {me['username']} ...\n   {proc.stderr.strip()}")
    assert 'pods is forbidden: User "eks_user" cannot list resource "pods"' in proc.stderr

    log("\n== 3. RBAC applied (Role and RoleBinding `test` in default)")
    docs = [strip_pulumi(d) for d in yaml.safe_load_all((plan_dir / "rbac.yaml").read_text()) if d]
    c.apply(docs, manager)
    proc = c.kubectl("get", "pods", "-n", "default", *as_me, check=False)
    log(
        f"   $ kubectl get pods --as {me['username']} ...\n   {(proc.stdout + proc.stderr).strip()}"
    )
    assert proc.returncode == 0 and "No resources found" in proc.stderr + proc.stdout
    can = c.kubectl("auth", "can-i", "create", "pods", "-n", "default", *as_me, check=False)
    log(f"   $ kubectl auth can-i create pods --as {me['username']} ...  -> {can.stdout.strip()}")
    assert can.stdout.strip() == "yes"


def _live_export(c: Cluster, folder: Path) -> Path:
    """``kubectl get configmap aws-auth -n kube-system -o yaml`` into ``folder``, as the docs
    tell users to export it for ``plan --live``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = c.kubectl("get", "configmap", "aws-auth", "-n", "kube-system", "-o", "yaml").stdout
    (folder / "aws-auth.yaml").write_text(text)
    return folder


def _update_aws_auth(c: Cluster, manager: str, key: str, line: str) -> None:
    """Append one mapping to ``key`` with an update (not an apply), as EKS adds a node group's
    role and as `kubectl edit` saves: the writer becomes an owner of the key."""
    obj = json.loads(
        c.kubectl("get", "configmap", "aws-auth", "-n", "kube-system", "-o", "json").stdout
    )
    obj["data"][key] = obj["data"].get(key, "") + line
    c.kubectl("replace", f"--field-manager={manager}", "-f", "-", stdin=json.dumps(obj))


def _plan_live(raw: dict[str, Any], live_dir: Path, work: Path) -> tuple[int, str, Path]:
    """``eks-access plan --live`` of a dev config variant, in a process of its own."""
    from tests.conftest import write_stack

    work.mkdir(parents=True, exist_ok=True)
    stack_file = write_stack(work, raw, "dev")
    out = work / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "eks_access", "plan", "--config-file", str(stack_file),
         "--out", str(out), "--live", str(live_dir)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr, out


def live_preflight_scenario(c: Cluster, plan_dir: Path, work: Path) -> None:
    """The preflight on what the API server holds: after the program's aws-auth is applied, EKS
    adds a node role and a person a user; `plan --live` of the export stops and names both."""
    dev_raw = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    (aws_auth,) = yaml.safe_load_all((plan_dir / "aws-auth.yaml").read_text())
    manager = aws_auth["metadata"]["annotations"]["pulumi.com/patchFieldManager"]
    c.apply([strip_pulumi(aws_auth)], manager)
    new_node = "arn:aws:iam::111122223333:role/eks-ng-2-NodeInstanceRole"
    dave = "arn:aws:iam::111122223333:user/dave"
    _update_aws_auth(
        c, "eks", "mapRoles",
        f"- groups:\n  - system:bootstrappers\n  - system:nodes\n  rolearn: {new_node}\n"
        "  username: system:node:{{EC2PrivateDNSName}}\n",
    )  # fmt: skip
    _update_aws_auth(
        c, "kubectl-edit", "mapUsers",
        f"- userarn: {dave}\n  username: dave\n  groups:\n  - system:masters\n",
    )  # fmt: skip
    export = _live_export(c, work / "live-1")
    code, text, _ = _plan_live(dev_raw, export, work / "plan-1")
    log("   EKS (field manager eks) added a node role, a person (kubectl-edit) a user line")
    log(f"   $ eks-access plan --live {export.name}  -> exit {code}")
    for line in text.splitlines():
        if line.startswith("  live aws-auth maps"):
            log(f"   {line.strip()[:150]}...")
    assert code == 3, text
    assert f"node role {new_node}" in text and "eks-access:cluster.nodeRoleArns" in text, text
    assert dave in text and "eks-access:removeLiveMappings" in text, text

    fixed = copy.deepcopy(dev_raw)
    fixed["eks-access:cluster"]["nodeRoleArns"].append(new_node)
    fixed["eks-access:removeLiveMappings"] = [dave]
    code, text, out = _plan_live(fixed, export, work / "plan-2")
    assert code == 0, text
    (patch,) = yaml.safe_load_all((out / "aws-auth.yaml").read_text())
    c.apply([strip_pulumi(patch)], manager)
    (node, gone) = c.authmap(new_node, [new_node, dave])
    assert node["mapped"] and "system:nodes" in node["groups"], node
    assert not gone["mapped"], gone
    log("   role added to nodeRoleArns, dave acknowledged: exit 0; applied, the mapper maps the")
    log("   new node role and no longer dave")

    fewer = copy.deepcopy(fixed)
    payments = next(t for t in fewer["eks-access:teams"] if t["name"] == "payments")
    payments["users"] = [u for u in payments["users"] if u != "bob"]
    fewer.pop("eks-access:removeLiveMappings")
    code, text, out = _plan_live(fewer, _live_export(c, work / "live-2"), work / "plan-3")
    assert code == 0 and "stopped" not in text, text
    (patch,) = yaml.safe_load_all((out / "aws-auth.yaml").read_text())
    c.apply([strip_pulumi(patch)], manager)
    (bob,) = c.authmap(new_node, ["arn:aws:iam::111122223333:user/bob"])
    assert not bob["mapped"], bob
    log("   bob removed from the config (a line the stack wrote, in its record): no stop, and")
    log("   applied, the mapper no longer maps him")


AUDIT_QUESTIONS = (  # (verb, resource, namespace)
    ("get", "pods", "payments"),
    ("list", "secrets", "default"),
    ("delete", "nodes", None),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io", None),
    ("get", "configmaps", "kube-system"),
)


@contextlib.contextmanager
def eks_stand_in(c: Cluster, work: Path) -> Iterator[dict[str, str]]:
    """The EKS API stand-in (``e2e/eks_api.py``) for cluster dev on this API server, and an
    ``aws`` on PATH whose `eks get-token` prints the test's admin token: the environment
    `eks-access export` runs in."""
    import base64

    from e2e.eks_api import serve
    from e2e.engine import add_cluster

    kube = yaml.safe_load(c.kubeconfig.read_text())
    server = kube["clusters"][0]["cluster"]["server"]
    # the serving certificate the control plane made (ControlPlane.start), as EKS returns its CA
    ca = base64.b64encode((c.kubeconfig.parent / "certs" / "apiserver.crt").read_bytes()).decode()
    state = work / "eks-state.json"
    add_cluster(state, "dev", authentication_mode="CONFIG_MAP", endpoint=server, ca_data=ca)
    bin_dir = work / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    credential = {"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1beta1",
                  "status": {"token": c.token}}  # fmt: skip
    (bin_dir / "aws").write_text(f"#!/bin/sh\necho '{json.dumps(credential)}'\n")
    (bin_dir / "aws").chmod(0o755)
    with serve(state) as url:
        yield {
            **os.environ,
            # the stand-in `aws`, and kubectl (for --live-cluster, which runs it from PATH)
            "PATH": os.pathsep.join([str(bin_dir), str(BIN), os.environ.get("PATH", "")]),
            "AWS_ENDPOINT_URL_EKS": url,
            "AWS_ACCESS_KEY_ID": "e2e",
            "AWS_SECRET_ACCESS_KEY": "e2e",
        }


def _cli(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eks_access", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip


def audit_scenario(c: Cluster, work: Path) -> None:
    """`export` from this API server (and the EKS stand-in), `audit` of an unchanged cluster
    (exit 0) and of one with a hand-edited aws-auth line and a hand-made binding to a session
    username (exit 1, each found with its principal and source), and `can-i --live` against
    SubjectAccessReview for those principals, the authenticator's mapper deciding who is who."""
    from eks_access import stackfile

    dev = stackfile.read(ROOT / "Pulumi.dev.yaml").load()
    reset(c, dev)
    node_arn = dev.cluster.node_role_arns[0]
    dave = "arn:aws:iam::111122223333:user/dave"
    sso = dev.teams[1].roles[0].arn.replace("/aws-reserved/sso.amazonaws.com/us-east-1", "")
    session = f"arn:aws:sts::111122223333:assumed-role/{sso.rsplit('/', 1)[-1]}/alice"
    with eks_stand_in(c, work) as env:
        kubectl = str(BIN / "kubectl")
        export = ["export", "--cluster", "dev", "--region", "us-east-1", "--kubectl", kubectl]
        proc = _cli(env, *export, "--out", str(work / "clean"))
        assert proc.returncode == 0, proc.stderr
        log(f"   $ eks-access export ...  -> {proc.stdout.strip()[:120]}")
        audit = ["audit", "--config-file", str(ROOT / "Pulumi.dev.yaml"), "--format", "json"]
        proc = _cli(env, *audit, "--live", str(work / "clean"))
        doc = json.loads(proc.stdout or "{}")
        beyond = [p for p in doc.get("principals", []) if p["status"] != "as configured"]
        assert proc.returncode == 0 and not beyond, (proc.returncode, beyond, proc.stderr)
        log(f"   unchanged cluster: audit exit 0, {len(doc['principals'])} principals as "
            f"configured, {len(doc['serviceAccounts'])} service-account bindings listed (out "
            f"of scope), {doc['bootstrapObjects']} bootstrap RBAC objects")  # fmt: skip

        _update_aws_auth(c, "kubectl-edit", "mapUsers",
                         f"- userarn: {dave}\n  username: dave\n  groups:\n  - ops\n")  # fmt: skip
        hand = [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "hand-made-admin"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                         "name": "cluster-admin"},
             "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                           "name": "payments-sso:alice"}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": "hand-made-ops", "namespace": "default"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                         "name": "admin"},
             "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                           "name": "ops"}]},
        ]  # fmt: skip
        c.kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                        "items": hand}))  # fmt: skip
        proc = _cli(env, *export, "--out", str(work / "changed"))
        assert proc.returncode == 0, proc.stderr
        proc = _cli(env, *audit, "--live", str(work / "changed"))
        doc = json.loads(proc.stdout or "{}")
        assert proc.returncode == 1, (proc.returncode, proc.stderr)
        found = {p["username"]: p for p in doc["principals"] if p["status"] == "beyond config"}
        assert set(found) == {"dave", "payments-sso:alice"}, found
        assert found["dave"]["mappedBy"] == "aws-auth mapUsers line", found["dave"]
        assert any(c_["via"] == "RoleBinding default/hand-made-ops -> ClusterRole admin"
                   for c_ in found["dave"]["beyondConfig"]), found["dave"]  # fmt: skip
        alice = found["payments-sso:alice"]
        assert alice["principal"].endswith(sso.rsplit("/", 1)[-1]), alice
        assert {c_["via"] for c_ in alice["beyondConfig"]} == {
            "ClusterRoleBinding hand-made-admin -> ClusterRole cluster-admin"
        }, alice
        report = _cli(env, "audit", "--config-file", str(ROOT / "Pulumi.dev.yaml"), "--live",
                      str(work / "changed")).stdout.split("\n\n<details>", 1)[0]  # fmt: skip
        log("   the report's headline (docs/adopting.md):")
        for line in report.splitlines():
            log(f"     {line}")
        # the same, read now (--live-cluster: export into a temporary folder, then audit)
        now = _cli(env, *audit, "--live-cluster")
        assert now.returncode == 1 and json.loads(now.stdout)["flagged"] == doc["flagged"], (
            now.returncode, now.stderr[-2000:])  # fmt: skip
        log("   hand-edited aws-auth line (dave, group ops) and hand-made bindings: audit exit 1;")
        log("   dave: mapped by an aws-auth mapUsers line, admin in default via hand-made-ops;")
        log("   payments-sso:alice (the SSO role's session): cluster-admin via hand-made-admin")

        mapped = {caller: m for caller, m in zip((dave, session),
                  c.authmap(node_arn, [dave, session]), strict=True)}  # fmt: skip
        compared = 0
        for caller, m in mapped.items():
            assert m["mapped"], m
            groups = [*(m.get("groups") or []), "system:authenticated"]
            for verb, resource, ns in AUDIT_QUESTIONS:
                argv = ["can-i", verb, resource, "--as", caller, "--config-file",
                        str(ROOT / "Pulumi.dev.yaml"), "--live", str(work / "changed"),
                        "--format", "json", *(["-n", ns] if ns else [])]  # fmt: skip
                answer = json.loads(_cli(env, *argv).stdout)
                res, _, group = resource.partition(".")
                server = c.allowed(m["username"], groups, {"verb": verb, "resource": res,
                                   "group": group, "namespace": ns or ""})  # fmt: skip
                assert answer["allowed"] is server, (caller, verb, resource, ns, answer, server)
                compared += 1
        log(
            f"   can-i --live agrees with SubjectAccessReview on {compared} questions for dave "
            "and the SSO role's session alice (identities from the authenticator's mapper)"
        )


VERBS = (
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "escalate",
    "bind",
    "impersonate",
)
RESOURCES = (  # (group, resource, subresource, namespaced)
    ("", "pods", "", True),
    ("events.k8s.io", "events", "", True),  # view/edit since 1.x; builtin_rbac.yaml once lacked it
    ("resource.k8s.io", "resourceclaims", "", True),
    ("", "pods", "log", True),
    ("", "pods", "exec", True),
    ("", "secrets", "", True),
    ("", "configmaps", "", True),
    ("", "services", "", True),
    ("apps", "deployments", "", True),
    ("apps", "deployments", "scale", True),
    ("rbac.authorization.k8s.io", "roles", "", True),
    ("rbac.authorization.k8s.io", "rolebindings", "", True),
    ("", "namespaces", "", False),
    ("", "nodes", "", False),
    ("rbac.authorization.k8s.io", "clusterroles", "", False),
    ("", "users", "", False),
)
NAMESPACES = ("default", "payments", "payments-jobs", "apps", "data", "ml")


URL_PROBES = ("/healthz", "/version", "/metrics", "/api", "/apis/apps", "/logs/kubelet.log")
URL_VERBS = ("get", "post", "put", "delete", "head")


def queries(config: Any) -> list[tuple[str, Any]]:
    """Every question asked of one principal, with its kind: the fixed grid, requests for the
    named objects the config's rules name (every verb, named subresources, list and watch by
    name) and for a name they do not, non-resource URLs around the config's patterns, and the
    resources outside the grid that the rules name."""
    from eks_access import authz

    out: list[tuple[str, Any]] = []
    for verb in VERBS:
        for group, resource, sub, namespaced in RESOURCES:
            for ns in NAMESPACES if namespaced else ("",):
                out.append(("grid", authz.Request(verb, resource, group, sub, "", ns or None)))
    grid = {(r.group, r.resource, r.subresource) for _, r in out}
    urls = set(URL_PROBES)
    for team in config.teams:
        scoped = [(r, team.namespaces or ("default",)) for r in team.rules]
        scoped += [(r, ("",)) for r in team.cluster_rules]
        for rule, namespaces in scoped:
            for pattern in rule.non_resource_urls:
                stem = pattern.rstrip("*")
                urls |= {stem or "/", f"{stem}x/y", pattern.rstrip("/*") or "/", f"{stem}z"}
            for group in rule.api_groups:
                for res in rule.resources:
                    resource, _, sub = res.partition("/")
                    names = [*rule.resource_names, "someone-else"] if rule.resource_names else []
                    for ns in (*namespaces, "apps"):
                        for verb in VERBS:
                            for name in names:
                                req = authz.Request(verb, resource, group, sub, name, ns or None)
                                out.append(("named", req))
                            if (group, resource, sub) not in grid and not names:
                                req = authz.Request(verb, resource, group, sub, "", ns or None)
                                out.append(("other", req))
    for url in sorted(urls):
        for verb in URL_VERBS:
            out.append(("url", authz.Request(verb, path=url)))
    return out


def reset(c: Cluster, config: Any) -> None:
    """The cluster's aws-auth and RBAC as the config's plan writes them (what an earlier step
    applied is deleted first)."""
    from eks_access import awsauth, rbac
    from eks_access.principals import principals

    everyone = principals(config, "111122223333")
    c.kubectl(
        "delete",
        "rolebindings,roles",
        "-A",
        "-l",
        "app.kubernetes.io/managed-by=eks-access",
        "--wait=false",
    )
    c.kubectl(
        "delete",
        "clusterrolebindings,clusterroles",
        "-l",
        "app.kubernetes.io/managed-by=eks-access",
        "--wait=false",
    )
    data = awsauth.render(everyone, config.cluster.map_accounts)
    c.apply([awsauth.manifest(data)], awsauth.FIELD_MANAGER)
    objects = [o.manifest for o in rbac.all_objects(config.teams) if o.kind != "Namespace"]
    if objects:
        c.apply(objects, awsauth.FIELD_MANAGER)


def differential(c: Cluster, config: Any, label: str, counts: dict[str, int]) -> int:
    """Apply the config's aws-auth and RBAC; for every principal, the authenticator's mapper must
    give the identity ``eks_access`` predicts, and every question of :func:`queries` must get
    the same answer from `can-i` (eks_access.authz) and the API server."""
    from eks_access import authz
    from eks_access.principals import principals

    everyone = principals(config, "111122223333")
    node_arn = next(p.arn.arn for p in everyone if p.is_node)
    reset(c, config)
    state = authz.state_of(config)
    callers = [
        f"arn:aws:sts::{p.arn.account}:assumed-role/{p.arn.name}/e2e@example.com"
        if p.kind == "role"
        else p.arn.arn
        for p in everyone
        if not p.is_node
    ]
    mapped = c.authmap(node_arn, callers) if callers else []
    asked = queries(config)
    compared = allowed = 0
    for caller, answer in zip(callers, mapped, strict=True):
        ours = state.resolve(caller)
        assert answer["mapped"] and ours is not None, (label, caller, answer)
        # The authenticator's mapping and ours agree on the identity...
        # (eks_access lists system:authenticated, which the API server adds to every login)
        expected = (ours.username, set(ours.groups) - {"system:authenticated"})
        assert (answer["username"], set(answer.get("groups") or [])) == expected, (
            f"{label}: {caller}: authenticator {answer}, eks_access {ours}"
        )
        counts["identities"] = counts.get("identities", 0) + 1
        groups = [*(answer.get("groups") or []), "system:authenticated"]
        # ...and the API server and `can-i` agree on every question.
        for kind, req in asked:
            if req.path is not None:
                attrs = {"path": req.path, "verb": req.verb}
            else:
                attrs = {
                    "verb": req.verb,
                    "group": req.group,
                    "resource": req.resource,
                    "subresource": req.subresource,
                    "name": req.name,
                    "namespace": req.namespace or "",
                }
            server = c.allowed(answer["username"], groups, attrs)
            mine = state.can(caller, req)
            if server != mine:
                raise AssertionError(
                    f"{label}: disagreement for {caller} ({answer['username']}, {groups}): "
                    f"{req.describe()} ({kind}): API server {server}, can-i {mine}"
                )
            compared += 1
            allowed += server
            counts[kind] = counts.get(kind, 0) + 1
    log(f"   {label}: {len(callers)} principals, {compared} queries ({allowed} allowed), all equal")
    return compared


HOSTILE = {
    "aws:region": "us-east-1",
    "eks-access:cluster": {"name": "hostile", "nodeRoleArns": [NODE_ROLE_ARN]},
    "eks-access:teams": [
        {
            "name": "yes",
            "group": "off",
            "namespaces": ["apps"],
            "users": ["y", "on", "NO", "0777", "null", "2026-12-01", "0o17", "0X1F", "1_0"],
            "rules": [
                {"apiGroups": [""], "resources": ["pods/exec"], "resourceNames": ["y", "0777"],
                 "verbs": ["create"]},
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["n"],
                 "verbs": ["get", "list", "watch"]},
            ],
            "clusterRules": [{"nonResourceURLs": ["/healthz/*", "/metrics"], "verbs": ["get"]}],
        },
        {
            "name": "no",
            "group": "0x1F",
            "bindTo": "users",
            "users": [{"name": "n", "username": "~"}, {"name": "true1", "username": "1:20"}],
            "roles": [{"arn": "arn:aws:iam::111122223333:role/Y", "username": "NULL"}],
            "clusterRules": [{"apiGroups": ["example.com"], "resources": ["widgets/status"],
                              "resourceNames": ["on"], "verbs": ["update"]}],
        },
    ],
}  # fmt: skip
"""Names a YAML 1.1 reader (the authenticator's) takes for booleans, numbers, nulls and dates."""


def awake(c: Cluster, config: Any) -> None:
    """The comparison can fail: a can-i that forgets one grant disagrees with the server."""
    from eks_access import authz

    state = authz.state_of(config)
    state.grants = [g for g in state.grants if "test" not in g.via]  # drop the seed's Role
    caller = "arn:aws:iam::111122223333:user/eks_user"
    ident = state.resolve(caller)
    assert ident is not None
    attrs = {
        "verb": "create",
        "group": "",
        "resource": "pods",
        "subresource": "",
        "namespace": "default",
    }
    server = c.allowed(ident.username, [*ident.groups], attrs)
    mine = state.can(caller, authz.Request("create", "pods", "", "", "", "default"))
    assert server and not mine, (server, mine)
    log("   (control: can-i without the seed's Role disagrees with the server, as it must)")


EVE = "2026-12-24T23:59:00Z"
CHRISTMAS = "2026-12-25T00:00:00Z"


def expiry_scenario(c: Cluster, counts: dict[str, int]) -> int:
    """An end, as the API server and the authenticator see it: the dev stack with alice
    (payments, bound by group) and eks_user (seed, bound by username) until 2026-12-24, planned
    a minute before and at the end; each applied, each compared whole by ``differential``, and
    the two principals asked of directly."""
    from eks_access import authz, clock, stackfile
    from eks_access import config as core

    raw = stackfile.read(ROOT / "Pulumi.dev.yaml").raw
    for team in raw["eks-access:teams"]:
        for i, user in enumerate(team.get("users", [])):
            name = user if isinstance(user, str) else user["name"]
            if (team["name"], name) in (("payments", "alice"), ("seed", "eks_user")):
                entry = {"name": user} if isinstance(user, str) else dict(user)
                team["users"][i] = {**entry, "expires": "2026-12-24"}
    written = core.load_as_written(raw)
    alice, eks_user = (f"arn:aws:iam::111122223333:user/{n}" for n in ("alice", "eks_user"))
    node_arn = written.cluster.node_role_arns[0]
    list_pods = {"verb": "list", "group": "", "resource": "pods", "namespace": "payments"}
    create_pods = {"verb": "create", "group": "", "resource": "pods", "namespace": "default"}
    total = 0
    for at in (EVE, CHRISTMAS):
        config = core.in_effect(written, clock.at_value(at))
        total += differential(c, config, f"dev stack at {at}", counts)
        state = authz.state_of(config)
        mapped = dict(zip((alice, eks_user), c.authmap(node_arn, [alice, eks_user]), strict=True))
        ends = at == CHRISTMAS
        for arn, attrs in ((alice, list_pods), (eks_user, create_pods)):
            answer, ours = mapped[arn], state.resolve(arn)
            assert answer["mapped"] is not ends and (ours is None) is ends, (at, arn, answer, ours)
            req = authz.Request(attrs["verb"], "pods", "", "", "", attrs["namespace"])
            if not ends:
                groups = [*(answer.get("groups") or []), "system:authenticated"]
                server = c.allowed(answer["username"], groups, {**attrs, "subresource": ""})
                assert server and state.can(arn, req), (at, arn)
                continue
            assert not state.can(arn, req), (at, arn)  # can-i: no identity, no access
        if ends:
            # eks_user was bound by username: the binding no longer names it either, so even
            # its old identity is refused (alice's group binding stays, for the team's others).
            old = c.allowed("eks_user", ["system:authenticated"], create_pods)
            assert not old, "eks_user's username is still bound after its end"
            # alice's team is bound by group, and the group stays for its other members: her
            # old identity would still be allowed, so her end is the mapping's alone.
            group = ["eks-access:payments", "system:authenticated"]
            assert c.allowed("alice", group, {**list_pods, "subresource": ""})
            log(
                f"   at {at}: the mapper maps neither alice nor eks_user (their requests are "
                "unauthenticated) and can-i says no; eks_user's old identity is refused by "
                "SubjectAccessReview too (its binding no longer names it); alice's would not be "
                "(her team's group stays bound): her end is carried by the mapping"
            )
        else:
            log(
                f"   at {at}: alice may list pods in payments, eks_user may create pods in "
                "default (SubjectAccessReview and can-i agree)"
            )
    return total


def role_team_scenario(c: Cluster, counts: dict[str, int]) -> int:
    """``access: role``: the dev stack with payments as a role team, applied and compared whole;
    then each member's session, named after the IAM user as the trust policy requires, through
    the authenticator's mapper, and can-i (asked with the user's ARN) against
    SubjectAccessReview. A non-member's own ARN is mapped by nobody. Who may create a session
    of the role is IAM's to decide (the trust and the group's policy), not evaluated here."""
    from eks_access import authz, review, stackfile, team_roles
    from eks_access import config as core

    raw = stackfile.read(ROOT / "Pulumi.dev.yaml").raw
    payments = next(t for t in raw["eks-access:teams"] if t["name"] == "payments")
    payments.pop("roles")
    payments["access"] = "role"
    payments["users"].append("dana@example.com")  # '@' is written '-' in {{SessionName}}
    config = core.load(raw)
    total = differential(c, config, "dev stack, payments by role", counts)
    state = authz.state_of(config, "111122223333")
    role = team_roles.role_arn("aws", "111122223333", "dev", "payments")
    node_arn = config.cluster.node_role_arns[0]
    # each member and the username the authenticator must give its session (written out here,
    # not computed by the code under test)
    people = {"alice": "payments:alice", "bob": "payments:bob",
              "dana@example.com": "payments:dana-example.com"}  # fmt: skip
    sessions = [f"arn:aws:sts::{role.account}:assumed-role/{role.name}/{u}" for u in people]
    carol = "arn:aws:iam::111122223333:user/carol"  # an auditor, not in payments
    alice_own = "arn:aws:iam::111122223333:user/alice"
    *mapped, own, carol_mapped = c.authmap(node_arn, [*sessions, alice_own, carol])
    assert not own["mapped"], own  # alice is reached through the role only

    def compare(caller: str, answer: dict[str, Any]) -> int:
        groups = [*answer["groups"], "system:authenticated"]
        asked = 0
        for req in review.grid(["payments", "default"]):
            attrs = {"verb": req.verb, "group": req.group, "resource": req.resource,
                     "subresource": req.subresource, "namespace": req.namespace or ""}  # fmt: skip
            server = c.allowed(answer["username"], groups, attrs)
            mine = authz.answer(state, caller, req).allowed
            assert server == mine, (caller, req.describe(), server, mine)
            asked += 1
        return asked

    for (user, username), answer in zip(people.items(), mapped, strict=True):
        assert answer["mapped"] and answer["username"] == username, answer
        assert set(answer["groups"]) == {"eks-access:payments"}, answer
        total += compare(f"arn:aws:iam::111122223333:user/{user}", answer)
    # a non-member, as the cluster maps her: SubjectAccessReview refuses her what payments
    # may do, and can-i agrees on every request of the grid
    assert carol_mapped["mapped"] and "eks-access:payments" not in carol_mapped["groups"]
    create = {"verb": "create", "group": "", "resource": "pods", "subresource": "",
              "namespace": "payments"}  # fmt: skip
    carol_groups = [*carol_mapped["groups"], "system:authenticated"]
    assert not c.allowed(carol_mapped["username"], carol_groups, create)
    total += compare(carol, carol_mapped)
    log(
        "   the mapper maps alice's, bob's and dana@example.com's sessions of the team role to "
        "payments:alice, payments:bob and payments:dana-example.com in eks-access:payments; "
        "can-i asked with their user ARNs agrees with SubjectAccessReview; SubjectAccessReview "
        "refuses carol (not a member) what payments may do, as can-i does; alice's own ARN is "
        "mapped by nobody"
    )
    return total


def generated_configs(n: int) -> list[Any]:
    """Valid configs from the test suite's hypothesis strategy, fixed by a seed."""
    from hypothesis import HealthCheck, given, seed, settings

    from eks_access import config as core
    from tests.strategies import stack_configs

    found: list[Any] = []

    @seed(20261201)
    @settings(
        max_examples=n * 4, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(stack_configs(max_teams=3))
    def collect(raw: dict[str, Any]) -> None:
        teams = raw["eks-access:teams"]
        if len(found) < n and any(t.get("users") or t.get("roles") for t in teams):
            found.append(core.load(raw))

    collect()
    return found


@contextlib.contextmanager
def control_plane(keep: bool) -> Iterator[Cluster]:
    if os.environ.get("KUBECONFIG"):  # kind, minikube...: nothing to start or stop
        log(f"using the existing cluster of KUBECONFIG={os.environ['KUBECONFIG']}")
        yield Cluster(Path(os.environ["KUBECONFIG"]), None, None)
        return
    workdir = Path(tempfile.mkdtemp(prefix="eks-access-e2e-"))
    plane = ControlPlane(workdir)
    try:
        start = time.time()
        plane.start()
        log(
            f"etcd and kube-apiserver {KUBE_VERSION} ready on 127.0.0.1:{plane.port} "
            f"in {time.time() - start:.1f} s"
        )
        yield Cluster(plane.kubeconfig, plane.port, plane.token)
    finally:
        plane.stop()
        log("stopped etcd and kube-apiserver")
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


WARNING_PROBES = [
    (verb, target)
    for verb in ("get", "GET", "Get", "attest", "use", "bogus", "*")
    for target in ("pods", "Pods", "pod", "po", "podz", "deployments.apps", "deploy",
                   "Deployment", "deployments.v1.apps", "deployments.extensions", "cm", "nodes",
                   "csr", "users", "*", "leases.coordination.k8s.io", "/healthz")
]  # fmt: skip


def kubectl_warnings_check(c: Cluster) -> None:
    """can-i's warnings (eks_access.authz.request_warnings) against kubectl's own, on the same
    requests to the real API server; and data/api_resources.txt against the server's types."""
    from eks_access import authz

    served = set(c.kubectl("api-resources", "-o", "name").stdout.split())
    recorded = authz.api_resource_names()
    if served != recorded:
        raise SystemExit(
            f"eks_access/data/api_resources.txt differs from the server's api-resources: "
            f"missing {sorted(served - recorded)}, extra {sorted(recorded - served)}"
        )
    bad = []
    for verb, target in WARNING_PROBES:
        proc = c.kubectl("auth", "can-i", verb, target, check=False)
        theirs = [
            line.removeprefix("Warning: ").strip()
            for line in proc.stderr.splitlines()
            if line.startswith("Warning:")
        ]
        # kubectl asks in the kubeconfig's namespace, "default", when none is given
        req = authz.parse_request(verb, target, "default")
        ours = [w.split(" (", 1)[0] for w in authz.request_warnings(req)]
        if ours != theirs:
            bad.append(f"can-i {verb} {target}: kubectl warns {theirs}, we warn {ours}")
    if bad:
        raise SystemExit("can-i warnings differ from kubectl's:\n" + "\n".join(bad))
    log(f"can-i warnings: {len(WARNING_PROBES)} requests (short names, kinds, versions), the "
        "same warnings in the same order as kubectl v1.37.2")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plan", default=str(ROOT / "out" / "dev"), help="offline plan folder")
    parser.add_argument("--generated", type=int, default=4, help="generated configs to compare")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    parser.add_argument("--esc-drawn", type=int, default=300, help="drawn ESC environments")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    started = time.time()
    build()
    log(f"binaries ready in {time.time() - started:.0f} s ({BIN})")
    from eks_access import stackfile

    log("\n== ESC: the offline plan's resolution against ESC's own evaluator")
    from e2e import esc_check

    cases, drawn, problems = esc_check.check(
        BIN / "esceval", ROOT / "tests" / "fixtures" / "esc_cases.yaml", args.esc_drawn
    )
    if problems:
        raise SystemExit("ESC disagreements:\n" + "\n".join(problems[:20]))
    log(f"ESC: {cases} cases and {drawn} drawn environments evaluated by both, 0 disagreements")

    with control_plane(args.keep) as c:
        for ns in NAMESPACES:
            c.kubectl("create", "namespace", ns, check=False)
        seed_scenario(c, Path(args.plan))
        log("\n== 4. differential: can-i against the API server's SubjectAccessReview")
        from eks_access import config as core

        counts: dict[str, int] = {}
        dev = stackfile.read(ROOT / "Pulumi.dev.yaml").load()
        total = differential(c, dev, "dev stack", counts)
        awake(c, dev)
        total += differential(c, core.load(HOSTILE), "hostile names", counts)
        for i, config in enumerate(generated_configs(args.generated)):
            total += differential(c, config, f"generated config {i + 1}", counts)
        kinds = ", ".join(
            f"{kind} {counts.get(kind, 0)}" for kind in ("grid", "named", "url", "other")
        )
        log(
            f"\ndifferential check: {total} queries compared ({kinds}), {c.sar_count} answered "
            f"by the API server, 0 disagreements; {counts.get('identities', 0)} identities "
            "mapped by the authenticator as predicted"
        )
        log("\n== 4b. an end: the plan a minute before and at an expires, applied")
        expired = expiry_scenario(c, counts)
        log(f"   {expired} queries compared at the two times, 0 disagreements")
        log("\n== 4c. a team as one mapping (access: role)")
        by_role = role_team_scenario(c, counts)
        log(f"   {by_role} queries compared, 0 disagreements")
        kubectl_warnings_check(c)
        log("\n== 5. the live aws-auth preflight (plan --live of an export)")
        with tempfile.TemporaryDirectory(prefix="eks-access-live-") as work:
            live_preflight_scenario(c, Path(args.plan), Path(work))
        if c.token is not None:
            log("\n== 6. the cluster's answer: export, audit and can-i --live")
            with tempfile.TemporaryDirectory(prefix="eks-access-audit-") as work:
                audit_scenario(c, Path(work))
    log(f"make e2e passed in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
