"""Every bad input refused clearly: the corpus of malformed stack files and command lines
(``tests/bad_inputs.py``), each with its exit code and message; a property test that no
command line ever ends in a traceback; and the command line as a tool people script (JSON,
help, exit codes, pipes, progress, the installed entry point)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main as cli_module
from tests import bad_inputs
from tests.conftest import DEV, ROOT

COUNTS_DIR = Path(__file__).resolve().parents[2] / ".pytest-bad-input-counts"
BIN = Path(sys.executable).parent


def run_cli(argv: list[str], invoke: Any) -> tuple[int, str, str]:
    r = invoke(*argv)
    return r.returncode, r.stdout, r.stderr


def _record(kind: str, n: int) -> None:
    COUNTS_DIR.mkdir(exist_ok=True)
    (COUNTS_DIR / f"{kind}.json").write_text(json.dumps({kind: n}))


def summary() -> str | None:
    """For the test run's last lines (tests/conftest.py)."""
    found: dict[str, int] = {}
    for part in sorted(COUNTS_DIR.glob("*.json")):
        for key, n in json.loads(part.read_text()).items():
            kind = key.rsplit("-", 1)[0] if key.rsplit("-", 1)[-1].isdigit() else key
            found[kind] = found.get(kind, 0) + n  # drawn counts are per worker
    if not found:
        return None
    drawn = ", ".join(f"{found[k]} {w}" for k, w in DRAWN.items() if found.get(k))
    return (
        f"bad input: {found.get('stacks', 0)} malformed stack files and "
        f"{found.get('commands', 0)} malformed command lines, each refused with its exit code "
        "and message, no traceback"
        + (f"; {found['esc-cases']} ESC cases" if found.get("esc-cases") else "")
        + (f"; drawn: {drawn}" if drawn else "")
    )


DRAWN = {
    "esc-drawn": "ESC environments",
    "look-alikes": "look-alike or padded names",
    "encodings": "config encodings (JSON strings, anchors, merge keys)",
}
"""Counts of the hypothesis strategies per class of bad input, for the summary."""


def record_drawn(kind: str) -> None:
    """One more drawn example of ``kind`` (a key of DRAWN), for the summary."""
    _drawn[kind] = _drawn.get(kind, 0) + 1
    _record(f"{kind}-{os.getpid()}", _drawn[kind])


_drawn: dict[str, int] = {}


# --- the corpus -----------------------------------------------------------------------------------

STACKS = bad_inputs.stacks()


def test_the_corpus_is_as_large_as_promised() -> None:
    assert len({s.name for s in STACKS}) == len(STACKS) >= 80
    assert len({c.name for c in bad_inputs.commands()}) == len(bad_inputs.commands()) >= 20
    assert len({s.text for s in STACKS}) == len(STACKS)  # distinct files, not one file 80 times


@pytest.mark.xdist_group(name="bad-input")
def test_every_malformed_stack_file_is_refused_clearly(tmp_path: Path, invoke: Any) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    failures = []
    for n, bad in enumerate(STACKS):
        stack = tmp_path / f"Pulumi.bad{n}.yaml"
        stack.write_text(bad.text)
        for name, text in bad.files.items():
            (tmp_path / name).parent.mkdir(exist_ok=True)
            (tmp_path / name).write_text(text)
        out = tmp_path / f"out{n}"
        code, stdout, stderr = run_cli(
            ["plan", "--config-file", str(stack), "--out", str(out)], invoke
        )
        for name in bad.files:
            (tmp_path / name).unlink()
        text = stdout + stderr
        if code != bad.code or bad.fragment not in text or "Traceback" in text or out.exists():
            failures.append(
                f"{bad.name}: exit {code}, wanted {bad.code} with {bad.fragment!r}:\n{text}"
            )
        # Each problem is one line with its path: no message runs over, none is echoed whole.
        assert all(len(line) < 600 for line in stderr.splitlines()), bad.name
    assert not failures, "\n\n".join(failures)
    _record("stacks", len(STACKS))


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    project = tmp_path / "proj"
    project.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project)
    api = yaml.safe_load(DEV.read_text())
    api["config"]["eks-access:cluster"].update(authenticationMode="API", nodeAccessEntries="create")
    (project / "Pulumi.api.yaml").write_text(yaml.safe_dump(api))
    ref = yaml.safe_load(DEV.read_text())
    ref["config"]["eks-access:identity"] = {
        "mode": "reference",
        "account": "111122223333",
        "stack": "acme/eks-access/identity",
    }
    (project / "Pulumi.ref.yaml").write_text(yaml.safe_dump(ref))
    owner = {"aws:region": "us-east-1", "eks-access:identity": {"mode": "owner",
             "account": "111122223333"}, "eks-access:teams": [{"name": "x", "users": ["nobody"]}]}  # fmt: skip
    (project / "Pulumi.identity.yaml").write_text(yaml.safe_dump({"config": owner}))
    (tmp_path / "plain.txt").write_text("not a stack\n")
    return {
        "dev": str(DEV),
        "tmp": str(tmp_path),
        "file": str(tmp_path / "plain.txt"),
        "api": str(project / "Pulumi.api.yaml"),
        "unowned": str(project / "Pulumi.ref.yaml"),
        "awsauth": str(ROOT / "tests" / "fixtures" / "adopt" / "aws-auth.yaml"),
    }


@pytest.mark.xdist_group(name="bad-input")
def test_every_malformed_command_line_is_refused_clearly(
    places: dict[str, str], invoke: Any
) -> None:
    failures = []
    cwd = os.getcwd()
    os.chdir(ROOT)  # `review` and `stacks` run git in the project
    try:
        for bad in bad_inputs.commands():
            argv = [a.format(**places) for a in bad.argv]
            code, stdout, stderr = run_cli(argv, invoke)
            text = stdout + stderr
            if code != bad.code or bad.fragment not in text or "Traceback" in text:
                failures.append(
                    f"{bad.name}: exit {code}, wanted {bad.code} / {bad.fragment!r}:\n{text}"
                )
            if code == 2:  # one line per problem, each short and prefixed
                for line in stderr.strip().splitlines():
                    assert line.startswith(("error:", "usage:", "  ", "eks-access")), line
                    assert len(line) < 600, line
    finally:
        os.chdir(cwd)
    assert not failures, "\n\n".join(failures)
    _record("commands", len(bad_inputs.commands()))


# --- no input ever ends in a traceback ---------------------------------------------------------------

WORDS = st.sampled_from(
    ["plan", "can-i", "who-can", "access", "review", "migrate", "import", "stacks", "--as",
     "--config-file", "--out", "--format", "json", "--base", "-n", "--subresource", "get",
     "pods", "/healthz", "--to", "API", "--version", "--help", "arn:aws:iam::111122223333:user/x",
     "ARN:AWS:IAM::1:USER/X", "arn:aws:sts::111122223333:assumed-role/a/b", "", "-", "--",
     "\x00", "é", "{dev}", "{bad}", "{missing}"]
)  # fmt: skip


@settings(
    max_examples=int(os.environ.get("BAD_INPUT_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(argv=st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=8))
def test_no_command_line_ends_in_a_traceback(argv: list[str], tmp_path_factory: Any) -> None:
    tmp = tmp_path_factory.mktemp("argv")
    shutil.copy(ROOT / "Pulumi.yaml", tmp)
    (tmp / "Pulumi.bad.yaml").write_text("config:\n  aws:region: [\n")
    values = {"dev": str(DEV), "bad": str(tmp / "Pulumi.bad.yaml"), "missing": str(tmp / "x")}
    argv = [a.format(**values) if a.startswith("{") and a.endswith("}") else a for a in argv]
    if values["dev"] in argv and {"plan", "review", "migrate", "import"} & set(argv):
        return  # these run the Pulumi program on a valid stack: the corpus covers their errors
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp)  # nothing a random command writes lands in the repository
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli_module.main(argv)  # an exception here fails the test: a traceback
    finally:
        os.chdir(cwd)
    assert code in (0, 1, 2, 3)


# --- the command line as a tool people script --------------------------------------------------------


def shell(*argv: str, cwd: Path = ROOT, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, **kw)


def test_every_command_has_help_with_its_exit_codes() -> None:
    readme = (ROOT / "docs" / "cli.md").read_text()
    for line in cli_module.EXIT_CODES.splitlines()[1:]:
        code = line.strip()[:1]
        if code.isdigit():
            assert f"| {code} |" in readme, f"docs/cli.md's exit code table lacks {code}"
    parser = cli_module.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():  # type: ignore[union-attr]
        text = command.format_help()
        assert "exit codes:" in text and command.description, name
        for action in command._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.option_strings or action.dest}"
        assert "AS_" not in text


def test_the_installed_command_works_from_any_folder(tmp_path: Path) -> None:
    exe = BIN / "eks-access"
    if not exe.exists():
        pytest.skip("eks-access is not installed in this environment (make install does it)")
    version = shell(str(exe), "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("eks-access ")
    r = shell(
        str(exe), "plan", "--config-file", str(DEV), "--out", str(tmp_path / "o"), cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o" / "plan.json").is_file()


@pytest.mark.parametrize(
    "argv",
    [
        ["can-i", "get", "pods", "-n", "payments", "--as", "arn:aws:iam::111122223333:user/alice"],
        ["who-can", "get", "secrets", "-n", "payments"],
        ["access"],
    ],
    ids=["can-i", "who-can", "access"],
)
def test_json_for_one_and_several_stacks(argv: list[str], invoke: Any) -> None:
    staging, prod = ROOT / "Pulumi.staging.yaml", ROOT / "Pulumi.prod.yaml"
    code, out, _ = run_cli([*argv, "--format", "json", "--config-file", str(DEV)], invoke)
    one = json.loads(out)
    assert isinstance(one, dict) and code in (0, 1)
    code, out, _ = run_cli(
        [*argv, "--format", "json", "--config-file", str(staging), str(prod)], invoke
    )
    several = json.loads(out)
    assert [d["stack"] for d in several] == ["staging", "prod"]


def test_json_of_plan_and_migrate(tmp_path: Path, invoke: Any) -> None:
    code, out, _ = run_cli(
        ["plan", "--config-file", str(DEV), "--out", str(tmp_path), "--format", "json"], invoke
    )
    doc = json.loads(out)
    assert code == 0 and doc["mappedPrincipals"] == 6 and "plan.json" in doc["files"]
    assert doc["policy"]["mandatory"] == []
    r = shell(sys.executable, "-m", "eks_access", "migrate", "--config-file", str(DEV),
              "--to", "API_AND_CONFIG_MAP", "--format", "json")  # fmt: skip
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["safe"] is True and len(doc["steps"]) == 2


def test_a_closed_pipe_ends_quietly() -> None:
    r = shell(
        "bash",
        "-c",
        f"{sys.executable} -m eks_access access --config-file {DEV} --format json | head -c 10",
    )
    assert r.returncode == 0 and "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr


def test_import_checks_before_it_writes(tmp_path: Path, invoke: Any) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    target = tmp_path / "Pulumi.prod.yaml"
    target.write_text("config: {keep: me}\n")
    argv = ["import", "--aws-auth", str(ROOT / "tests/fixtures/adopt/aws-auth.yaml"),
            "--cluster", "prod", "--region", "us-east-1", "--out", str(target)]  # fmt: skip
    code, _, err = run_cli(argv, invoke)
    assert code == 2 and "exists" in err and target.read_text() == "config: {keep: me}\n"
    code, out, _ = run_cli([*argv, "--force"], invoke)
    assert code in (0, 1) and "wrote" in out and "keep: me" not in target.read_text()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".eks-access")]
    assert leftovers == []


def test_a_failed_plan_leaves_no_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert shell(sys.executable, "-m", "eks_access", "plan", "--config-file", str(DEV),
                 "--out", str(out)).returncode == 0  # fmt: skip
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    bad = tmp_path / "Pulumi.dev.yaml"
    bad.write_text(DEV.read_text().replace("name: payments", "name: Bad_Name"))
    r = shell(
        sys.executable, "-m", "eks_access", "plan", "--config-file", str(bad), "--out", str(out)
    )
    assert r.returncode == 2 and list(out.iterdir()) == []


def test_progress_is_drawn_only_on_a_terminal(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "eks_access", "plan", "--config-file", str(DEV)]
    piped = shell(*argv, "--out", str(tmp_path / "a"))
    assert "resources" not in piped.stderr  # no bar in logs and pipes
    leader, follower = pty.openpty()
    # A terminal 100 columns wide (a fresh pty has none, and tqdm then draws nothing).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen(
        [*argv, "--out", str(tmp_path / "b")], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=follower
    )
    os.close(follower)
    chunks = []
    while True:  # read while it runs: a full terminal buffer would stall the plan
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=300) == 0
    drawn = b"".join(chunks).decode(errors="replace")
    assert "planning dev" in drawn and "resources" in drawn


def test_requirements_hold_what_plan_needs() -> None:
    runtime = (ROOT / "requirements.txt").read_text()
    for package in ("pulumi-policy", "pydantic", "ruamel.yaml", "botocore", "tqdm"):
        assert package in runtime, package
    assert "pulumi-policy" not in (ROOT / "requirements-dev.txt").read_text()


def test_an_empty_file_names_each_missing_key_once(tmp_path: Path, invoke: Any) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.e.yaml").write_text("config: {}\n")
    code, _, err = run_cli(
        ["plan", "--config-file", str(tmp_path / "Pulumi.e.yaml"), "--out", str(tmp_path / "o")],
        invoke,
    )
    assert code == 2 and "(2 problems)" in err
    problems = [line for line in err.splitlines() if line.startswith("  ")]
    assert [p.split(":")[0:2] for p in problems] == [
        ["  aws", "region"],
        ["  eks-access", "cluster"],
    ]


def test_a_stack_run_in_another_account_than_its_node_roles_stops(tmp_path: Path) -> None:
    import pulumi

    from eks_access import stackfile
    from offline.mocks import PlaceholderCloud
    from offline.run import run
    from tests.conftest import write_stack

    stack = stackfile.read(write_stack(tmp_path, yaml.safe_load(DEV.read_text())["config"]))
    elsewhere = PlaceholderCloud("444455556666", "us-east-1")
    with pytest.raises(pulumi.RunError, match="says account 111122223333, but this stack runs"):
        run(stack, elsewhere)
