"""Hostile stack configs for the fuzz suite: valid configs (tests.strategies) bent by one to
three mutations of the kinds people and attackers produce, plus YAML text oddities."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import strategies as st

from tests.strategies import ACCOUNT, stack_configs

Path = tuple[str | int, ...]

RESERVED = ["system:masters", "system:nodes", "eks:admin", "aws:x", "amazon:y", "iam:z", "SYSTEM:x"]
ODD_ARNS = [
    f"arn:aws:iam::{ACCOUNT}:role/a/b/c/deep-path",
    f"arn:aws:iam::{ACCOUNT}:role/",
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/dev0/session",
    f"arn:aws:iam::{ACCOUNT[:-1]}:role/short-account",
    f"arn:aws-cn:iam::{ACCOUNT}:role/china",
    f"arn:aws-us-gov:iam::{ACCOUNT}:role/gov",
    f"ARN:AWS:IAM::{ACCOUNT}:ROLE/DEV0",
    f" arn:aws:iam::{ACCOUNT}:role/dev0 ",
    f"arn:aws:iam::{ACCOUNT}:role/dev0\n- rolearn: arn:aws:iam::{ACCOUNT}:role/evil",
    f"arn:aws:iam::{ACCOUNT}:group/admins",
    f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_X_1",
    "arn:aws:iam::*:role/*",
    "",
]
FLEET_KEYS = ["eks-access:teamOverrides", "eks-access:identity", "eks-access:teamsFile"]
FLEET_VALUES: dict[str, list[Any]] = {
    "eks-access:teamOverrides": [{"team0": {"namespaceAccess": "view"}}, {"nope": {}},
                                 {"team0": {"name": "x"}}, {"team0": {"users": None}}],
    "eks-access:identity": [{"mode": "reference", "account": ACCOUNT},
                            {"mode": "owner", "account": ACCOUNT},
                            {"mode": "reference", "account": "12", "stack": "a/b/c"}],
    "eks-access:teamsFile": ["/dev/zero", "../../etc/passwd", "missing.yaml", "Pulumi.yaml",
                             "__main__.py", "."],
}  # fmt: skip
NEAR_MISS_KEYS = ["nodeRoleArn", "user", "namespace", "clusterAcess", "verb", "role_name", "Name"]
UNICODE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=40
) | st.sampled_from(
    ["ａｌｉｃｅ", "аlice", "alice\u200b", "ali\u0301ce", "\u202eecila", "a\x00b", "🙂", "名前", "-" * 300]
)  # fmt: skip
WRONG_TYPES = (
    st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.none()
    | UNICODE
    | st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)
)


def paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every place inside a nested config, depth first."""
    out: list[Path] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((*prefix, k))
            out.extend(paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append((*prefix, i))
            out.extend(paths(v, (*prefix, i)))
    return out


def get(doc: Any, path: Path) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def put(doc: Any, path: Path, value: Any) -> None:
    get(doc, path[:-1])[path[-1]] = value


def _of(raw: dict[str, Any], kind: type) -> list[Path]:
    return [p for p in paths(raw) if isinstance(get(raw, p), kind)]


def _strings_at(raw: dict[str, Any], keys: set[str]) -> list[Path]:
    return [p for p in paths(raw) if p[-1] in keys and isinstance(get(raw, p), str)]


@st.composite
def mutate(draw: st.DrawFn, raw: dict[str, Any]) -> str:
    """Apply one mutation in place; return its kind (for the counts)."""
    all_paths = paths(raw)
    kind = draw(
        st.sampled_from(
            ["wrong-type", "unknown-key", "huge-list", "unicode", "reserved-prefix", "odd-arn",
             "duplicate", "too-many-keys", "delete", "mode", "fleet-keys"]
        )
    )  # fmt: skip
    if kind == "wrong-type" and all_paths:
        put(raw, draw(st.sampled_from(all_paths)), draw(WRONG_TYPES))
    elif kind == "unknown-key":
        dicts = [(), *_of(raw, dict)]
        where = get(raw, draw(st.sampled_from(dicts)))
        key = draw(st.sampled_from(NEAR_MISS_KEYS) | st.text(max_size=12))
        where[key] = draw(WRONG_TYPES)
    elif kind == "fleet-keys":
        key = draw(st.sampled_from(FLEET_KEYS))
        raw[key] = draw(
            st.sampled_from(FLEET_VALUES[key]) | WRONG_TYPES if key in FLEET_VALUES else WRONG_TYPES
        )
    elif kind == "huge-list" and (lists := _of(raw, list)):
        where = draw(st.sampled_from(lists))
        items = get(raw, where)
        n = draw(st.integers(100, 2_000))
        filler = items[0] if items and draw(st.booleans()) else draw(WRONG_TYPES)
        put(raw, where, [copy.deepcopy(filler) for _ in range(n)])
    elif kind == "unicode" and (strings := _of(raw, str)):
        put(raw, draw(st.sampled_from(strings)), draw(UNICODE))
    elif kind == "reserved-prefix":
        teams = raw.get("eks-access:teams") or []
        if isinstance(teams, list) and teams and isinstance(teams[0], dict):
            team = teams[draw(st.integers(0, len(teams) - 1))]
            field = draw(st.sampled_from(["group", "users", "roles"]))
            name = draw(st.sampled_from(RESERVED))
            if field == "group":
                team["group"] = name
            elif field == "users":
                team["users"] = [{"name": "mallory", "username": name}]
            else:
                team["roles"] = [{"arn": f"arn:aws:iam::{ACCOUNT}:role/x", "username": name}]
    elif kind == "odd-arn" and (arn_paths := _strings_at(raw, {"arn"}) + _of_arn_lists(raw)):
        put(raw, draw(st.sampled_from(arn_paths)), draw(st.sampled_from(ODD_ARNS)))
    elif kind == "duplicate":
        _duplicate(draw, raw)
    elif kind == "too-many-keys":
        users = [p for p in _of(raw, dict) if "name" in get(raw, p) and len(p) >= 3]
        if users:
            user = get(raw, draw(st.sampled_from(users)))
            user["keys"] = [f"k{i}" for i in range(draw(st.integers(3, 6)))]
    elif kind == "delete" and all_paths:
        where = draw(st.sampled_from(all_paths))
        parent = get(raw, where[:-1])
        del parent[where[-1]]
    elif kind == "mode":
        cluster = raw.get("eks-access:cluster")
        if isinstance(cluster, dict):
            cluster["authenticationMode"] = draw(
                st.sampled_from(["CONFIG_MAP", "API_AND_CONFIG_MAP", "API", "api", "BOTH"])
            )
            if draw(st.booleans()):
                cluster["nodeAccessEntries"] = draw(
                    st.sampled_from(["create", "eks-managed", "yes"])
                )
    return kind


def _of_arn_lists(raw: dict[str, Any]) -> list[Path]:
    return [
        p
        for p in paths(raw)
        if len(p) >= 2 and p[-2] in ("nodeRoleArns", "fargateRoleArns") and isinstance(p[-1], int)
    ]


def _append(team: dict[str, Any], key: str, item: Any) -> None:
    """Add to a team's list, unless an earlier mutation made it something else."""
    found = team.setdefault(key, [])
    if isinstance(found, list):
        found.append(item)


def _duplicate(draw: st.DrawFn, raw: dict[str, Any]) -> None:
    teams = raw.get("eks-access:teams")
    if not isinstance(teams, list) or not teams or not all(isinstance(t, dict) for t in teams):
        return
    src = teams[draw(st.integers(0, len(teams) - 1))]
    dst = teams[draw(st.integers(0, len(teams) - 1))]
    what = draw(st.sampled_from(["team", "user", "role", "namespace", "node-role"]))
    if what == "team":
        teams.append(copy.deepcopy(src))
    elif what == "user":
        _append(dst, "users", {"name": "user0", "path": "/other/", "keys": ["x"]})
        _append(src, "users", "user0")
    elif what == "role":
        arn = f"arn:aws:iam::{ACCOUNT}:role/dev0"
        _append(dst, "roles", {"arn": arn, "username": "one"})
        _append(src, "roles", {"arn": arn.replace("role/", "role/p/"), "username": "two"})
    elif what == "namespace":
        for t in (src, dst):
            t["namespaces"], t["createNamespaces"] = ["shared"], True
    else:
        cluster = raw.get("eks-access:cluster")
        nodes = cluster.get("nodeRoleArns") if isinstance(cluster, dict) else None
        if isinstance(nodes, list) and nodes:
            _append(dst, "roles", {"arn": nodes[0]})


YAML_ODDITIES = [
    ("bare-words", lambda text: text.replace("name: demo", "name: no")),
    ("date-key-label", lambda text: text.replace("- v1", "- 2026-12-01")),
    ("duplicate-key", lambda text: text.replace("  name: demo", "  name: demo\n  name: other", 1)),
    ("tab-indent", lambda text: text.replace("  name:", "\tname:", 1)),
    ("recursive-alias", lambda text: text + "  eks-access:extra: &a [*a]\n"),
    ("python-tag", lambda text: text.replace("name: demo", "name: !!python/name:os.system ''")),
    ("two-documents", lambda text: text + "---\nconfig: {}\n"),
    ("flow-garbage", lambda text: text.replace("nodeRoleArns:", "nodeRoleArns: [", 1)),
    ("binary", lambda text: text.replace("name: demo", "name: !!binary aGVsbG8=")),
    ("base-60", lambda text: text.replace("name: demo", "name: 1:20")),
    ("bom-and-crlf", lambda text: "\ufeff" + text.replace("\n", "\r\n")),
    ("anchors", lambda text: text.replace("eks-access:cluster:", "eks-access:cluster: &c", 1)
     + "  eks-access:copy: *c\n"),
    ("null-team", lambda text: text.replace("eks-access:teams:", "eks-access:teams:\n  - ~", 1)),
]  # fmt: skip


@st.composite
def hostile_stack_files(draw: st.DrawFn) -> tuple[str, list[str]]:
    """The text of a stack file and the mutations applied to it."""
    raw = copy.deepcopy(draw(stack_configs(max_teams=2)))
    kinds = [draw(mutate(raw)) for _ in range(draw(st.integers(0, 3)))]
    text = yaml.safe_dump({"config": raw}, sort_keys=False, allow_unicode=draw(st.booleans()))
    if draw(st.integers(0, 5)) == 0:
        name, oddity = draw(st.sampled_from(YAML_ODDITIES))
        text = oddity(text)
        kinds.append(f"yaml:{name}")
    return text, kinds
