"""The HTML report (``access --format html``, ``review --format html``) in a real browser.

Debian's Chromium, driven headless by Playwright, opens the page with every network request
refused: it must render, the filter must narrow the matrix, and a screenshot is kept in
``test-artifacts/``. ``.ci/run`` installs Chromium and sets ``EKS_ACCESS_REQUIRE_CHROMIUM=1``,
so there a missing browser fails; elsewhere the browser tests skip and say why.
"""

from __future__ import annotations

import copy
import html.parser
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eks_access import authz, changes, report, stackfile
from tests import everyday
from tests.conftest import DEV, ROOT, cli, write_stack

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root in a container
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return next((p for n in ("chromium", "chromium-browser") if (p := shutil.which(n))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        message = (
            "headless Chromium not found: install Debian's `chromium` package "
            "(apt-get install chromium) to run the HTML report tests; .ci/run does"
        )
        if os.environ.get("EKS_ACCESS_REQUIRE_CHROMIUM"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, timeout=120_000)
        yield b
        b.close()


class Page:
    """A report opened in Chromium; every request other than the page itself is refused and
    recorded, and so is every script error."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        url = path.resolve().as_uri()

        def route(r: Any) -> None:
            if r.request.url == url:
                r.continue_()
            else:
                self.requests.append(r.request.url)
                r.abort()

        self.page.route("**/*", route)
        self.page.goto(url, wait_until="load", timeout=60_000)

    def visible_rows(self) -> list[str]:
        rows: list[str] = self.page.eval_on_selector_all(
            "#matrix tbody tr",
            "rs => rs.filter(r => r.offsetParent !== null).map(r => r.innerText)",
        )
        return rows

    def type(self, text: str) -> None:
        self.page.fill("#filter", text)


def run(*args: str, seed: str = "0") -> subprocess.CompletedProcess[str]:
    """In a process of its own: the page must not depend on the hash seed."""
    return cli(*args, env={"PYTHONHASHSEED": seed})


class Links(html.parser.HTMLParser):
    """Every URL the page would load (src, href, url(...)): a self-contained page has none."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


@pytest.fixture(scope="module")
def access_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = run("access", "--config-file", str(DEV), "--format", "html")
    assert out.returncode == 0, out.stderr
    path = tmp_path_factory.mktemp("report") / "access.html"
    path.write_text(out.stdout)
    return path


def test_the_same_config_gives_the_same_page(access_page: Path) -> None:
    """An artifact that changes when nothing did would be noise in every review."""
    again = run("access", "--config-file", str(DEV), "--format", "html", seed="12345")
    assert again.stdout == access_page.read_text()


def test_the_page_is_self_contained(access_page: Path) -> None:
    text = access_page.read_text()
    links = Links()
    links.feed(text)
    assert links.urls == []
    assert "url(" not in text and "@import" not in text


def test_the_graph_is_laid_out_by_networkx(dev_config: Any) -> None:
    g = report.graph(authz.state_of(dev_config))
    layers = {d["kind"] for _, d in g.nodes(data=True)}
    assert layers == set(report.LAYERS)
    # alice reaches Kubernetes' edit role through her team's group and its RoleBindings.
    assert "group:eks-access:payments" in g.successors("principal:alice")
    paths = {tuple(p) for p in _paths(g, "principal:alice", "role:ClusterRole edit")}
    assert paths and all(p[1] == "group:eks-access:payments" for p in paths)
    # eks_user is bound by username, not through a group (the seed's Role "test").
    assert any(
        n.startswith("binding:RoleBinding default/test") for n in g.successors("principal:eks_user")
    )


def test_the_graph_says_when_a_rule_names_objects() -> None:
    from eks_access import config as core
    from tests.conftest import minimal_raw

    team = {"name": "ops", "users": ["dana"], "namespaces": ["apps"],
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"],
                       "verbs": ["get"]}]}  # fmt: skip
    g = report.graph(authz.state_of(core.load(minimal_raw(**{"eks-access:teams": [team]}))))
    labels = {d["label"] for _, d in g.nodes(data=True) if d["kind"] == "permission"}
    assert "get: secrets named db" in labels, labels


def _paths(g: Any, source: str, target: str) -> list[list[str]]:
    import networkx as nx

    return list(nx.all_simple_paths(g, source, target)) if target in g else []


def test_the_access_page_renders_and_filters(browser: Any, access_page: Path) -> None:
    page = Page(browser, access_page)
    try:
        assert page.page.title() == "Who can do what: stack dev, cluster dev"
        everything = page.visible_rows()
        assert len(everything) > 50
        assert page.page.inner_text("#count") == f"{len(everything)} of {len(everything)} rows"
        # The graph is drawn: a circle per principal, group, binding, role and permission.
        circles = page.page.eval_on_selector_all("#graph circle", "cs => cs.length")
        state = authz.state_of(stackfile.read(DEV).load())
        assert circles == report.graph(state).number_of_nodes() > len(state.identities)
        box = page.page.eval_on_selector("#graph", "g => g.getBoundingClientRect().height")
        assert box > 200

        page.type("carol")  # the auditor: view, cluster-wide
        rows = page.visible_rows()
        assert rows and all("carol" in r for r in rows)
        assert len(rows) < len(everything)
        assert page.page.inner_text("#count") == f"{len(rows)} of {len(everything)} rows"

        page.type("alice payments-jobs secrets")  # words narrow together
        rows = page.visible_rows()
        assert rows and all("alice" in r and "payments-jobs" in r and "secrets" in r for r in rows)
        page.type("nobody-has-this")
        assert page.visible_rows() == []
        page.type("")
        assert len(page.visible_rows()) == len(everything)

        ARTIFACTS.mkdir(exist_ok=True)
        page.page.screenshot(path=str(ARTIFACTS / "access-report.png"), full_page=False)
        assert (ARTIFACTS / "access-report.png").stat().st_size > 10_000
        assert page.requests == [] and page.errors == []
    finally:
        page.page.close()


def review_page(tmp_path: Path, raw: dict[str, Any], head_raw: dict[str, Any]) -> Path:
    """The review page of a change from one stack config to another, as `review` writes it."""
    (tmp_path / "b").mkdir()
    (tmp_path / "h").mkdir()
    base = stackfile.read(write_stack(tmp_path / "b", raw, "dev")).load()
    head = stackfile.read(write_stack(tmp_path / "h", head_raw, "dev")).load()
    doc = changes.review_document(base, head)
    path = tmp_path / "review.html"
    path.write_text(report.page("Access review", report.review_sections(base, head, doc)))
    return path


def test_the_review_page_marks_gained_and_lost(browser: Any, tmp_path: Path) -> None:
    raw = copy.deepcopy(yaml.safe_load(DEV.read_text())["config"])
    head_raw = copy.deepcopy(raw)
    everyday.team(head_raw, "payments")["users"].append("dave")
    everyday.team(head_raw, "auditors")["users"] = []
    everyday.team(head_raw, "auditors")["roles"] = [
        {"arn": "arn:aws:iam::111122223333:role/auditor", "username": "auditor:{{SessionName}}"}
    ]
    page = Page(browser, review_page(tmp_path, raw, head_raw))
    try:
        page.type("dave")
        rows = page.page.eval_on_selector_all(
            "#matrix tbody tr:not([hidden]) td.gained", "cs => cs.length"
        )
        lost = page.page.eval_on_selector_all(
            "#matrix tbody tr:not([hidden]) td.lost", "cs => cs.length"
        )
        assert rows > 0 and lost == 0
        page.type("carol")
        assert (
            page.page.eval_on_selector_all(
                "#matrix tbody tr:not([hidden]) td.lost", "cs => cs.length"
            )
            > 0
        )
        assert (
            page.page.eval_on_selector_all(
                "#matrix tbody tr:not([hidden]) td.gained", "cs => cs.length"
            )
            == 0
        )
        summary = page.page.inner_text("ul:not(.warn)")
        assert "dave (payments): gains edit in payments, payments-jobs" in summary
        assert "carol (auditors): loses view cluster-wide" in summary
        page.type("dave secrets")
        ARTIFACTS.mkdir(exist_ok=True)  # the README's picture is this one
        page.page.screenshot(path=str(ARTIFACTS / "review-report.png"), full_page=True)
        assert page.requests == [] and page.errors == []
    finally:
        page.page.close()


def test_named_objects_urls_and_hostile_names_on_the_review_page(
    browser: Any, tmp_path: Path
) -> None:
    # The grid never names an object or a URL: the permission table does, and a name made to
    # be HTML stays text (no request for "x", no script run).
    raw = copy.deepcopy(yaml.safe_load(DEV.read_text())["config"])
    head_raw = copy.deepcopy(raw)
    head_raw["eks-access:teams"].append(
        {"name": "ops", "namespaces": ["apps"],
         "roles": [{"arn": "arn:aws:iam::111122223333:role/evil",
                    "username": "<img src=x onerror=alert(1)>"}],
         "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db-password"],
                    "verbs": ["get"]}],
         "clusterRules": [{"nonResourceURLs": ["/debug/pprof/*"], "verbs": ["get"]}]}
    )  # fmt: skip
    page = Page(browser, review_page(tmp_path, raw, head_raw))
    try:
        page.type("onerror")
        shown = page.page.eval_on_selector_all(
            "#changes tbody tr", "rs => rs.filter(r => !r.hidden).map(r => r.innerText)"
        )
        text = "\n".join(shown)
        assert "secrets db-password" in text and "/debug/pprof/*" in text, text
        assert "<img src=x onerror=alert(1)>" in text  # shown as itself
        assert page.page.eval_on_selector_all("img", "is => is.length") == 0
        assert page.requests == [] and page.errors == []
    finally:
        page.page.close()
