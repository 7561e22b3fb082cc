"""Hypothesis strategies for valid stack configs.

Users and roles are drawn from small pools with fixed settings per identity, so the same
principal often appears in several teams (as in real organisations) while the config stays
valid by construction.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

ACCOUNT = "111122223333"
USER_POOL = [f"user{i}" for i in range(8)] + ["eks_user", "a.b@c", "x+y=z"]
# IAM names a YAML 1.1 reader (the authenticator's) takes for a boolean, number, null or date.
HOSTILE_USERS = ["y", "on", "NO", "0777", "null", "2026-12-01", "1_000"]
HOSTILE_GROUPS = ["off", "0x1F", "Y", "~", "1:20", "true"]
ROLE_POOL = (
    [f"arn:aws:iam::{ACCOUNT}:role/dev{i}" for i in range(4)]
    + [
        f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/us-east-1/AWSReservedSSO_T{i}_ab12"
        for i in range(3)
    ]
    + ["arn:aws:iam::444455556666:role/Cross/Account"]
)
NODE_POOL = [f"arn:aws:iam::{ACCOUNT}:role/nodes-{i}" for i in range(3)]
FARGATE_POOL = [f"arn:aws:iam::{ACCOUNT}:role/fargate-{i}" for i in range(2)]
WINDOWS_POOL = [f"arn:aws:iam::{ACCOUNT}:role/windows-nodes"]
EXISTING_USER_POOL = [f"arn:aws:iam::{ACCOUNT}:user/contractor",
                      f"arn:aws:iam::{ACCOUNT}:user/ext/old-admin"]  # fmt: skip
PERMISSION_SET_POOL = ["DataRead", "OpsAdmin"]
NAMESPACES = ["default", "apps", "payments", "data", "ml"]


def _user(name: str) -> Any:
    # Settings depend on the name only, so repeats across teams agree.
    keys = [["v1"], [], ["2026-01", "2026-02"]][len(name) % 3]
    return {"name": name, "keys": keys} if keys else name


def _role(arn: str) -> dict[str, str]:
    return {"arn": arn, "username": arn.rsplit("/", 1)[-1].lower() + ":{{SessionName}}"}


VERB_LISTS = st.lists(
    st.sampled_from(["get", "list", "watch", "create", "delete", "update"]),
    min_size=1,
    max_size=3,
    unique=True,
)
NAMES = ["web-0", "app-config", "y", "0777"]
rules = st.lists(
    st.fixed_dictionaries(
        {
            "apiGroups": st.sampled_from([[""], ["apps"], ["", "apps"], ["example.com"]]),
            "resources": st.lists(
                st.sampled_from(
                    ["pods", "pods/log", "pods/exec", "secrets", "deployments", "widgets"]
                ),
                min_size=1,
                max_size=3,
                unique=True,
            ),
            "verbs": VERB_LISTS,
        },
        optional={"resourceNames": st.lists(st.sampled_from(NAMES), min_size=1, unique=True)},
    ),
    max_size=2,
)
URLS = ["/healthz", "/healthz/*", "/metrics", "/api/*", "/logs/*", "/version"]
cluster_rules = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "nonResourceURLs": st.lists(st.sampled_from(URLS), min_size=1, unique=True),
                "verbs": st.sampled_from([["get"], ["get", "post"], ["*"]]),
            }
        ),
        st.fixed_dictionaries(
            {
                "apiGroups": st.sampled_from([[""], ["example.com"]]),
                "resources": st.sampled_from([["nodes"], ["widgets", "widgets/status"]]),
                "verbs": VERB_LISTS,
            },
            optional={"resourceNames": st.lists(st.sampled_from(NAMES), min_size=1, unique=True)},
        ),
    ),
    max_size=2,
)


@st.composite
def teams(draw: st.DrawFn, index: int) -> dict[str, Any]:
    namespaces = draw(st.lists(st.sampled_from(NAMESPACES), max_size=3, unique=True))
    team: dict[str, Any] = {
        "name": f"team{index}",
        "namespaces": namespaces,
        "users": [
            _user(u)
            for u in draw(
                st.lists(st.sampled_from(USER_POOL + HOSTILE_USERS), max_size=4, unique=True)
            )
        ],
        "roles": [
            _role(r) for r in draw(st.lists(st.sampled_from(ROLE_POOL), max_size=3, unique=True))
        ],
        # every team kind: IAM users made elsewhere, IAM Identity Center permission sets by name
        "existingUsers": draw(
            st.lists(st.sampled_from(EXISTING_USER_POOL), max_size=2, unique=True)
        ),
        "permissionSets": [
            {"name": n, "username": f"{n.lower()}:{{{{SessionName}}}}"}
            for n in draw(st.lists(st.sampled_from(PERMISSION_SET_POOL), max_size=2, unique=True))
        ],
    }
    if namespaces:
        team["namespaceAccess"] = draw(st.sampled_from([None, "view", "edit", "admin"]))
        team["rules"] = draw(rules)
    team["clusterAccess"] = draw(st.sampled_from([None, "view", "cluster-admin"]))
    team["clusterRules"] = draw(cluster_rules)
    if draw(st.booleans()):  # a group name YAML 1.1 reads as something else (one per team)
        team["group"] = HOSTILE_GROUPS[index % len(HOSTILE_GROUPS)]
    if draw(st.integers(0, 3)) == 0:  # a team as one mapping: its IAM users assume its role
        team["access"] = "role"
        team["requireMfa"] = draw(st.booleans())
        for key in ("roles", "existingUsers", "permissionSets"):
            team.pop(key)
        # session names are 2 to 64 characters
        team["users"] = [
            u for u in team["users"] if len(u if isinstance(u, str) else u["name"]) > 1
        ]
    return {k: v for k, v in team.items() if v not in (None, [])} | {"name": f"team{index}"}


@st.composite
def stack_configs(draw: st.DrawFn, max_teams: int = 5) -> dict[str, Any]:
    n = draw(st.integers(min_value=0, max_value=max_teams))
    return {
        "aws:region": "us-east-1",
        "eks-access:cluster": {
            "name": "demo",
            "nodeRoleArns": draw(
                st.lists(st.sampled_from(NODE_POOL), min_size=1, max_size=3, unique=True)
            ),
            "fargateRoleArns": draw(st.lists(st.sampled_from(FARGATE_POOL), unique=True)),
            "windowsNodeRoleArns": draw(st.lists(st.sampled_from(WINDOWS_POOL), unique=True)),
        },
        "eks-access:teams": [draw(teams(i)) for i in range(n)],
    }


# --- ESC environments (tests/unit/test_esc.py; make e2e compares each with ESC's own evaluator) ------

_ESC_KEYS = ["a", "b", "c", "res", "grp"]
_esc_scalars = st.one_of(
    st.sampled_from(["secrets", "admins", "dev", "x y", "1:20", "no", "$$", "a$$b"]),
    st.integers(-5, 5),
    st.booleans(),
)


def _esc_reference(key: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    access = st.one_of(
        key,
        st.builds(lambda k, j: f"{k}.{j}", key, key),
        st.builds(lambda k, i: f"{k}[{i}]", key, st.integers(0, 2)),
        st.builds(lambda k, j: f'{k}["{j}"]', key, key),
    )
    return st.one_of(
        st.builds(lambda a: "${" + a + "}", access),
        st.builds(lambda p, a, s: p + "${" + a + "}" + s, st.sampled_from(["", "x-", "$$"]), access,
                  st.sampled_from(["", "-y", " z"])),
    )  # fmt: skip


def _esc_values(depth: int) -> st.SearchStrategy[Any]:
    key = st.sampled_from(_ESC_KEYS)
    leaf = st.one_of(_esc_scalars, _esc_reference(key))
    if depth == 0:
        return leaf
    inner = _esc_values(depth - 1)
    return st.one_of(
        leaf,
        st.lists(inner, max_size=3),
        st.dictionaries(key, inner, max_size=3),
        st.builds(lambda v: {"fn::secret": v}, leaf),
        st.builds(lambda s, v: {"fn::join": [s, v]}, st.sampled_from(["-", ""]),
                  st.lists(st.one_of(st.sampled_from(["p", "q"]), _esc_reference(key)), max_size=3)),
        st.builds(lambda a, b: {"fn::concat": [a, b]}, st.lists(leaf, max_size=2),
                  st.lists(leaf, max_size=2)),
    )  # fmt: skip


@st.composite
def esc_environments(draw: st.DrawFn) -> dict[str, Any]:
    """A stack's ``environment:`` and the files it imports: values that reference each other
    (in and across files), secrets, joins; some broken (cycles, unknown properties), as users
    write them."""
    key = st.sampled_from(_ESC_KEYS)
    values = _esc_values(2)
    config = st.dictionaries(st.sampled_from(["eks-access:x", "eks-access:y", "o:t"]), values,
                             max_size=3)  # fmt: skip
    base = {
        "values": {**draw(st.dictionaries(key, values, max_size=4)), "pulumiConfig": draw(config)}
    }
    top: dict[str, Any] = {
        "imports": ["base"],
        "values": draw(st.dictionaries(key, values, max_size=3)),
    }
    top["values"]["pulumiConfig"] = draw(config)
    files = {"base": base, "top": top}
    environment = draw(st.sampled_from([["base"], ["top"], ["base", "top"],
                                        {"imports": ["top"], "values": {"pulumiConfig": draw(config)}}]))  # fmt: skip
    return {"environment": environment, "files": files}


# --- names a reviewer cannot tell apart (tests/unit/test_names.py) ---------------------------------

# Test data, not the product's rule: Latin letters and look-alikes of other scripts that Unicode's
# confusables list pairs with them. The product asks ICU (eks_access.names); these only draw.
HOMOGLYPHS = {"a": "\u0430", "c": "\u0441", "e": "\u0435", "o": "\u043e\u03bf", "p": "\u0440",
              "x": "\u0445", "y": "\u0443", "i": "\u0456", "s": "\u0455", "v": "\u03bd"}  # fmt: skip
PADDING = [" ", "\t", "\u00a0", "\u200b", "\u2060", "\ufeff", "\u3000"]


@st.composite
def look_alike_pairs(draw: st.DrawFn) -> tuple[str, str, str]:
    """(a username, a variant a reviewer reads as the same, how it was made): one letter swapped
    for another script's look-alike, every letter swapped (a whole-script look-alike), or the
    name padded or split by a blank or invisible character."""
    base = draw(st.sampled_from(["alice", "carol", "oscar", "eve", "ops-admin", "pay-svc",
                                 "ace", "yes", "coco", "peace"]))  # fmt: skip
    how = draw(st.sampled_from(["one letter", "whole script", "padded", "split"]))
    if how == "one letter":
        spots = [i for i, c in enumerate(base) if c in HOMOGLYPHS]
        i = draw(st.sampled_from(spots))
        glyph = draw(st.sampled_from(list(HOMOGLYPHS[base[i]])))
        return base, base[:i] + glyph + base[i + 1 :], how
    if how == "whole script" and all(c in HOMOGLYPHS for c in base):
        return base, "".join(HOMOGLYPHS[c][0] for c in base), how
    pad = draw(st.sampled_from(PADDING))
    if how == "split" and pad != " ":  # an ASCII space inside a name is seen: a name of its own
        i = draw(st.integers(1, len(base) - 1))
        return base, base[:i] + pad + base[i:], how
    return base, draw(st.sampled_from([pad + base, base + pad])), "padded"


@st.composite
def config_encodings(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid config, and a stack file holding it as the CLI reads it, written another way:
    top-level values as JSON strings (`pulumi config set` without --path), teams through YAML
    anchors and merge keys."""
    import json

    import yaml

    class Plain(yaml.SafeDumper):  # no &id001 anchors of PyYAML's own for shared objects
        def ignore_aliases(self, data: Any) -> bool:
            return True

    config = draw(stack_configs(max_teams=3))
    written: dict[str, Any] = {}
    for key, value in config.items():
        as_json = not isinstance(value, str) and draw(st.booleans())
        written[key] = json.dumps(value) if as_json else value
    text = yaml.dump({"config": written}, Dumper=Plain, sort_keys=False)
    teams = config["eks-access:teams"]
    if teams and not isinstance(written["eks-access:teams"], str) and draw(st.booleans()):
        # every team as `<<: *teamN` over an anchored copy, with its name overriding
        anchors = "\n".join(
            f"  x-team{i}: &team{i}\n" + _indent(yaml.dump({**t, "name": "x"}, Dumper=Plain), 4)
            for i, t in enumerate(teams)
        )
        merged = "\n".join(
            f"    - <<: *team{i}\n      name: {json.dumps(t['name'])}" for i, t in enumerate(teams)
        )
        rest = {k: v for k, v in written.items() if k != "eks-access:teams"}
        text = (
            "config:\n" + anchors + "\n"
            + _indent(yaml.dump(rest, Dumper=Plain, sort_keys=False), 2)
            + "  eks-access:teams:\n" + merged + "\n"
        )  # fmt: skip
    return config, text


def _indent(text: str, n: int) -> str:
    return "".join(" " * n + line + "\n" for line in text.splitlines())
