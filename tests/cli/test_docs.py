"""The README is a landing page that links the reference in docs/, and what it shows works."""

from __future__ import annotations

import re

import yaml

from eks_access import config as core
from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))


def test_the_readme_is_a_landing_page() -> None:
    assert len(README.read_text().splitlines()) <= 300


def test_every_link_to_a_page_points_at_one_that_exists() -> None:
    for page in [README, *DOCS]:
        for target in re.findall(r"\]\(([^)#]+\.md)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).resolve().is_file(), f"{page.name}: {target}"
    linked = set(re.findall(r"\(docs/([^)#]+\.md)", README.read_text()))
    assert linked == {p.name for p in DOCS}, "every reference page is linked from the README"


def test_the_readme_example_is_a_valid_stack_config() -> None:
    (block,) = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    loaded = core.load(yaml.safe_load(block)["config"])
    assert [t.name for t in loaded.teams] == ["payments", "auditors"]


def test_the_readme_names_every_command() -> None:
    """The landing page's list of commands is the parser's, neither more nor fewer."""
    import re

    from cli.main import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    listed = re.search(r"\(`eks-access ([a-z| \n-]+)`", (ROOT / "README.md").read_text())
    assert listed is not None
    assert set(listed[1].replace("\n", " ").split(" | ")) == set(sub.choices)  # type: ignore[attr-defined]
