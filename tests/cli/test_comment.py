"""The pull-request comment (``review --format markdown``): read in 30 seconds.

Every everyday change's comment is built from the real program's two plans; its text above the
first ``<details>`` must fit in 12 lines and name every principal whose access changes, which
the tests work out from the evaluator's own answers (not from the words the comment uses).
The Markdown is parsed by markdown-it-py (CommonMark with GFM tables), not by our own code.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from eks_access import authz, changes, clock, comment, review, stackfile
from eks_access import config as core
from eks_access.documents import PrincipalChange, ReviewDocument, RuleChange
from tests import everyday
from tests.conftest import ROOT, write_stack

GFM = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def load(raw: dict[str, Any], folder: Path, at: datetime | None = None) -> core.StackConfig:
    """The config as the CLI reads it: a stack file on disk, through ``stackfile``; at ``at``
    (None: now)."""
    folder.mkdir(parents=True, exist_ok=True)
    with clock.fixed(at):
        return stackfile.read(write_stack(folder, raw, "dev")).load()


def row_review(row: everyday.Row, tmp: Path) -> ReviewDocument:
    base_raw, head_raw = row.configs()
    before, after = everyday.planned(row.title)
    return changes.review_document(
        load(base_raw, tmp / "base", row.at[0]),
        load(head_raw, tmp / "head", row.at[1]),
        before.resources,
        after.resources,
    )


def above_the_fold(text: str) -> str:
    return text.split("<details>", 1)[0]


def bullets(markdown: str) -> list[str]:
    """The text of each top-level list item, as a CommonMark reader sees it."""
    tokens = GFM.parse(markdown)
    out, depth = [], 0
    for i, t in enumerate(tokens):
        if t.type == "bullet_list_open":
            depth += 1
        elif t.type == "bullet_list_close":
            depth -= 1
        elif t.type == "inline" and depth == 1 and tokens[i - 2].type == "list_item_open":
            out.append(plain(t))
    return out


def plain(inline: Token) -> str:
    """An inline token's text; a line break (GitHub shows one in a comment) as a newline."""
    text = "".join(
        "\n" if c.type in ("softbreak", "hardbreak") else c.content
        for c in inline.children or []
        if c.type in ("text", "code_inline", "softbreak", "hardbreak")
    )
    return text.replace("\u2060", "")  # the word joiner after "@" (no mention) shows nothing


def changed_principals(base: core.StackConfig, head: core.StackConfig) -> set[str]:
    """Whose access changes, from the evaluator: any permission (other than what every login
    has) held before and not after or the reverse, or a mapping that appears, goes or changes."""
    old, new = authz.state_of(base), authz.state_of(head)
    out = set()
    for key in old.identities.keys() | new.identities.keys():
        a, b = old.identities.get(key), new.identities.get(key)
        held = [
            {(g.via, str(g.rules), g.namespace) for g in s.grants_for(i) if "(built in)" not in g.via}
            if i is not None else set()
            for s, i in ((old, a), (new, b))
        ]  # fmt: skip
        moved = a is None or b is None or (a.username, a.groups) != (b.username, b.groups)
        if held[0] != held[1] or (moved and (held[0] or held[1] or a is None or b is None)):
            who = (a or b).arn  # type: ignore[union-attr]
            out.add(who)
    return out


def name_of(arn: str, config: core.StackConfig) -> str:
    ident = next((i for i in authz.state_of(config).identities.values() if i.arn == arn), None)
    assert ident is not None
    return changes.display_name(arn, ident.username)


@pytest.mark.xdist_group(
    name="everyday"
)  # the plans are shared with tests/program/test_lifecycle.py
@pytest.mark.parametrize("row", everyday.ROWS, ids=[r.title for r in everyday.ROWS])
def test_every_everyday_comment_fits_above_the_fold(row: everyday.Row, tmp_path: Path) -> None:
    doc = row_review(row, tmp_path)
    text = comment.markdown([("dev", doc)])
    top = above_the_fold(text)
    assert len(top.strip("\n").splitlines()) <= 12, top
    base_raw, head_raw = row.configs()
    base, head = (
        load(base_raw, tmp_path / "b", row.at[0]),
        load(head_raw, tmp_path / "h", row.at[1]),
    )
    who = changed_principals(base, head)
    items = bullets(top)
    for arn in who:
        name = name_of(
            arn, head if arn in {i.arn for i in authz.state_of(head).identities.values()} else base
        )
        assert any(item.startswith(f"{name} (") for item in items), (name, items)
    if not who:
        assert items == ["No principal gains or loses any access."]
    else:
        assert len(items) == len(who)  # and nobody else
    # The headline counts what the lifecycle table says `pulumi up` does to the resources.
    replaced = sum(1 for op in row.expect.values() if op == "replace")
    deleted = sum(1 for op in row.expect.values() if op == "delete")
    headline = plain(next(t for t in GFM.parse(top) if t.content.startswith("**")))
    assert (
        f"{replaced} resource{'' if replaced == 1 else 's'} replaced, {deleted} deleted" in headline
    )
    gain = sum(1 for arn in who if _gains(arn, doc, base))
    assert headline.startswith(f"{gain} principal")


def _gains(arn: str, doc: ReviewDocument, base: core.StackConfig) -> bool:
    """New in the cluster, or a permission gained (``review.rule_changes``, per rule)."""
    new = arn not in {i.arn for i in authz.state_of(base).identities.values()}
    return new or any(c.principal == arn and c.change == "gains" for c in doc.rule_changes)


def rule_change(**fields: Any) -> RuleChange:
    """A gained permission, ``fields`` over plain defaults."""
    plain: dict[str, Any] = {
        "principal": "arn:aws:iam::1:user/u", "username": "u", "change": "gains",
        "permission": "get secrets", "namespace": None, "verb": "get", "api_group": "",
        "resource": "secrets", "name": "", "url": "", "via": "v", "risk": "", "score": 1,
    }  # fmt: skip
    return RuleChange(**{**plain, **fields})


def doc_of(
    rules: Sequence[RuleChange] = (),
    principals: Sequence[PrincipalChange] = (),
    warnings: Sequence[str] = (),
) -> ReviewDocument:
    return ReviewDocument(
        changes=(), rule_changes=tuple(rules), admins_gained=(), admins_lost=(),
        resource_counts={}, principals=tuple(principals), warnings=tuple(warnings),
    )  # fmt: skip


WORDS = {
    # Kubernetes' own edit and view ClusterRoles are what the presets name.
    "add a user": "dave (team payments, new): gains edit in payments, payments-jobs; "
    f"{changes.NO_KEY}",
    "remove a user": "bob (team payments, removed): loses edit in payments, payments-jobs",
    "change namespaceAccess": "alice (team payments): changes from edit to view in payments, "
    "payments-jobs",
    "add a role": "auditor (team auditors, new): gains view cluster-wide",
    "add a namespace (CONFIG_MAP)": "alice (team payments): gains edit in payments-batch",
}


@pytest.mark.xdist_group(name="everyday")
@pytest.mark.parametrize("title", sorted(WORDS))
def test_a_change_is_said_in_preset_words(title: str, tmp_path: Path) -> None:
    row = next(r for r in everyday.ROWS if r.title == title)
    assert WORDS[title] in bullets(
        above_the_fold(comment.markdown([("dev", row_review(row, tmp_path))]))
    )


def dev_raw() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"])


def review_of(base_raw: dict[str, Any], head_raw: dict[str, Any], tmp: Path) -> ReviewDocument:
    return changes.review_document(load(base_raw, tmp / "b"), load(head_raw, tmp / "h"))


def warnings_of(text: str) -> list[str]:
    tokens = GFM.parse(above_the_fold(text))
    out, quoted = [], False
    for t in tokens:
        quoted = {"blockquote_open": True, "blockquote_close": False}.get(t.type, quoted)
        if quoted and t.type == "inline":
            out += plain(t).splitlines()
    # eight lines at most: several kinds of warning may share one
    return out


def test_risky_changes_get_a_warning_line_each(tmp_path: Path) -> None:
    base = dev_raw()
    base["eks-access:teams"] = [t for t in base["eks-access:teams"] if t["name"] != "platform"]
    head = dev_raw()
    everyday.team(head, "auditors")["clusterRules"] = [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]},
    ]
    head["eks-access:acknowledgeLockout"] = True
    everyday.team(head, "payments")["users"].append("dave")  # Kubernetes' edit role
    found = warnings_of(comment.markdown([("dev", review_of(base, head, tmp_path))]))
    assert found == [
        ":warning: becomes cluster-admin: platform-admin",
        ":warning: reads or writes Secrets: dave",
        ":warning: exec, attach or port-forward into pods: dave",
        ":warning: RBAC escalation (escalate, bind, impersonate, or writes to roles): dave",
        ":warning: a wildcard (*) in a verb, resource or API group: carol, platform-admin",
        ":warning: eks-access:acknowledgeLockout is set: this stack may apply a config that maps "
        "nobody",
    ]
    # Losing access is never a warning.
    back = warnings_of(comment.markdown([("dev", review_of(head, base, tmp_path / "x"))]))
    assert back == []


@pytest.mark.parametrize(
    ("verb", "group", "resource", "url", "risk"),
    [
        ("create", "", "*/exec", None, "exec into pods"),
        ("create", "", "pods/attach", None, "exec into pods"),
        ("create", "", "pods/portforward", None, "exec into pods"),
        ("get", "", "nodes/proxy", None, "the kubelet API (nodes/proxy)"),
        ("get", "", "*/proxy", None, "the kubelet API (nodes/proxy)"),
        ("get", "", "*", None, "wildcard"),
        ("get", "*", "pods", None, "wildcard"),
        ("*", "", "pods", None, "wildcard"),
        ("get", "", "services/proxy", None, None),
        ("get", "", "pods/log", None, None),
        ("get", "", "secrets", None, "secrets"),
        ("create", "", "secrets", None, "secrets"),
        ("bind", "rbac.authorization.k8s.io", "clusterroles", None, "RBAC escalation"),
        ("get", "", "", "*", "wildcard"),
        ("get", "", "", "/healthz", None),
    ],
)
def test_risky_permissions_are_named(
    verb: str, group: str, resource: str, url: str | None, risk: str | None
) -> None:
    """The one classifier (review.danger) names the risk; the comment warns on these."""
    permission = review.Permission("*", verb, group, resource, url=url or "")
    label = review.danger(permission.request())[1]
    assert (label if label in dict(changes.RISKS) else None) == risk


def test_gaining_only_writes_to_secrets_warns_too() -> None:
    # create on secrets can mint a service account's token: as much a warning as reading them
    gained = review.Permission("payments", "create", "", "secrets")
    change = rule_change(verb="create", risk=review.danger(gained.request())[1])
    assert changes.warnings(doc_of([change]), core.load(dev_raw())) == [
        "reads or writes Secrets: u"
    ]


def test_node_roles_and_mapped_accounts_that_change_are_named(tmp_path: Path) -> None:
    base = dev_raw()
    head = dev_raw()
    old_node = base["eks-access:cluster"]["nodeRoleArns"][0]
    head["eks-access:cluster"]["nodeRoleArns"] = ["arn:aws:iam::111122223333:role/new-nodes"]
    head["eks-access:cluster"]["mapAccounts"] = ["444455556666"]
    text = comment.markdown([("dev", review_of(base, head, tmp_path))])
    top = above_the_fold(text)
    assert f"{old_node.rsplit('/', 1)[-1]} (nodes, removed): node role removed" in top
    assert "new\\-nodes (nodes, new): node role added" in top or "new-nodes (nodes, new)" in top
    assert "account 444455556666 (mapped accounts, new): is mapped" in top
    assert warnings_of(text) == [
        f":warning: node role removed, its nodes leave the cluster: {old_node.rsplit('/', 1)[-1]}",
        ":warning: every IAM user and role can log in from account 444455556666",
    ]
    # can-i answers for such a principal as the authenticator maps it: its ARN, no group
    state = authz.state_of(load(head, tmp_path / "c"))
    anyone = "arn:aws:sts::444455556666:assumed-role/Deploy/ci"
    ident = state.resolve(anyone)
    assert ident is not None and ident.username == "arn:aws:iam::444455556666:role/Deploy"
    assert ident.groups == {authz.AUTHENTICATED}
    assert state.resolve("arn:aws:iam::777788889999:user/x") is None
    # a mapping wins over the account: a node role of a mapped account stays a node role
    head["eks-access:cluster"]["mapAccounts"] = ["111122223333"]
    state = authz.state_of(load(head, tmp_path / "d"))
    node = "arn:aws:iam::111122223333:role/new-nodes"
    assert state.resolve(node) is None and state.node(node) is not None


def test_the_markdown_structure(tmp_path: Path) -> None:
    row = next(r for r in everyday.ROWS if r.title == "remove a user")
    text = comment.markdown([("dev", row_review(row, tmp_path))])
    tokens = GFM.parse(text)
    assert [t.tag for t in tokens if t.type == "heading_open"] == ["h2"]
    # each stack's comment names its stack: one pull request may get several
    assert [plain(tokens[i + 1]) for i, t in enumerate(tokens) if t.type == "heading_open"] == [
        "Access review: dev"
    ]
    blocks = [t.content.strip() for t in tokens if t.type == "html_block"]
    assert [b.split("\n")[0] for b in blocks] == ["<details>", "</details>"] * 2
    # a summary is HTML, where Markdown is not read: no backquotes shown as they are
    summaries = [line for b in blocks for line in b.splitlines() if line.startswith("<summary>")]
    assert len(summaries) == 2 and not any("`" in line for line in summaries)
    tables = _tables(tokens)
    assert [t[0] for t in tables] == [
        ["operation", "resource", "why"],
        ["resources", "before", "after"],
        ["who", "where", "resource", "gains", "loses", "risk"],
    ]
    for header, *rows in tables:
        assert rows and all(len(r) == len(header) for r in rows)
    operations = {(r[0], r[1]) for r in tables[0][1:]}
    assert {o for o in operations if o[0] != "update"} == {
        ("delete", f"{t} {n}") for (t, n), op in row.expect.items() if op == "delete"
    }
    assert tables[1][1:] == [["IAM users", "4", "3"], ["mapped principals", "6", "5"]]
    matrix = tables[2][1:]
    assert {(r[0], r[1], r[3]) for r in matrix} == {("bob", "payments, payments-jobs", "")}
    # Kubernetes' edit role, as its bootstrap policy defines it (eks_access/data/builtin_rbac.yaml,
    # whose answers `make e2e` compares with the API server's): bob loses every verb on secrets
    # and impersonation of service accounts, riskiest first.
    assert matrix[0][2:] == ["serviceaccounts", "", "create, delete, deletecollection, get, "
                             "impersonate, list, patch, update, watch", "RBAC escalation"]  # fmt: skip
    assert ["secrets", "", "create, delete, deletecollection, get, list, patch, update, watch",
            "secrets"] in [r[2:] for r in matrix]  # fmt: skip


def _tables(tokens: list[Token]) -> list[list[list[str]]]:
    tables: list[list[list[str]]] = []
    for t in tokens:
        if t.type == "table_open":
            tables.append([])
        elif t.type == "tr_open":
            tables[-1].append([])
        elif t.type == "inline" and tables and tables[-1] and t.level >= 4:
            tables[-1][-1].append(plain(t))
        elif t.type == "table_close":
            tables[-1] = [r for r in tables[-1] if r]
    return tables


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1)
    | st.sampled_from(["# LGTM", "ev\r# approved", "> quoted", "- item", "1. first", "+ x",
                       "=== ", "@security-team", "a\u2028b", "x\x85y", "<script>x</script>",
                       "[link](http://e.com)", "`code`", "**b**", "a|b", "\\",
                       "   ", "    - x"])
)  # fmt: skip
def test_any_text_stays_itself_in_a_table_cell_and_a_list_item(value: str) -> None:
    """A name, namespace, resource, verb or note may hold anything: each cell and each list
    item must read back as itself (one line, no heading, quote, nested list or mention), and
    the row keep its six cells."""
    assume("{{" not in value)  # a templated username is shown as its role's name
    assume("\x00" not in value)  # CommonMark turns NUL into U+FFFD, on purpose
    change = rule_change(principal="arn:aws:iam::1:user/x", username=value, namespace=value,
                         verb=value, resource=value, risk=value)  # fmt: skip
    who = PrincipalChange(principal="arn:aws:iam::1:user/x", username=value, name=value,
                          teams=("t",), status="changed", gains=True, loses=False,
                          words=(value,))  # fmt: skip
    doc = doc_of([change], [who], [value])
    text = comment.markdown([("dev", doc)])
    tokens = GFM.parse(text)
    row = _tables(tokens)[0][1]
    expected = " ".join(value.split())
    assert [" ".join(c.split()) for c in row] == [expected] * 4 + ["", expected]
    warned = [" ".join(w.split()) for w in warnings_of(text)]
    assert warned == [" ".join(f":warning: {value}".split())] or not value.strip()
    # the one list item above the fold reads "<value> (team t): <value>", nothing nested
    fold = GFM.parse(above_the_fold(text))
    items = [plain(fold[i + 2]) for i, t in enumerate(fold) if t.type == "list_item_open"]
    iam = "" if value.strip() == "x" else "IAM user x; "  # RBAC's name beside the one IAM knows
    assert [" ".join(i.split()) for i in items] == [
        " ".join(f"{value} ({iam}team t): {value}".split())
    ]
    assert [t.tag for t in fold if t.type == "heading_open"] == ["h2"]  # the title only
    # a mention would notify: "@" is never directly followed by a name character
    assert not re.search(r"@[A-Za-z0-9-]", text)


def test_an_indented_name_is_a_list_item_not_code_and_a_no_break_space_stays() -> None:
    """Four leading spaces would start an indented code block inside a list item (found by
    hypothesis); a leading no-break space is not Markdown indentation and tells two names apart."""
    assert comment.cell("    - x") == "\\- x"
    tokens = GFM.parse(f"- {comment.cell('    alice')}: {comment.cell('   ')}")
    assert "code_block" not in [t.type for t in tokens]
    assert [plain(t) for t in tokens if t.type == "inline"] == ["alice:"]
    assert comment.cell("\u00a0alice") != comment.cell("alice")


def test_a_fleet_gets_a_section_per_cluster_under_one_headline(tmp_path: Path) -> None:
    base = dev_raw()
    head = dev_raw()
    everyday.team(head, "payments")["users"].append("dave")
    docs = [
        (f"cluster-{i} (stack s{i})", review_of(base, head, tmp_path / str(i))) for i in range(3)
    ]
    text = comment.markdown(docs)
    tokens = GFM.parse(text)
    headings = [
        (t.tag, plain(tokens[i + 1])) for i, t in enumerate(tokens) if t.type == "heading_open"
    ]
    assert headings == [("h2", "Access review of the fleet")] + [
        ("h3", f"cluster-{i} (stack s{i})") for i in range(3)
    ]
    headline = next(plain(t) for t in tokens if t.type == "inline" and t.content.startswith("**"))
    assert headline.startswith("3 principals gain access, 0 lose access")
    assert len(above_the_fold(text).strip("\n").splitlines()) <= 12


def test_a_comment_over_the_limit_is_shortened_and_points_to_the_artifact(tmp_path: Path) -> None:
    base = dev_raw()
    head = dev_raw()
    everyday.team(head, "payments")["users"] += [f"user{i:03}" for i in range(60)]
    doc = review_of(base, head, tmp_path)
    full = comment.markdown([("dev", doc)], limit=10**9)
    assert len(full) > 65_536  # the case is real: 61 principals gaining edit
    text = comment.markdown([("dev", doc)])
    assert len(text) <= comment.MAX_CHARS
    assert above_the_fold(text) == above_the_fold(full)
    assert "the full review is in `review.json`, in this workflow run's artifact" in text
    tokens = GFM.parse(text)
    blocks = [t.content.strip().split("\n")[0] for t in tokens if t.type == "html_block"]
    assert blocks.count("<details>") == blocks.count("</details>") == 3
    for header, *rows in _tables(tokens):
        assert all(len(r) == len(header) for r in rows)
    # Every principal is still named above the fold, in 12 lines.
    top = above_the_fold(text)
    assert len(top.strip("\n").splitlines()) <= 12
    for i in range(60):
        assert re.search(rf"\buser{i:03} \(team payments, new\)", top)


def test_the_limit_holds_when_the_lines_above_the_fold_are_long() -> None:
    # A fleet of many clusters, each with lines that are not folded rows: cut all the same.
    sections = "\n".join(f"### cluster-{i}\n> :warning: {'x' * 300}\n- y\n<details>\n"
                          "<summary>s</summary>\n\n| a |\n|---|\n| b |\n\n</details>\n"
                          for i in range(400))  # fmt: skip
    text = comment.shorten(sections, comment.MAX_CHARS)
    assert len(text) <= comment.MAX_CHARS and "the full review is in" in text
    blocks = [t.content.strip().split("\n")[0] for t in GFM.parse(text) if t.type == "html_block"]
    assert blocks.count("<details>") == blocks.count("</details>")
    doc = doc_of([rule_change(principal=f"arn:aws:iam::1:user/u{i}", username=f"u{i}",
                              risk="secrets") for i in range(500)])  # fmt: skip
    (line,) = changes.warnings(doc, core.load(dev_raw()))[:1]
    assert line.endswith("and 490 more")


EXAMPLE = "add a user"
"""The everyday change whose comment the README shows."""


def readme_example(tmp: Path) -> str:
    """The comment for ``EXAMPLE`` as the README quotes it (``python -m tests.cli.test_comment``)."""
    row = next(r for r in everyday.ROWS if r.title == EXAMPLE)
    title = (
        f"{stackfile.read(everyday.DEV).load().cluster.name} (stack dev)"  # as `review` titles it
    )
    text = comment.markdown([(title, row_review(row, tmp))])
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines()) + "\n"


@pytest.mark.xdist_group(name="everyday")
def test_the_readme_shows_a_real_comment(tmp_path: Path) -> None:
    assert readme_example(tmp_path) in (ROOT / "docs" / "review.md").read_text()


if __name__ == "__main__":
    import tempfile

    print(readme_example(Path(tempfile.mkdtemp())), end="")


def test_deleted_iam_users_and_keys_and_a_lockout_stop_lead_the_comment(tmp_path: Path) -> None:
    """Removing a whole team: the IAM users and keys it deletes, and the lockout guard's stop
    on the same change, are in the headline, above the fold, not only in the folded table."""
    from cli.common import lockout_stops
    from eks_access import operations
    from offline import run

    base_raw = dev_raw()
    head_raw = dev_raw()
    head_raw["eks-access:teams"] = [t for t in head_raw["eks-access:teams"]
                                    if t["name"] in ("platform",)]  # fmt: skip
    plans, configs = [], []
    for name, raw in (("b", base_raw), ("h", head_raw)):
        (tmp_path / name).mkdir()
        stack = stackfile.read(write_stack(tmp_path / name, raw, "dev"))
        plans.append(run.run(stack))
        configs.append(stack.load())
    before, after = (p.resources for p in plans)
    ops = operations.compute(before, after)
    stops = lockout_stops(plans[0], plans[1], ops, stack, False)
    assert stops, "removing every user but none of the roles stops the lockout guard"
    doc = changes.review_document(configs[0], configs[1], ops=ops, stops=stops)
    text = comment.markdown([("dev", doc)])
    top = above_the_fold(text)
    headline = top.splitlines()[1]
    done = doc.operations or ()
    users = sum(1 for o in done if o.op == "delete" and o.type == "aws:iam/user:User")
    keys = sum(1 for o in done if o.op == "delete" and o.type == "aws:iam/accessKey:AccessKey")
    assert users == 4 and keys == 2  # eks_user, alice, bob, carol; eks_user v1, alice 2026-11
    assert (
        f"IAM users and keys deleted or replaced: {users} IAM users and {keys} access keys"
        in headline
    )
    assert "`pulumi up` stops (1)" in headline or "pulumi up stops (1)" in plain_text(headline)
    assert any(line.startswith("> :no_entry:") for line in top.splitlines())


def plain_text(markdown: str) -> str:
    return "".join(plain(t) for t in GFM.parse(markdown) if t.type == "inline")


@pytest.mark.parametrize("title", ["add a user", "remove a user", "rename a team"])
def test_operations_are_listed_in_the_order_the_engine_runs_them(title: str) -> None:
    """Creates after what they depend on (parent, dependsOn), deletes before what they depend
    on, all deletes after the program's own steps: checked against the plans' own dependency
    data, not against a list of types."""
    from eks_access import operations

    before, after = everyday.planned(title)
    olds = {r.urn: r.to_json() for r in before.resources}
    news = {r.urn: r.to_json() for r in after.resources}
    computed = [o for o in operations.compute(before.resources, after.resources) if o.op != "same"]
    shown = [o.to_json() for o in computed]
    listed = comment._operations(replace(doc_of(), operations=tuple(computed)))
    names = [line.split("|")[2].strip() for line in listed[2:]
             if line.startswith("| ") and line.split("|")[1].strip() in operations.ORDER]  # fmt: skip
    at = {f"{comment.cell(o['type'])} {comment.cell(o['name'])}": i for i, o in enumerate(
        sorted(shown, key=lambda o: names.index(f"{comment.cell(o['type'])} {comment.cell(o['name'])}")))}  # fmt: skip
    where = {o["urn"]: at[f"{comment.cell(o['type'])} {comment.cell(o['name'])}"] for o in shown}

    def deps(reg: dict[str, Any]) -> set[str]:
        inputs = reg["options"].get("propertyDependencies", {}).values()
        return {reg.get("parent") or "", *reg["options"].get("dependsOn", [])}.union(*inputs) - {""}

    checked = 0
    for o in shown:
        if o["op"] == "delete":
            for other in shown:  # whatever depended on it went first
                if other["op"] == "delete" and o["urn"] in deps(olds[other["urn"]]):
                    assert where[other["urn"]] < where[o["urn"]], (other["urn"], o["urn"])
                    checked += 1
            assert all(where[o["urn"]] > where[p["urn"]] for p in shown if p["op"] != "delete")
        else:
            for dep in deps(news[o["urn"]]):
                if dep in where:
                    assert where[dep] < where[o["urn"]], (dep, o["urn"])
                    checked += 1
    assert checked, "nothing in this change depends on anything else in it"


def test_a_new_user_without_a_key_is_told_it_cannot_log_in(tmp_path: Path) -> None:
    base = dev_raw()
    head = dev_raw()
    everyday.team(head, "payments")["users"] += ["dave", {"name": "erin", "keys": ["v1"]}]
    text = above_the_fold(comment.markdown([("dev", review_of(base, head, tmp_path))]))
    dave = next(line for line in text.splitlines() if line.startswith("- dave"))
    erin = next(line for line in text.splitlines() if line.startswith("- erin"))
    assert changes.NO_KEY.split(":")[0] in dave and "no access key" not in erin


def test_the_comment_names_the_iam_principal_behind_another_username(tmp_path: Path) -> None:
    base = dev_raw()
    head = dev_raw()
    everyday.team(head, "auditors")["users"].append({"name": "zed", "username": "carol-2"})
    text = above_the_fold(comment.markdown([("dev", review_of(base, head, tmp_path))]))
    assert "carol\\-2 (IAM user zed; team auditors, new)" in text or (
        "carol-2 (IAM user zed; team auditors, new)" in text
    )
    # where the names agree, nothing is added
    assert "carol (team" not in text and "(IAM user carol" not in text
