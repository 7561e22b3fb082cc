"""The CI workflows parse, run what the README promises, and use no long-lived AWS keys; the
script that posts the review keeps one comment per stack (run against a stand-in ``gh``)."""

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from eks_access import comment

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
POST = ROOT / ".github" / "scripts" / "post_review.py"


def load(name):
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def steps(doc):
    return [s for job in doc["jobs"].values() for s in job["steps"]]


def test_pull_request_workflow_tests_reviews_and_previews():
    doc = load("pull-request.yml")
    assert "pull_request" in doc["on"]
    runs = " ".join(s.get("run", "") for s in steps(doc))
    assert "make lint" in runs and "make test" in runs
    # One review per stack the change touches: the comment posted or edited, the rest uploaded.
    review = doc["jobs"]["access-review"]
    assert review["strategy"]["matrix"]["stack"] == "${{ fromJson(needs.stacks.outputs.stacks) }}"
    runs = [s.get("run", "") for s in review["steps"]]
    command = next(r for r in runs if "eks-access review --base" in r)
    assert '--config-file "Pulumi.${{ matrix.stack }}.yaml"' in command
    assert "--artifacts review" in command and command.endswith("> review.md")
    assert any(".github/scripts/post_review.py" in r for r in runs)
    guard = next(r for r in runs if "eks-access plan --base" in r)
    assert '--config-file "Pulumi.${{ matrix.stack }}.yaml"' in guard  # exit 3 fails the job
    # ... but only after the review is uploaded and posted: a failed step skips the rest
    assert runs.index(guard) == len(runs) - 1
    assert "cancel-in-progress" in str(doc["concurrency"])
    upload = next(
        s for s in review["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")
    )
    assert upload["with"]["path"] == "review/"
    preview = next(s for s in steps(doc) if s.get("uses", "").startswith("pulumi/actions@"))
    assert preview["with"]["command"] == "preview" and preview["with"]["comment-on-pr"] is True
    assert preview["with"]["diff"] is True
    assert preview["with"]["policyPacks"] == "policy"  # the guardrails run in every preview


def test_deploy_on_main_runs_pulumi_up():
    doc = load("main.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    up = next(s for s in steps(doc) if s.get("uses", "").startswith("pulumi/actions@"))
    assert up["with"]["command"] == "up"
    assert up["with"]["policyPacks"] == "policy"
    (guard,) = [s for s in steps(doc) if "eks-access plan --base" in s.get("run", "")]
    assert "github.event.before" in guard["run"]
    assert guard["if"] == "github.event.before != '" + "0" * 40 + "'"  # a first push has none


def test_aws_credentials_come_from_oidc_only():
    for name in ("pull-request.yml", "main.yml", "expire.yml"):
        doc = load(name)
        text = (WORKFLOWS / name).read_text()
        assert doc["permissions"]["id-token"] == "write"
        assert "AWS_ACCESS_KEY_ID" not in text and "aws-secret-access-key" not in text
        creds = [
            s
            for s in steps(doc)
            if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")
        ]
        assert creds and all("role-to-assume" in s["with"] for s in creds)


FAKE_GH = textwrap.dedent("""\
    #!/usr/bin/env python3
    # A stand-in for `gh api`: the pull request's comments live in $FAKE_GH_STATE.
    import json, os, re, sys
    state = os.environ["FAKE_GH_STATE"]
    comments = json.load(open(state))
    args = sys.argv[2:]
    method = "GET"
    if args[0] == "--method":
        method, args = args[1], args[2:]
    path = args[0]
    body = open(args[2].split("@", 1)[1]).read() if len(args) > 2 else None
    if method == "GET":
        page = int(re.search(r"[?&]page=(\\d+)", path).group(1))
        print(json.dumps(comments[(page - 1) * 100 : page * 100]))
    elif method == "POST":
        comments.append({"id": 1000 + len(comments), "body": body,
                         "user": {"login": "github-actions[bot]"}})
    elif method == "PATCH":
        cid = int(path.rsplit("/", 1)[1])
        next(c for c in comments if c["id"] == cid)["body"] = body
    json.dump(comments, open(state, "w"))
""")


def test_the_review_is_one_comment_per_stack_edited_in_place(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    state = tmp_path / "comments.json"
    # 150 comments from people first: the stack's comment is looked for on every page. One of
    # them carries the marker: it is someone else's, and never edited.
    people = [{"id": i, "body": f"comment {i}", "user": {"login": "someone"}} for i in range(150)]
    people[3]["body"] = "<!-- eks-access review: stack dev -->\nLGTM, approved by security"
    state.write_text(json.dumps(people))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_GH_STATE": str(state),
           "GITHUB_REPOSITORY": "acme/infra", "PR": "7"}  # fmt: skip

    def post(stack, body):
        (tmp_path / "review.md").write_text(body)
        proc = subprocess.run([sys.executable, str(POST), stack, str(tmp_path / "review.md")],
                              env=env, capture_output=True, text=True, check=True)  # fmt: skip
        return proc.stdout, json.loads(state.read_text())

    out, comments = post("dev", "## Access review\nfirst\n")
    assert "posted" in out and len(comments) == 151
    assert (
        comments[-1]["body"] == "<!-- eks-access review: stack dev -->\n## Access review\nfirst\n"
    )
    out, comments = post("dev", "## Access review\nsecond\n")
    assert "edited" in out and len(comments) == 151
    assert comments[-1]["body"].endswith("second\n")
    out, comments = post("prod", "## Access review\nprod\n")
    assert len(comments) == 152 and comments[150]["body"].endswith("second\n")
    out, comments = post("dev", "")  # a stack that now maps nobody: the old review says so
    assert len(comments) == 152 and "it maps nobody" in comments[150]["body"]
    out, comments = post("staging", "")  # and one that never had a review gets none
    assert len(comments) == 152 and "no comment" in out
    assert [c["body"] for c in comments[:150]] == [p["body"] for p in people]
    # Over GitHub's limit (the marker included), the comment is cut, never refused.
    out, comments = post("prod", "## Access review\n" + "| a | b |\n" * 20_000)
    assert len(comments[151]["body"]) <= 65_536 and "review.json" in comments[151]["body"]
    # A review that `review` fitted to the limit, under a long stack name: cut by the same
    # rules (folds closed, the pointer to the artifact kept), the marker counted.
    fold = "<details>\n<summary>rows</summary>\n\n| a |\n|---|\n" + "| row |\n" * 20_000
    fitted = comment.shorten("## Access review\n" + fold + "</details>\n", comment.MAX_CHARS)
    out, comments = post("payments-prod-eu-central-1a-blue", fitted)
    body = comments[-1]["body"]
    assert len(body) <= 65_536 and "review.json" in body
    assert body.count("<details>") == body.count("</details>") == 1


NOW = "2026-12-06T10:00:00Z"


def _git_says(command: str) -> str:
    out = subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _commands(doc):
    """Each command of the workflow's `run` steps, ``$(...)`` substitutions included, with
    ``${{ ... }}`` replaced by a word; `python -m eks_access` is `eks-access`."""
    for step in steps(doc):
        text = re.sub(r"\\\n\s*", " ", step.get("run", ""))  # continuation lines joined
        for line in text.splitlines():
            # a time the run takes once (`now`): any time will do for the parser
            line = re.sub(r"\$\{\{ *needs\.ended\.outputs\.now *\}\}|\$now", NOW, line)
            line = re.sub(r"\$\{\{[^}]*\}\}", "X", line)
            inner = re.findall(r"\$\(([^)]*)\)", line)
            # A `git` substitution in an argument is git's to answer, here in this repository.
            line = re.sub(r"\$\((git [^)]*)\)", lambda m: _git_says(m[1]), line)
            for part in [line.split(" > ", 1)[0], *inner]:
                part = part.strip()
                if not part or part.startswith("#"):
                    continue
                argv = shlex.split(part)
                if argv[1:3] == ["-m", "eks_access"]:
                    argv = ["eks-access", *argv[3:]]
                yield argv


def test_every_command_the_workflows_run_exists_as_written():
    """Judged by what runs them, not restated: each `eks-access` command line parses with the
    command line's own parser (a renamed flag fails here), and each `make` target is one the
    Makefile defines (make itself answers)."""
    from cli.main import build_parser

    seen = set()
    for name in ("pull-request.yml", "main.yml", "expire.yml"):
        for argv in _commands(load(name)):
            if argv[0].endswith("eks-access"):
                build_parser().parse_args(argv[1:])  # SystemExit(2) on an unknown flag
                seen.add(argv[1])
            elif argv[0] == "make":
                for target in argv[1:]:
                    proc = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True,
                                          text=True, check=False)  # fmt: skip
                    assert proc.returncode == 0, (name, target, proc.stderr)
                    seen.add(f"make {target}")
    assert {"plan", "review", "stacks", "expiring", "make test", "make lint"} <= seen


def test_the_expiry_run_is_hourly_guarded_and_ends_with_a_pull_request():
    doc = load("expire.yml")
    assert doc["on"]["schedule"] == [{"cron": "7 * * * *"}] and "workflow_dispatch" in doc["on"]
    assert "stacks --ended" in doc["jobs"]["ended"]["steps"][-1]["run"]
    up = doc["jobs"]["up"]
    # its own lock: a queued hourly run must never cancel a merge's pending deploy
    assert up["concurrency"]["group"] == "expire-${{ matrix.stack }}"
    names = [s.get("name") or s.get("uses", "") for s in up["steps"]]
    order = [
        names.index("The deploy's guard on the last change"),
        names.index("Lockout guard"),
        next(i for i, n in enumerate(names) if n.startswith("pulumi/actions@")),
        names.index("Remove the ended lines"),
        names.index("Open or update the pull request that removes them"),
    ]
    assert order == sorted(order)
    pulumi_up = up["steps"][order[2]]
    assert pulumi_up["with"] == {"command": "up", "stack-name": "${{ matrix.stack }}",
                                 "policyPacks": "policy",
                                 "policyPackConfigs": "policy/config.${{ matrix.stack }}.json"}  # fmt: skip
    assert load("main.yml")["concurrency"]["group"] != up["concurrency"]["group"]
    # the guard, the up and the removal share the time the run began
    runs = [s.get("run", "") for s in up["steps"]]
    assert sum("${{ needs.ended.outputs.now }}" in r for r in runs) == 3
    assert "--base HEAD^" in runs[names.index("The deploy's guard on the last change")]


def test_every_stack_has_its_policy_pack_config():
    """The workflows pass policy/config.<stack>.json to every preview and up: each stack has
    one, and each is a config the pack accepts (levels and settings it defines)."""
    from offline import policy

    names = {p.name for p in policy.pack.POLICIES} | {"all"}
    for stack in sorted(ROOT.glob("Pulumi.*.yaml")):
        name = stack.name.split(".")[1]
        config = json.loads((ROOT / "policy" / f"config.{name}.json").read_text())
        assert set(config) <= names, (name, set(config) - names)
