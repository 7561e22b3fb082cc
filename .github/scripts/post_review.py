"""Post one stack's access review on the pull request, or edit the comment posted for that stack
before: one comment per stack, kept current as the branch moves.

    .venv/bin/python .github/scripts/post_review.py STACK review.md   # after `make install`

Needs ``gh`` (GitHub's CLI, on every hosted runner) with ``GH_TOKEN``, and ``GITHUB_REPOSITORY``
and ``PR`` (the pull request's number) in the environment. The comment is found by a hidden first
line naming the stack, among comments the workflow's own account wrote (``BOT_LOGIN``, by default
``github-actions[bot]``): anyone can write the marker, nobody else's comment is ever edited. An
empty review (a stack that maps nobody into a cluster) posts nothing, and turns a review posted
before into a note that it no longer applies, so an old review never looks current.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from eks_access import comment  # installed in the job's .venv (make install)

PER_PAGE = 100


def marker(stack: str) -> str:
    return f"<!-- eks-access review: stack {stack} -->"


def gh(*args: str) -> str:
    return subprocess.run(["gh", "api", *args], check=True, capture_output=True, text=True).stdout


def find(repo: str, pr: str, stack: str) -> int | None:
    """The id of this stack's comment, if one was posted (pages through every comment)."""
    page = 1
    while True:
        comments = json.loads(
            gh(f"repos/{repo}/issues/{pr}/comments?per_page={PER_PAGE}&page={page}")
        )
        bot = os.environ.get("BOT_LOGIN", "github-actions[bot]")
        for c in comments:
            mine = (c.get("user") or {}).get("login") == bot
            if mine and c.get("body", "").startswith(marker(stack)):
                return int(c["id"])
        if len(comments) < PER_PAGE:
            return None
        page += 1


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not re.fullmatch(r"[A-Za-z0-9_.-]+", argv[0]):
        print("usage: post_review.py STACK BODY_FILE", file=sys.stderr)
        return 2
    stack, body = argv[0], Path(argv[1]).read_text()
    repo, pr = os.environ["GITHUB_REPOSITORY"], os.environ["PR"]
    existing = find(repo, pr, stack)
    if not body.strip():
        if existing is None:
            print(f"stack {stack}: nothing to review, no comment")
            return 0
        body = f"No access review for stack {stack} at this commit: it maps nobody.\n"
    # `review` keeps under GitHub's limit; the marker line must fit too
    room = comment.MAX_CHARS - len(marker(stack)) - 1
    text = f"{marker(stack)}\n{body if len(body) <= room else comment.shorten(body, room)}"
    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
        f.write(text)
    if existing is None:
        gh("--method", "POST", f"repos/{repo}/issues/{pr}/comments", "-F", f"body=@{f.name}")
        print(f"stack {stack}: comment posted")
    else:
        gh("--method", "PATCH", f"repos/{repo}/issues/comments/{existing}", "-F", f"body=@{f.name}")
        print(f"stack {stack}: comment {existing} edited")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
