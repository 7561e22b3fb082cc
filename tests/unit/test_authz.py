"""Access evaluation: Kubernetes RBAC semantics, EKS identity resolution, matrix, review."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from hypothesis import given, settings

from eks_access import arns, authz, review, stackfile
from eks_access import config as core
from tests.conftest import DEV, ROOT, minimal_raw
from tests.strategies import stack_configs

R = authz.parse_request


@pytest.mark.parametrize(
    ("rule", "request_", "allowed"),
    [
        ({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, R("get", "pods", "x"), True),
        (
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
            R("list", "pods", "x"),
            False,
        ),
        (
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
            R("get", "deployments.apps", "x"),
            False,
        ),
        (
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
            R("get", "deployments.apps", "x"),
            True,
        ),
        (
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            R("escalate", "roles.rbac.authorization.k8s.io", "x"),
            True,
        ),
        # Subresources are their own resources.
        (
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
            R("get", "pods", "x", "log"),
            False,
        ),
        (
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            R("get", "pods", "x", "log"),
            True,
        ),
        (
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
            R("get", "pods", "x"),
            False,
        ),
        (
            {"apiGroups": [""], "resources": ["*/log"], "verbs": ["get"]},
            R("get", "pods", "x", "log"),
            True,
        ),
        # resourceNames: compared with the request's name for every verb (checked against
        # kube-apiserver 1.37's SubjectAccessReview: shared/eks-access-facts.md section 7).
        (
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": ["a"],
                "verbs": ["get", "list"],
            },
            R("get", "secrets/a", "x"),
            True,
        ),
        (
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"], "verbs": ["get"]},
            R("get", "secrets/b", "x"),
            False,
        ),
        (
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": ["a"],
                "verbs": ["get", "list"],
            },
            R("list", "secrets", "x"),
            False,
        ),
        (
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": ["a"],
                "verbs": ["list"],
            },
            R("list", "secrets/a", "x"),  # a list filtered to one name
            True,
        ),
        (
            {"apiGroups": [""], "resources": ["pods"], "resourceNames": ["a"], "verbs": ["create"]},
            R("create", "pods/a", "x"),
            True,
        ),
        (
            {
                "apiGroups": [""],
                "resources": ["pods/exec"],
                "resourceNames": ["web-0"],
                "verbs": ["create"],
            },
            R("create", "pods/web-0", "x", "exec"),
            True,
        ),
        (
            {
                "apiGroups": [""],
                "resources": ["pods/exec"],
                "resourceNames": ["web-0"],
                "verbs": ["create"],
            },
            R("create", "pods/web-1", "x", "exec"),
            False,
        ),
        (
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": ["a"],
                "verbs": ["watch"],
            },
            R("watch", "configmaps", "x"),  # no name: the rule does not apply
            False,
        ),
        (
            {
                "apiGroups": [""],
                "resources": ["pods"],
                "resourceNames": ["a"],
                "verbs": ["deletecollection"],
            },
            R("deletecollection", "pods/a", "x"),
            True,
        ),
        # Non-resource URLs.
        ({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}, R("get", "/healthz"), True),
        ({"nonResourceURLs": ["/healthz"], "verbs": ["get"]}, R("get", "/healthz/etcd"), False),
        ({"nonResourceURLs": ["/healthz/*"], "verbs": ["get"]}, R("get", "/healthz/etcd"), True),
        ({"nonResourceURLs": ["*"], "verbs": ["*"]}, R("post", "/anything"), True),
        ({"nonResourceURLs": ["/api**"], "verbs": ["get"]}, R("get", "/apis"), True),
        ({"nonResourceURLs": ["/api/*"], "verbs": ["get"]}, R("get", "/api"), False),
        ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, R("get", "/healthz"), False),
        ({"nonResourceURLs": ["*"], "verbs": ["*"]}, R("get", "pods", "x"), False),
    ],
)
def test_rule_matching(rule, request_, allowed):
    assert authz.rule_allows(rule, request_) is allowed


def binding(kind, name, role_kind, role, subjects, ns=None):
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {
        "kind": kind,
        "metadata": meta,
        "roleRef": {"kind": role_kind, "name": role},
        "subjects": [{"kind": k, "name": n} for k, n in subjects],
    }


def state(objects):
    s = authz.State(grants=authz.rbac_grants(objects))
    s.identities["arn:aws:iam::111122223333:user/u"] = authz.Identity(
        "arn:aws:iam::111122223333:user/u",
        "arn:aws:iam::111122223333:user/u",
        "user",
        "u",
        frozenset({"g", authz.AUTHENTICATED}),
    )
    return s


U = "arn:aws:iam::111122223333:user/u"
CUSTOM = {
    "kind": "ClusterRole",
    "metadata": {"name": "c"},
    "rules": [{"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["get"]}],
}


def test_rolebinding_to_a_clusterrole_is_namespace_scoped():
    s = state([CUSTOM, binding("RoleBinding", "b", "ClusterRole", "c", [("Group", "g")], "a")])
    assert s.can(U, R("get", "pods", "a"))
    assert not s.can(U, R("get", "pods", "b"))
    assert not s.can(U, R("get", "nodes"))  # cluster-scoped: a RoleBinding cannot grant it


def test_clusterrolebinding_grants_everywhere_and_non_resource_urls():
    s = state([binding("ClusterRoleBinding", "b", "ClusterRole", "cluster-admin", [("User", "u")])])
    assert (
        s.can(U, R("delete", "nodes"))
        and s.can(U, R("get", "pods", "any"))
        and s.can(U, R("post", "/metrics"))
    )


def test_role_is_only_visible_in_its_namespace():
    role = {
        "kind": "Role",
        "metadata": {"name": "r", "namespace": "a"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    s = state([role, binding("RoleBinding", "b", "Role", "r", [("User", "u")], "b")])
    assert not s.can(
        U, R("get", "pods", "b")
    )  # the binding in b points at a Role that exists only in a


def test_builtin_presets_and_default_bindings():
    s = state(
        [
            binding("RoleBinding", "v", "ClusterRole", "view", [("Group", "g")], "a"),
            binding("RoleBinding", "e", "ClusterRole", "edit", [("Group", "g")], "b"),
            binding("RoleBinding", "ad", "ClusterRole", "admin", [("Group", "g")], "c"),
        ]
    )
    assert s.can(U, R("list", "pods", "a")) and not s.can(U, R("get", "secrets", "a"))
    assert s.can(U, R("get", "secrets", "b")) and s.can(U, R("create", "pods", "b", "exec"))
    assert s.can(U, R("list", "pods", "b"))  # edit includes view
    assert not s.can(U, R("create", "rolebindings.rbac.authorization.k8s.io", "b"))
    assert s.can(U, R("create", "rolebindings.rbac.authorization.k8s.io", "c"))  # admin
    assert s.can(U, R("get", "deployments.apps", "c"))  # admin includes edit includes view
    assert s.can(U, R("get", "/healthz")) and not s.can(U, R("get", "/metrics"))  # system:discovery
    assert not s.can("arn:aws:iam::111122223333:user/stranger", R("get", "/healthz"))


def test_dev_stack_seed_outcomes_and_sso_sessions(dev_config):
    s = authz.state_of(dev_config)
    eks_user = "arn:aws:iam::111122223333:user/eks_user"
    assert s.can(eks_user, R("list", "pods", "default"))
    assert not s.can(eks_user, R("list", "pods", "kube-system"))
    assert not s.can(eks_user, R("watch", "pods", "default"))  # the seed grants no watch
    sso = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_PaymentsDev_0123456789abcdef/jane@example.com"
    assert s.resolve(sso).username == "payments-sso:jane-example.com"  # @ becomes -, path ignored
    assert s.can(sso, R("create", "deployments.apps", "payments"))
    assert not s.can(sso, R("create", "deployments.apps", "default"))
    platform = "ARN:AWS:IAM::111122223333:ROLE/PLATFORM-ADMIN".lower()
    assert s.can(platform, R("delete", "nodes"))


def test_access_policies_count_in_access_entry_modes():
    raw = minimal_raw(
        **{
            "eks-access:teams": [
                {
                    "name": "a",
                    "namespaces": ["x"],
                    "users": ["u"],
                    "accessPolicies": [{"policy": "view"}],
                }
            ]
        }
    )
    raw["eks-access:cluster"].update(authenticationMode="API_AND_CONFIG_MAP")
    s = authz.state_of(core.load(raw))
    assert s.can(U, R("list", "pods", "x")) and not s.can(U, R("list", "pods", "y"))


def test_can_i_and_who_can_commands(invoke):
    yes = invoke(
        "can-i",
        "list",
        "pods",
        "-n",
        "default",
        "--as",
        "arn:aws:iam::111122223333:user/eks_user",
        "--config-file",
        str(DEV),
    )
    assert (yes.returncode, yes.stdout) == (0, "yes\n")
    no = invoke(
        "can-i",
        "list",
        "pods",
        "-n",
        "kube-system",
        "--as",
        "arn:aws:iam::111122223333:user/eks_user",
        "--config-file",
        str(DEV),
    )
    assert (no.returncode, no.stdout) == (1, "no\n")
    why = invoke(
        "can-i",
        "-v",
        "list",
        "pods",
        "-n",
        "default",
        "--as",
        "arn:aws:iam::111122223333:user/eks_user",
        "--config-file",
        str(DEV),
    )
    assert "via RoleBinding default/test -> Role test" in why.stderr
    unmapped = invoke(
        "can-i",
        "get",
        "/healthz",
        "--as",
        "arn:aws:iam::111122223333:user/nobody",
        "--config-file",
        str(DEV),
    )
    assert unmapped.returncode == 1 and "not mapped" in unmapped.stderr
    who = invoke(
        "who-can",
        "create",
        "pods",
        "--subresource",
        "exec",
        "-n",
        "payments",
        "--config-file",
        str(DEV),
    )
    header, *lines = who.stdout.splitlines()
    assert header == "PRINCIPAL\tUSERNAME\tGRANTED BY"
    assert {line.split("\t")[1] for line in lines} == {
        "alice",
        "bob",
        "payments-sso:{{SessionName}}",
        "platform-admin:{{SessionName}}",
    }


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_review_on_a_scripted_history(tmp_path, invoke):
    repo = tmp_path
    (repo / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    stack = repo / "Pulumi.dev.yaml"
    doc = yaml.safe_load(DEV.read_text())
    git(repo, "init", "-q")
    git(
        repo,
        "-c",
        "user.email=t@t",
        "-c",
        "user.name=t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "root",
    )

    def commit(msg):
        stack.write_text(yaml.safe_dump(doc, sort_keys=False))
        git(repo, "add", "-A")
        git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", msg)

    commit("base")
    teams = doc["config"]["eks-access:teams"]
    teams[2]["users"].append("dave")  # add a user to the view-only auditors
    commit("add dave")
    r = invoke(
        "review", "--base", "HEAD~1", "--config-file", str(stack), "--format", "json", cwd=repo
    )
    out = yaml.safe_load(r.stdout)
    assert {c["username"] for c in out["changes"]} == {"dave"}
    assert all(c["change"] == "gains" and "secrets" not in c["permission"] for c in out["changes"])
    assert out["resourceCounts"]["IAM users"] == {"before": 4, "after": 5}

    teams[0]["rules"][0]["verbs"].append("watch")  # widen the seed's rule
    del teams[3]  # remove the platform team
    commit("widen and remove")
    r = invoke(
        "review", "--base", "HEAD~1", "--config-file", str(stack), "--format", "json", cwd=repo
    )
    out = yaml.safe_load(r.stdout)
    gains = {(c["username"], c["permission"]) for c in out["changes"] if c["change"] == "gains"}
    assert gains == {
        ("eks_user", "watch pods in namespace default"),
        ("eks_user", "watch secrets in namespace default"),
        ("eks_user", "watch configmaps in namespace default"),
        ("eks_user", "watch services in namespace default"),
        ("eks_user", "watch serviceaccounts in namespace default"),
    }
    losers = {c["username"] for c in out["changes"] if c["change"] == "loses"}
    assert losers == {"platform-admin:{{SessionName}}"}
    assert out["clusterAdmins"]["lost"] == ["arn:aws:iam::111122223333:role/platform-admin"]
    assert out["changes"][0]["risk"] == "RBAC escalation"  # riskiest first
    md = invoke("review", "--base", "HEAD~1", "--config-file", str(stack), cwd=repo).stdout
    top = md.split("<details>")[0].splitlines()
    read = stackfile.read(stack)
    heading = f"## Access review: {read.load().cluster.name} (stack {read.stack})"
    assert top[0] == heading and "> :warning: reads or writes Secrets: eks_user" in top
    assert "- platform-admin (team platform, removed): loses cluster-admin cluster-wide" in top
    assert "- eks_user (team seed): gains watch configmaps, watch pods and 3 more in default" in top


def test_review_against_a_ref_without_the_file_shows_everything_as_gained(tmp_path, invoke):
    repo = tmp_path
    (repo / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    git(repo, "init", "-q")
    git(
        repo,
        "-c",
        "user.email=t@t",
        "-c",
        "user.name=t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "root",
    )
    (repo / "Pulumi.dev.yaml").write_text(DEV.read_text())
    out = yaml.safe_load(
        invoke(
            "review",
            "--base",
            "HEAD",
            "--config-file",
            str(repo / "Pulumi.dev.yaml"),
            "--format",
            "json",
            cwd=repo,
        ).stdout
    )
    assert out["changes"] and all(c["change"] == "gains" for c in out["changes"])


def test_review_rejects_an_unknown_ref(tmp_path, invoke):
    r = invoke("review", "--base", "no-such-ref", "--config-file", str(DEV))
    assert r.returncode == 2 and "'no-such-ref' is not a commit" in r.stderr


def test_access_command_json(dev_config):
    doc = review.access_json(dev_config)
    admin = {d["principal"]: d["clusterAdmin"] for d in doc}
    assert admin["arn:aws:iam::111122223333:role/platform-admin"] is True
    assert admin["arn:aws:iam::111122223333:user/eks_user"] is False
    assert stackfile.read(DEV).load() == dev_config


def test_can_i_warns_as_kubectl_does_and_reads_the_type_as_kubectl_does() -> None:
    """kubectl lower-cases the type and warns on an unknown verb or type (make e2e compares the
    words with kubectl's own on a real API server); RBAC never matches ``GET``."""
    req = authz.parse_request("GET", "Pods", "payments")
    assert (req.verb, req.resource) == ("GET", "pods")
    for alias in ("pod", "po", "Pod"):
        assert authz.parse_request("get", alias).resource == "pods"
    for alias in ("deploy", "Deployment", "deployments.v1.apps", "deployments"):
        req_ = authz.parse_request("get", alias)
        assert (req_.resource, req_.group) == ("deployments", "apps"), alias
    assert authz.request_warnings(authz.parse_request("list", "nodes", "payments")) == [
        "resource 'nodes' is not namespace scoped"
    ]
    assert authz.request_warnings(req) == [
        "verb 'GET' is not a known verb (RBAC verbs are lower-case: 'get')"
    ]
    assert authz.request_warnings(authz.parse_request("get", "deployments")) == []
    assert authz.request_warnings(authz.parse_request("attest", "pods")) == []
    podz = authz.request_warnings(authz.parse_request("get", "podz"))
    assert podz == ["the server doesn't have a resource type 'podz' (not a Kubernetes type, nor "
                    "named by a rule of this stack)"]  # fmt: skip
    crd = authz.parse_request("get", "widgets.example.com")
    assert authz.request_warnings(crd) != []
    assert (
        authz.request_warnings(crd, [{"resources": ["widgets"], "apiGroups": ["example.com"]}])
        == []
    )
    assert authz.request_warnings(authz.parse_request("POST", "/healthz")) == [
        "verb 'POST' is not a known verb (RBAC verbs are lower-case: 'post')"
    ]


def test_the_cli_prints_the_warnings_on_stderr_once(invoke) -> None:
    r = invoke("can-i", "GET", "Pods", "-n", "payments", "--as",
               "arn:aws:iam::111122223333:user/alice", "--config-file", str(DEV))  # fmt: skip
    assert r.returncode == 1 and r.stdout.strip() == "no"
    assert r.stderr.count("Warning: verb 'GET' is not a known verb") == 1


def test_the_answer_is_decided_in_the_core_once():
    """can-i's decision (yes, no, unknown) and its note, in one place the command prints."""
    from eks_access.config import load

    raw = yaml.safe_load(DEV.read_text())["config"]
    state = authz.state_of(load(raw))
    alice = "arn:aws:iam::111122223333:user/alice"
    yes = authz.answer(state, alice, authz.parse_request("list", "pods", "payments"))
    assert (yes.allowed, yes.word) == (True, "yes") and yes.grants
    no = authz.answer(state, alice, authz.parse_request("list", "pods", "kube-system"))
    assert (no.allowed, no.word) == (False, "no") and not no.grants
    node = authz.answer(state, "arn:aws:iam::111122223333:role/eks-node-group",
                        authz.parse_request("get", "nodes"))  # fmt: skip
    assert (node.allowed, node.word) == (None, "unknown") and "Node authorizer" in str(node.note)
    stranger = authz.answer(state, "arn:aws:iam::111122223333:user/mallory",
                            authz.parse_request("get", "pods", "default"))  # fmt: skip
    assert stranger.allowed is False and "not mapped" in str(stranger.note)
    assert yes.to_json("the config")["via"] == [g.via for g in yes.grants]


def test_who_can_is_decided_in_the_core_and_agrees_with_can_i():
    """who-can's rows are exactly the principals can-i says yes to, each grant named."""
    from eks_access.config import load

    state = authz.state_of(load(yaml.safe_load(DEV.read_text())["config"]))
    for verb, resource, ns in (
        ("list", "pods", "payments"),
        ("delete", "pods", "kube-system"),
        ("get", "secrets", "default"),
        ("create", "deployments.apps", None),
    ):
        req = authz.parse_request(verb, resource, ns)
        found = authz.who_can(state, req)
        yes = {i.arn for i in state.identities.values() if authz.answer(state, i.arn, req).grants}
        assert {i.arn for i, _ in found.granted} == yes, (verb, resource, ns)
        assert all(g.applies(req) for _, g in found.granted)
        assert not found.unknown  # the dev stack holds no access policy of unknown rules
    alice = "arn:aws:iam::111122223333:user/alice"
    assert alice in {i.arn for i, _ in authz.who_can(
        state, authz.parse_request("list", "pods", "payments")).granted}  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(stack_configs(max_teams=4))
def test_every_identity_the_matrix_lists_is_the_one_can_i_finds(raw):
    """The matrix and the review are keyed by the state's identities; can-i (and who-can) find
    a caller by its ARN (``State.resolve``, the authenticator's lookup): each identity's own
    ARN must lead back to it, with its username and groups."""
    state = authz.state_of(core.load(raw))
    for key, ident in review.matrix(state).items():
        found = state.resolve(ident.identity.arn)
        if key in state.people:  # an access: role team's member: not mapped itself, it is
            # found through the team role's session under its own name, as can-i answers it
            sessions = state.assumes[arns.caller_key(ident.identity.arn)]
            seen = {(f.username, f.groups) for s in sessions if (f := state.resolve(s))}
            assert (ident.identity.username, ident.identity.groups) in seen, key
            continue
        assert found is not None, key
        assert (found.arn.lower(), found.groups) == (
            ident.identity.arn.lower(),
            ident.identity.groups,
        )
        if "{{" not in ident.identity.username:  # a template is filled from the caller
            assert found.username == ident.identity.username, key
