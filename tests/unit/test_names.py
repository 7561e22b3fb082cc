"""Names a reviewer cannot tell apart are refused: look-alike, padded and invisible-character
usernames and groups (``eks_access.names``, ICU's UTS #39 spoof checker)."""

from __future__ import annotations

import pytest
from hypothesis import given

from eks_access import config as core
from eks_access import names
from tests import strategies
from tests.cli import test_bad_input
from tests.conftest import minimal_raw


def team_of(*users: object, **more: object) -> dict[str, object]:
    return {"name": "t", "clusterAccess": "view", "users": list(users), **more}


@given(strategies.look_alike_pairs())
def test_a_look_alike_beside_its_original_is_refused(pair: tuple[str, str, str]) -> None:
    original, variant, how = pair
    test_bad_input.record_drawn("look-alikes")
    raw = minimal_raw(**{"eks-access:teams": [team_of(
        {"name": "first", "username": original}, {"name": "second", "username": variant})]})  # fmt: skip
    with pytest.raises(core.ConfigError) as e:
        core.load(raw)
    assert any(p.path == "teams[0].users[1].username" for p in e.value.problems), (how, e.value)


@given(strategies.look_alike_pairs())
def test_a_look_alike_group_beside_its_original_is_refused(pair: tuple[str, str, str]) -> None:
    original, variant, _ = pair
    test_bad_input.record_drawn("look-alikes")
    raw = minimal_raw(**{"eks-access:teams": [
        team_of("u1", group=original), {**team_of("u2", group=variant), "name": "t2"}]})  # fmt: skip
    with pytest.raises(core.ConfigError) as e:
        core.load(raw)
    assert any(p.path == "teams[1].group" for p in e.value.problems), e.value


def test_names_in_one_script_that_differ_are_kept() -> None:
    """Not everything non-Latin is refused: a name in one script (or Latin with Japanese, as
    UTS #39's highly restrictive level allows) is a name."""
    users = [{"name": f"u{i}", "username": n}
             for i, n in enumerate(["alice", "алиса", "佐藤:sato", "dev@example.com", "Ωmega-ops".lower()])]  # fmt: skip
    users = [u for u in users if names.problem(u["username"], "username", "") is None]
    assert len(users) == 4  # "ωmega-ops" mixes Greek and Latin
    core.load(minimal_raw(**{"eks-access:teams": [team_of(*users)]}))


def test_the_skeleton_is_unicodes() -> None:
    """Spot checks against UTS #39's confusables data (ICU 77, Unicode 16)."""
    assert names.skeleton("\u0430lice") == names.skeleton("alice")
    assert names.skeleton("m") == names.skeleton("rn")
    assert names.skeleton("bob1") == names.skeleton("bobl")
    assert names.skeleton("alice") != names.skeleton("alicf")
