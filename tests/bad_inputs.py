"""The bad-input corpus: malformed stack files and command lines, each with the exit code and a
fragment of the one-line message a user must get (``tests/cli/test_bad_input.py`` runs them).

Stack files are built from one valid config with one mistake each, so every entry tests one
thing; the YAML-level ones are raw text.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

ACCT = "111122223333"
NODE = f"arn:aws:iam::{ACCT}:role/eks-node-group"
ROLE = f"arn:aws:iam::{ACCT}:role/admin"
VALID: dict[str, Any] = {
    "aws:region": "us-east-1",
    "eks-access:cluster": {"name": "dev", "nodeRoleArns": [NODE]},
    "eks-access:teams": [
        {"name": "payments", "namespaces": ["payments"], "namespaceAccess": "edit",
         "users": [{"name": "alice", "keys": ["v1"]}, "bob"]},
        {"name": "ops", "clusterAccess": "view", "roles": [{"arn": ROLE, "username": "admin"}]},
    ],
}  # fmt: skip


@dataclass(frozen=True)
class BadStack:
    name: str
    text: str
    code: int
    fragment: str
    files: dict[str, str] = field(default_factory=dict)
    """Other files of the project (a teams file), by name."""


def _text(config: dict[str, Any]) -> str:
    return yaml.safe_dump({"config": config}, sort_keys=False)


def edit(fn: Callable[[dict[str, Any]], None]) -> str:
    config = copy.deepcopy(VALID)
    fn(config)
    return _text(config)


def team(i: int, **fields: Any) -> Callable[[dict[str, Any]], None]:
    def apply(config: dict[str, Any]) -> None:
        for k, v in fields.items():
            if v is None:
                config["eks-access:teams"][i].pop(k, None)
            else:
                config["eks-access:teams"][i][k] = v

    return apply


def cluster(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def apply(config: dict[str, Any]) -> None:
        for k, v in fields.items():
            if v is None:
                config["eks-access:cluster"].pop(k, None)
            else:
                config["eks-access:cluster"][k] = v

    return apply


def top(**keys: Any) -> Callable[[dict[str, Any]], None]:
    def apply(config: dict[str, Any]) -> None:
        for k, v in keys.items():
            key = k.replace("__", ":").replace("_", "-") if "__" in k else k
            if v is None:
                config.pop(key, None)
            else:
                config[key] = v

    return apply


def user(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return team(0, users=[{"name": "alice", **fields}])


def rule(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return team(0, rules=[{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"], **fields}])


def stacks() -> list[BadStack]:
    s = BadStack
    out = [
        # --- the file itself ---------------------------------------------------------------------
        s("tab indentation", "config:\n\taws:region: us-east-1\n", 2, "cannot be read"),
        s("unclosed bracket", "config:\n  eks-access:teams: [\n", 2, "cannot be read"),
        s("duplicate key", "config:\n  aws:region: a\n  aws:region: b\n", 2, "defined again"),
        s("two documents", "config: {}\n---\nconfig: {}\n", 2, "cannot be read"),
        s("a list, not a mapping", "- config\n", 2, "expected a mapping with a 'config'"),
        s("config is a list", "config: [1, 2]\n", 2, "expected a mapping with a 'config'"),
        s("python tag", "config:\n  aws:region: !!python/name:os.system\n", 2, "cannot be read"),
        s("binary value", "config:\n  aws:region: !!binary aGk=\n", 2, "cannot be stack config"),
        s("non-text key", "config:\n  1: x\n", 2, "is not a string"),
        s("empty file", "", 2, "aws:region: required"),
        # --- top-level keys ----------------------------------------------------------------------
        s("no region", edit(top(**{"aws:region": None})), 2, "aws:region: required"),
        s("unknown region", edit(top(**{"aws:region": "us-east-9"})), 2, "'us-east-9' is not an AWS region"),
        s("region as a number", edit(top(**{"aws:region": 5})), 2, "is not an AWS region"),
        s("no cluster", edit(top(**{"eks-access:cluster": None})), 2, "eks-access:cluster: required"),
        s("misspelt key", edit(top(**{"eks-access:team": []})), 2, "did you mean 'eks-access:teams'"),
        s("misspelt namespace", edit(top(**{"eks-acess:teams": []})), 2, "unknown config namespace 'eks-acess'"),
        s("teams not a list", edit(top(**{"eks-access:teams": "payments"})), 2, "expected a list, got the text 'payments'"),
        s("cluster not a mapping", edit(top(**{"eks-access:cluster": "dev"})), 2, "expected a mapping of keys"),
        s("pgpKey not a key", edit(top(**{"eks-access:pgpKey": "not a key!!"})), 2, "neither keybase:NAME nor a base64 OpenPGP"),
        s("pgpKey bad keybase", edit(top(**{"eks-access:pgpKey": "keybase:a b"})), 2, "is not a Keybase user"),
        s("pgpKey base64 of text", edit(top(**{"eks-access:pgpKey": "aGVsbG8gd29ybGQ="})), 2, "base64 OpenPGP public key"),
        s("acknowledgeLockout not a boolean", edit(top(**{"eks-access:acknowledgeLockout": "sure"})), 2, "expected true or false"),
        s("identity mode", edit(top(**{"eks-access:identity": {"mode": "shared", "account": ACCT}})), 2, "expected one of"),
        s("reference without stack", edit(top(**{"eks-access:identity": {"mode": "reference", "account": ACCT}})), 2, "needs 'stack'"),
        s("identity account", edit(top(**{"eks-access:identity": {"mode": "handover", "account": "12", "stack": "a/b/c"}})), 2, "eks-access:identity.account"),
        s("teams file missing", edit(top(**{"eks-access:teamsFile": "teams.yaml", "eks-access:teams": None})), 2, "not a file inside the project"),
        s("teams file outside", edit(top(**{"eks-access:teamsFile": "../teams.yaml", "eks-access:teams": None})), 2, "not a file inside the project"),
        s("teams file without teams", edit(top(**{"eks-access:teamsFile": "shared.yaml", "eks-access:teams": None})), 2, "expected a mapping with a 'teams' list", {"shared.yaml": "users: []\n"}),
        s("teams file with other keys", edit(top(**{"eks-access:teamsFile": "all-teams.yaml", "eks-access:teams": None})), 2, "unknown top-level key(s) eks-access:teamsFile", {"all-teams.yaml": "teams: []\neks-access:teamsFile: other.yaml\n"}),
        s("one existing user, two ARNs", edit(team(0, existingUsers=[f"arn:aws:iam::{ACCT}:user/ops/Carol", f"arn:aws:iam::{ACCT}:user/carol"])), 2, "name one IAM user"),
        s("pgpKey as a secret", edit(top(**{"eks-access:pgpKey": {"secure": "v1:abc"}})), 2, "a secret value (secure: or fn::secret); this setting is not secret"),
        s("override with a bad value", edit(top(**{"eks-access:teamOverrides": {"payments": {"namespaceAccess": "viewer"}}})), 2, "eks-access:teamOverrides.payments.namespaceAccess: "),
        s("override of no team", edit(top(**{"eks-access:teamOverrides": {"payment": {"namespaceAccess": "view"}}})), 2, "no team 'payment'; did you mean 'payments'"),
        s("override not a mapping", edit(top(**{"eks-access:teamOverrides": ["payments"]})), 2, "expected a mapping of team name"),
        s("override with a list as a team name", edit(lambda c: (team(0, name=["payments"])(c), top(**{"eks-access:teamOverrides": {"payments": {"namespaceAccess": "view"}}})(c))), 2, "teams[0].name"),
        s("non-ASCII user name", edit(team(0, users=["ﬁlip"])), 2, "is not an IAM user name"),
        s("non-ASCII role name", edit(team(1, roles=[{"arn": f"arn:aws:iam::{ACCT}:role/rôle", "username": "r"}])), 2, "is not an IAM role ARN"),
        s("permission set name with a wildcard", edit(team(1, permissionSets=["Dev*"])), 2, "is not a permission set name"),
        s("permission set not a list", edit(team(1, permissionSets="Dev")), 2, "for example `permissionSets: [{name: PaymentsDev"),
        s("permission sets spelled twice", edit(team(1, permissionSets=["Dev", "dev"])), 2, "IAM compares role names ignoring case"),
        # --- the cluster -------------------------------------------------------------------------
        s("cluster name", edit(cluster(name="my cluster")), 2, "is not an EKS cluster name"),
        s("no node roles", edit(cluster(nodeRoleArns=None)), 2, "cluster.nodeRoleArns: required"),
        s("node role is a user", edit(cluster(nodeRoleArns=[f"arn:aws:iam::{ACCT}:user/n"])), 2, "an IAM role ARN is needed"),
        s("node role in aws-cn", edit(cluster(nodeRoleArns=[f"arn:aws-cn:iam::{ACCT}:role/n"])), 2, "is in partition 'aws-cn'"),
        s("node roles in two accounts", edit(cluster(nodeRoleArns=[NODE, "arn:aws:iam::444455556666:role/n"])), 2, "node role in account 444455556666"),
        s("node role twice", edit(cluster(nodeRoleArns=[NODE, NODE])), 2, "is listed already"),
        s("node role upper-case ARN", edit(cluster(nodeRoleArns=[NODE.upper()])), 2, "is not an IAM role ARN"),
        s("authentication mode", edit(cluster(authenticationMode="IAM")), 2, "expected one of"),
        s("API without node entries", edit(cluster(authenticationMode="API")), 2, "nodeAccessEntries: required in API mode"),
        s("node entries in CONFIG_MAP", edit(cluster(nodeAccessEntries="create")), 2, "only used with access entries"),
        s("mapAccounts", edit(cluster(mapAccounts=["12345"])), 2, "cluster.mapAccounts[0]"),
        s("mapAccounts in API mode", edit(cluster(authenticationMode="API", nodeAccessEntries="create", mapAccounts=[ACCT])), 2, "cluster.mapAccounts: an aws-auth setting"),
        s("creator not an ARN", edit(cluster(creatorPrincipalArn="admin")), 2, "is not an IAM user or role ARN"),
        s("create node count", edit(cluster(create={"nodeCount": 500})), 2, "cluster.create.nodeCount"),
        s("windows role is a user", edit(cluster(windowsNodeRoleArns=[f"arn:aws:iam::{ACCT}:user/w"])), 2, "an IAM role ARN is needed"),
        s("unknown cluster key", edit(cluster(nodeRoles=[NODE])), 2, "did you mean 'nodeRoleArns'"),
        # --- teams -------------------------------------------------------------------------------
        s("team name", edit(team(0, name="Payments_Team")), 2, "is not a DNS-1123 label"),
        s("team twice", edit(team(1, name="payments")), 2, "is defined at teams[0].name too"),
        s("reserved group", edit(team(0, group="system:masters")), 2, "reserved prefix 'system:'"),
        s("one group, two teams", edit(team(1, group="eks-access:payments")), 2, "is used by teams[0].group too"),
        s("namespace name", edit(team(0, namespaces=["Bad_NS"])), 2, "'Bad_NS' is not a DNS-1123 label"),
        s("namespace twice", edit(team(0, namespaces=["payments", "payments"])), 2, "'payments' is listed twice"),
        s("creates default", edit(team(0, namespaces=["default"], createNamespaces=True)), 2, "exists in every cluster"),
        s("namespace created twice", edit(lambda c: (team(0, createNamespaces=True)(c), team(1, namespaces=["payments"], createNamespaces=True)(c))), 2, "is created by teams[0]"),
        s("namespaceAccess value", edit(team(0, namespaceAccess="write")), 2, "expected one of"),
        s("namespaceAccess without namespaces", edit(team(0, namespaces=None)), 2, "needs at least one namespace"),
        s("rule without verbs", edit(rule(verbs=[])), 2, "must not be empty"),
        s("rule verb typo", edit(rule(verbs=["gett"])), 2, "unknown verb 'gett'; did you mean 'get'"),
        s("HTTP verb on resources", edit(rule(verbs=["post"])), 2, "known verbs for resources"),
        s("resources without apiGroups", edit(team(0, rules=[{"resources": ["pods"], "verbs": ["get"]}])), 2, "'resources' need 'apiGroups'"),
        s("resources and URLs", edit(rule(nonResourceURLs=["/healthz"])), 2, "not both"),
        s("URL in a namespaced rule", edit(team(0, rules=[{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}])), 2, "move this rule to clusterRules"),
        s("roleName without rules", edit(team(0, roleName="custom")), 2, "no rules; add rules or remove roleName"),
        s("clusterAccess value", edit(team(1, clusterAccess="root")), 2, "expected one of"),
        s("bindTo value", edit(team(0, bindTo="people")), 2, "expected one of"),
        s("mapGroup false with a group", edit(team(0, mapGroup=False, group="g")), 2, "mapGroup: false maps"),
        s("mapGroup false bound by group", edit(team(0, mapGroup=False)), 2, "set bindTo: users"),
        s("renamedFrom a team in use", edit(team(0, renamedFrom="ops")), 2, "is the name of a team in this config"),
        s("renamedFrom not a label", edit(team(0, renamedFrom="Old Name")), 2, "is not a DNS-1123 label"),
        s("a 5,000-character name", edit(team(0, name="x" * 5000)), 2, "(5000 characters)"),
        s("unknown team key", edit(team(0, accessPolicy=[])), 2, "did you mean 'accessPolicies'"),
        # --- users -------------------------------------------------------------------------------
        s("user name chars", edit(user(name="alice smith")), 2, "is not an IAM user name"),
        s("user path", edit(user(path="eng")), 2, "is not an IAM path"),
        s("reserved username", edit(user(username="eks:alice")), 2, "reserved prefix 'eks:'"),
        s("unknown user template", edit(user(username="{{SessionName}}")), 2, "unknown template {{SessionName}} for a user"),
        s("three keys", edit(user(keys=["a", "b", "c"])), 2, "at most 2 access keys"),
        s("a key twice", edit(user(keys=["v1", "v1"])), 2, "key generation 'v1' is listed twice"),
        s("key label", edit(user(keys=["V1!"])), 2, "is not a key generation label"),
        s("keys not a list", edit(user(keys="v1")), 2, "expected a list, got the text 'v1'; for example `keys: [2026-11]`"),
        s("user pgpKey", edit(user(pgpKey="abc")), 2, "base64 OpenPGP public key"),
        s("empty username", edit(user(username=" ")), 2, "the username is empty"),
        s("user defined twice", edit(team(1, users=[{"name": "alice", "keys": ["v2"]}])), 2, "is defined at teams[0].users[0] with other settings"),
        s("names that differ in case", edit(team(1, users=["Alice"])), 2, "IAM names ignore case"),
        s("user twice in a team", edit(team(0, users=["bob", "bob"])), 2, "is listed twice in this team"),
        s("user in eleven teams", edit(lambda c: c.__setitem__("eks-access:teams", [{"name": f"t{i}", "users": ["alice"]} for i in range(11)])), 2, "more than 10 team groups"),
        # --- existing users and roles ------------------------------------------------------------
        s("existing user is a role", edit(team(0, existingUsers=[ROLE])), 2, "an IAM user ARN is needed"),
        s("existing user also created", edit(team(0, existingUsers=[f"arn:aws:iam::{ACCT}:user/ALICE"])), 2, "IAM names ignore case"),
        s("role is a user", edit(team(1, roles=[f"arn:aws:iam::{ACCT}:user/x"])), 2, "an IAM role ARN is needed"),
        s("role in aws-us-gov", edit(team(1, roles=[{"arn": f"arn:aws-us-gov:iam::{ACCT}:role/x", "username": "x"}])), 2, "is in partition 'aws-us-gov'"),
        s("role template", edit(team(1, roles=[{"arn": ROLE, "username": "{{Session}}"}])), 2, "unknown template {{Session}}"),
        s("role two usernames", edit(team(0, roles=[{"arn": ROLE, "username": "other"}])), 2, "a principal has one username"),
        s("node role in a team", edit(team(1, roles=[{"arn": NODE, "username": "n"}])), 2, "is a node role"),
        s("template bound by username", edit(team(1, bindTo="users", roles=[{"arn": ROLE, "username": "a:{{SessionName}}"}])), 2, "which a RoleBinding cannot name"),
        # --- access policies ---------------------------------------------------------------------
        s("policies in CONFIG_MAP", edit(team(0, accessPolicies=[{"policy": "view"}])), 2, "EKS access policies need access entries"),
        s("policy name", edit(lambda c: (cluster(authenticationMode="API_AND_CONFIG_MAP")(c), team(0, accessPolicies=[{"policy": "reader"}])(c))), 2, "expected one of"),
        s("policy twice", edit(lambda c: (cluster(authenticationMode="API_AND_CONFIG_MAP")(c), team(0, accessPolicies=[{"policy": "view"}, {"policy": "view"}])(c))), 2, "is listed twice"),
        s("cluster scope with namespaces", edit(lambda c: (cluster(authenticationMode="API_AND_CONFIG_MAP")(c), team(0, accessPolicies=[{"policy": "view", "scope": "cluster", "namespaces": ["a"]}])(c))), 2, "cluster scope takes no namespaces"),
        s("creator in a team", edit(lambda c: (cluster(authenticationMode="API_AND_CONFIG_MAP", creatorPrincipalArn=ROLE)(c))), 2, "is the cluster creator"),
        s("one problem, said once", edit(team(0, name="Bad_Name")), 2, "(1 problem)"),
        # --- names a reviewer cannot tell apart (UTS #39, ICU's spoof checker) --------------------
        s("username mixing scripts", edit(user(username="\u0430lice")), 2, "mixes scripts (Cyrillic, Latin)"),
        s("username padded", edit(user(username="alice ")), 2, "has leading or trailing whitespace"),
        s("group padded before a reserved prefix", edit(team(1, group=" system:masters")), 2, "has leading or trailing whitespace"),
        s("group mixing scripts", edit(team(1, group="\u03bfps")), 2, "mixes scripts (Greek, Latin)"),
        s("usernames confusable across scripts", edit(team(0, users=[{"name": "alice", "username": "\u0430\u0441\u0435"}, {"name": "bob", "username": "ace"}])), 2, "looks like"),
        s("usernames confusable in one script", edit(team(0, users=["bob1", "bobl"])), 2, "'bobl' looks like 'bob1'"),
        s("groups confusable", edit(lambda c: (team(0, group="ops-rn")(c), team(1, group="ops-m")(c))), 2, "Kubernetes group 'ops-m' looks like 'ops-rn'"),
        s("username with a zero-width space", edit(user(username="ali\u200bce")), 2, "control or invisible character"),
        # --- ESC, resolved offline as ESC does, or refused -------------------------------------
        s("ESC environment as a bare name", "environment: shared\n" + edit(lambda c: None), 2, "expected a list of environment names", {"esc/shared.yaml": "values: {}\n"}),
        s("ESC import without a file", "environment: [nowhere]\n" + edit(lambda c: None), 2, "environment 'nowhere' has no local file"),
        s("ESC provider function", "environment: [creds]\n" + edit(lambda c: None), 2, "fn::open::aws-login is evaluated only by Pulumi ESC", {"esc/creds.yaml": "values:\n  c: {fn::open::aws-login: {}}\n"}),
        s("ESC unknown reference", "environment: [refs]\n" + edit(lambda c: None), 2, "${res}: unknown property", {"esc/refs.yaml": "values:\n  pulumiConfig:\n    eks-access:pgpKey: ${res}\n"}),
        s("ESC secret under the project's keys", "environment: [sec]\n" + edit(lambda c: None), 2, "holds a secret (fn::secret)", {"esc/sec.yaml": "values:\n  pulumiConfig:\n    eks-access:pgpKey: {fn::secret: x}\n"}),
        s("ESC cycle", "environment: [cyc]\n" + edit(lambda c: None), 2, "cyclic reference", {"esc/cyc.yaml": "values:\n  a: ${b}\n  b: ${a}\n"}),
        s("ESC interpolation resolved into a bad value", "environment: [res]\n" + edit(lambda c: None), 2, "teamOverrides.payments.namespaceAccess: expected one of view, edit or admin, got the text 'superuser'", {"esc/res.yaml": "values:\n  lvl: superuser\n  pulumiConfig:\n    eks-access:teamOverrides: {payments: {namespaceAccess: '${lvl}'}}\n"}),
        # --- EKS's published rules on principals, templates and scopes -------------------------
        s("service-linked role", edit(team(1, roles=[{"arn": f"arn:aws:iam::{ACCT}:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS", "username": "x"}])), 2, "is a service-linked role"),
        s("STS session ARN as a role", edit(team(1, roles=[{"arn": f"arn:aws:sts::{ACCT}:assumed-role/admin/alice", "username": "x"}])), 2, "is an STS session ARN"),
        s("session template without a colon", edit(lambda c: (cluster(authenticationMode="API_AND_CONFIG_MAP")(c), team(1, roles=[{"arn": ROLE, "username": "admin-{{SessionName}}"}])(c))), 2, "a colon must come before {{SessionName}}"),
        s("session template names a user", edit(lambda c: (team(1, roles=[{"arn": ROLE, "username": "ops:{{SessionName}}"}])(c), team(0, users=[{"name": "alice", "username": "ops:alice"}])(c))), 2, "gives a session the username 'ops:alice'"),
        s("one template for two roles", edit(team(1, roles=[{"arn": ROLE, "username": "ops:{{SessionName}}"}, {"arn": f"arn:aws:iam::{ACCT}:role/other", "username": "ops:{{SessionNameRaw}}"}])), 2, "is the template of teams[1].roles[0] too"),
        s("scope of every namespace", edit(lambda c: (cluster(authenticationMode="API_AND_CONFIG_MAP")(c), team(0, accessPolicies=[{"policy": "view", "namespaces": ["*"]}])(c))), 2, "'*' is not a DNS-1123 label"),
        # --- config encodings the CLI reads ----------------------------------------------------
        s("JSON string teams, invalid inside", edit(top(**{"eks-access:teams": '[{"name": "Bad_Name", "users": ["a"]}]'})), 2, "teams[0].name"),
        s("merge key bringing a bad field", "config:\n  aws:region: us-east-1\n  x: &b {clusterAccess: root}\n  eks-access:cluster: {name: dev, nodeRoleArns: ['" + NODE + "']}\n  eks-access:teams:\n    - <<: *b\n      name: t\n      users: [u]\n", 2, "teams[0].clusterAccess"),
    ]  # fmt: skip
    return out


@dataclass(frozen=True)
class BadCommand:
    name: str
    argv: list[str]
    """With ``{dev}``, ``{tmp}`` and ``{file}`` (an existing plain file) filled in."""
    code: int
    fragment: str


def commands() -> list[BadCommand]:
    c = BadCommand
    dev = ["--config-file", "{dev}"]
    alice = "arn:aws:iam::111122223333:user/alice"
    return [
        c("no command", [], 2, "the following arguments are required: COMMAND"),
        c("unknown command", ["apply"], 2, "invalid choice: 'apply'"),
        c("plan without --out", ["plan", *dev], 2, "the following arguments are required: --out"),
        c("plan into a file", ["plan", *dev, "--out", "{file}"], 2, "is a file; give a folder"),
        c("plan into a place that cannot hold it", ["plan", *dev, "--out", "/proc/eks-access"], 2, "--out /proc/eks-access: cannot write there"),
        c("plan of a missing file", ["plan", "--config-file", "{tmp}/Pulumi.nope.yaml", "--out", "{tmp}/o"], 2, "cannot be read"),
        c("plan of a file not named as a stack", ["plan", "--config-file", "{file}", "--out", "{tmp}/o"], 2, "a stack file is named Pulumi.<stack>.yaml"),
        c("base and base-out", ["plan", *dev, "--out", "{tmp}/o", "--base", "HEAD", "--base-out", "{tmp}"], 2, "not both"),
        c("base ref unknown", ["plan", *dev, "--out", "{tmp}/o", "--base", "no-such-ref"], 2, "'no-such-ref' is not a commit"),
        c("base-out not a plan", ["plan", *dev, "--out", "{tmp}/o", "--base-out", "{tmp}/none"], 2, "not a plan's output folder"),
        c("policy config missing", ["plan", *dev, "--out", "{tmp}/o", "--policy-config", "{tmp}/none.json"], 2, "--policy-config"),
        c("can-i as a bare name", ["can-i", "get", "pods", *dev, "--as", "eks_user"], 2, "--as 'eks_user': not an IAM user or role ARN"),
        c("can-i upper-case ARN", ["can-i", "get", "pods", *dev, "--as", alice.upper()], 2, "lower-case arn:"),
        c("can-i without --as", ["can-i", "get", "pods", *dev], 2, "the following arguments are required: --as"),
        c("can-i format", ["can-i", "get", "pods", *dev, "--as", alice, "--format", "xml"], 2, "invalid choice: 'xml'"),
        c("who-can without a resource", ["who-can", "get", *dev], 2, "the following arguments are required: resource"),
        c("migrate backwards", ["migrate", "--config-file", "{api}", "--to", "CONFIG_MAP"], 2, "only move forward"),
        c("migrate to API without node entries", ["migrate", *dev[:1], "{dev}", "--to", "API"], 2, "refusing to plan a move to API"),
        c("import over an existing file", ["import", "--aws-auth", "{awsauth}", "--cluster", "dev", "--region", "us-east-1", "--out", "{dev}"], 2, "exists; choose another file, or pass --force"),
        c("import outside a project", ["import", "--aws-auth", "{awsauth}", "--cluster", "dev", "--region", "us-east-1", "--out", "/tmp/Pulumi.x.yaml"], 2, "not inside a Pulumi project"),
        c("import of a missing export", ["import", "--aws-auth", "{tmp}/none.yaml", "--cluster", "dev", "--region", "us-east-1", "--out", "{tmp}/proj/Pulumi.new.yaml"], 2, "No such file"),
        c("review of an unknown ref", ["review", "--base", "no-such-ref", *dev], 2, "'no-such-ref' is not a commit"),
        c("stacks of no project", ["stacks", "--base", "HEAD", "--project", "{tmp}/none"], 2, "no Pulumi.yaml there"),
        c("reference stack, user not owned", ["plan", "--config-file", "{unowned}", "--out", "{tmp}/o"], 2, "is not owned by identity stack"),
        c("version", ["--version"], 0, "eks-access "),
        c("can-i yes", ["can-i", "get", "pods", "-n", "payments", *dev, "--as", alice], 0, "yes"),
        c("can-i no", ["can-i", "get", "secrets", "-n", "kube-system", *dev, "--as", alice], 1, "no"),
    ]  # fmt: skip
