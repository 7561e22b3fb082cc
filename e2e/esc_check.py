"""make e2e step 7: the offline plan's ESC resolution against Pulumi ESC's own evaluator.

Every environment in ``tests/fixtures/esc_cases.yaml`` and a fixed draw of
``tests.strategies.esc_environments`` is evaluated twice: by ``eks_access.esc`` (what the plan
reads) and by ``github.com/pulumi/esc/eval`` (``e2e/esceval``, pinned), from the same files. A
disagreement fails the step:
- ESC fails and the plan resolves (the plan took something literally ESC refuses);
- both resolve and the config or which keys are secret differ;
- the plan stops where ESC resolves, except for what the plan refuses by design: a secret under
  the project's keys, and what only ESC evaluates (``esc: resolves`` in the cases file).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from eks_access import esc

# Stops by design where ESC resolves: the plan never takes these, whatever ESC gives.
BY_DESIGN = ("holds a secret",)


def esc_eval(
    binary: Path, environment: Any, files: dict[str, Any], texts: dict[str, str] | None = None
) -> dict[str, Any]:
    """ESC's answer for the stack's ``environment:``, from ``files`` (name -> definition) and
    ``texts`` (name -> a file's raw text)."""
    with tempfile.TemporaryDirectory(prefix="eks-access-esc-") as work:
        folder = Path(work)
        for name, definition in files.items():
            (folder / f"{name}.yaml").write_text(yaml.safe_dump(definition, sort_keys=False))
        for name, text in (texts or {}).items():
            (folder / f"{name}.yaml").write_text(text)
        (folder / "definition.yaml").write_text(
            yaml.safe_dump(esc.definition(environment, "stack"), sort_keys=False)
        )
        done = subprocess.run(
            [str(binary), str(folder), str(folder / "definition.yaml")],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def ours(
    environment: Any, files: dict[str, Any], texts: dict[str, str] | None = None
) -> esc.Resolved | esc.EscError:
    from eks_access import stackfile

    def load(name: str) -> tuple[str, Any] | None:
        short = name.rsplit("/", 1)[-1]
        if short in (texts or {}):
            try:
                return f"esc/{short}.yaml", stackfile.esc_document((texts or {})[short])
            except Exception as e:
                raise esc.EscError(f"esc/{short}.yaml cannot be read: {e}") from None
        found = files.get(short)
        return None if found is None else (f"esc/{name}.yaml", found)

    try:
        return esc.resolve(environment, load, "stack")
    except esc.EscError as e:
        return e


def disagreement(
    environment: Any,
    files: dict[str, Any],
    theirs: dict[str, Any],
    allowed_stop: bool = False,
    texts: dict[str, str] | None = None,
) -> str | None:
    """Why the two answers differ, or None."""
    mine = ours(environment, files, texts)
    failed = bool(theirs["diagnostics"])
    if isinstance(mine, esc.EscError):
        if failed or allowed_stop or any(m in str(mine) for m in BY_DESIGN):
            return None
        return f"ESC resolves {theirs['pulumiConfig']!r}, the plan stops: {mine}"
    if failed:
        return f"ESC fails ({'; '.join(theirs['diagnostics'])}), the plan reads {mine.config!r}"
    config = theirs["pulumiConfig"] or {}
    if mine.config != config:
        return f"ESC gives {config!r}, the plan {mine.config!r}"
    secret = {p.split(".", 2)[1] for p in theirs["secrets"] if p.count(".") >= 1}
    if set(mine.secret_keys) != secret:
        return f"ESC's secret keys {sorted(secret)}, the plan's {sorted(mine.secret_keys)}"
    return None


def check(binary: Path, cases_file: Path, drawn: int) -> tuple[int, int, list[str]]:
    """(cases compared, drawn environments compared, disagreements)."""
    problems: list[str] = []
    cases = yaml.safe_load(cases_file.read_text())
    for case in cases:
        if case.get("esc") == "not compared":
            continue
        files, texts = case.get("files", {}), case.get("texts", {})
        theirs = esc_eval(binary, case["environment"], files, texts)
        why = disagreement(case["environment"], files, theirs, case.get("esc") == "resolves", texts)
        if why:
            problems.append(f"case {case['name']!r}: {why}")
        elif "expect" in case and (theirs["pulumiConfig"] or {}) != case["expect"]["config"]:
            problems.append(f"case {case['name']!r}: ESC gives {theirs['pulumiConfig']!r}")
    compared = sum(1 for c in cases if c.get("esc") != "not compared")

    from hypothesis import HealthCheck, given, settings

    from tests import strategies

    seen: list[int] = []

    @settings(max_examples=drawn, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategies.esc_environments())
    def each(env: dict[str, Any]) -> None:
        seen.append(1)
        theirs = esc_eval(binary, env["environment"], env["files"])
        if why := disagreement(env["environment"], env["files"], theirs):
            problems.append(f"drawn {json.dumps(env)}: {why}")

    each()
    return compared, len(seen), problems
