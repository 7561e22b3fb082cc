"""The pull-request comment (``review --format markdown``): read in 30 seconds.

Above the fold, at most 12 lines: a headline (how many principals gain and lose access, how many
resources are replaced or deleted), one warning line per kind of risky change, and one line per
principal whose access changes, in words ("alice (team payments): gains edit in payments,
payments-jobs"). Below, folded in ``<details>``: every permission that changes, what `pulumi up`
would do to each resource, and the resource counts. A fleet gets one section per cluster under a
headline summed over the fleet. GitHub refuses comments over 65,536 characters: past the
budget, the folded parts are cut and the comment points to the JSON artifact.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from eks_access.changes import display_name
from eks_access.documents import MatrixRow, PrincipalChange, ReviewDocument
from eks_access.operations import Operation

MAX_CHARS = 65_536
"""GitHub's limit on a comment body."""
FOLD_LINES = 12
NAMES_CHARS = 3000
"""Names listed in the line that sums up the principals past the fold."""
ARTIFACT = "`review.json`, in this workflow run's artifact `access-review-<stack>`"


def _who(p: PrincipalChange) -> str:
    name = p.name
    teams = (
        p.teams[0].strip("()")  # node roles and mapped accounts: no team
        if p.teams[:1] and p.teams[0].startswith("(")
        else f"team {', '.join(p.teams)}"
        if len(p.teams) == 1
        else f"teams {', '.join(p.teams)}"
    )
    status = ", new" if p.status == "new" else ", removed" if p.status == "removed" else ""
    arn = p.principal
    iam = next((k for k in ("user", "role") if f":{k}/" in arn), None)
    if iam and arn.rsplit("/", 1)[-1] != name:  # RBAC's name is not the one IAM knows
        teams = f"IAM {iam} {arn.rsplit('/', 1)[-1]}; {teams}"
    return f"{name} ({teams}{status})"


def headline(docs: Sequence[ReviewDocument]) -> str:
    principals = [p for d in docs for p in d.principals]
    gain = sum(1 for p in principals if p.gains)
    lose = sum(1 for p in principals if p.loses)
    counts = [d.operation_counts or {} for d in docs]
    replaced = sum(c.get("replace", 0) for c in counts)
    deleted = sum(c.get("delete", 0) for c in counts)
    ops = [o for d in docs for o in d.operations or ()]
    retained = sum(1 for o in ops if o.op == "delete" and o.retained)
    kept = f" ({retained} kept in AWS or the cluster)" if retained else ""
    gone = Counter(
        o.type
        for o in ops
        if (o.op == "replace" or (o.op == "delete" and not o.retained)) and o.type in _IAM_GONE
    )
    among = " and ".join(_n(gone[t], w) for t, w in _IAM_GONE.items() if gone[t])
    stops = sum(len(d.stops or ()) for d in docs)
    return (
        f"**{_n(gain, 'principal')} {'gains' if gain == 1 else 'gain'} access, {lose} "
        f"{'loses' if lose == 1 else 'lose'} access; {_n(replaced, 'resource')} replaced, "
        f"{deleted} deleted{kept}{_iam_gone(among)}."
        f"{f' `pulumi up` stops ({stops}): see below.' if stops else ''}**"
    )


_IAM_GONE = {"aws:iam/user:User": "IAM user", "aws:iam/accessKey:AccessKey": "access key"}


def _iam_gone(among: str) -> str:
    return f"; IAM users and keys deleted or replaced: {among}" if among else ""


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _line(p: PrincipalChange) -> str:
    return f"- {cell(_who(p))}: {cell('; '.join(p.words))}"


def _above_the_fold(doc: ReviewDocument, room: int) -> list[str]:
    """At most ``room`` lines: the warnings (one line each, or all in one when they would crowd
    out the principals), then one line per principal; past the room, the rest named in one
    line (up to ``NAMES_CHARS`` characters of names; all of them are in the details)."""
    warnings = [cell(w) for w in doc.warnings]
    principals = doc.principals
    if len(warnings) > 1 and len(warnings) + max(len(principals), 1) > room:
        warnings = ["; ".join(warnings)]
    # one quote, a line per warning: a backslash ends a line in any CommonMark reader
    lines = [f"> :warning: {w}" + ("\\" if i < len(warnings) - 1 else "")
             for i, w in enumerate(warnings)]  # fmt: skip
    if not principals:
        return [*lines, "- No principal gains or loses any access."]
    left = max(room - len(lines), 1)
    if len(principals) <= left:
        return lines + [_line(p) for p in principals]
    shown, rest = principals[: left - 1], principals[left - 1 :]
    names, size = [], 0
    for p in rest:
        size += len(_who(p)) + 2
        if size > NAMES_CHARS:
            break
        names.append(cell(_who(p)))
    more = "" if len(names) == len(rest) else f" and {len(rest) - len(names)} others"
    tail = f"- and {len(rest)} more: {', '.join(names)}{more} (each in the details)"
    return lines + [_line(p) for p in shown] + [tail]


def cell(text: object) -> str:
    """Text as itself in GFM, in a table cell or a list item: a line break would end the row
    or the item, a pipe would end a cell, ``<`` and ``&`` could start HTML or an entity;
    asterisks, backquotes, tildes, brackets, backslashes, ``#``, ``>`` and an underscore at a
    word's edge would be mark-up, and a leading ``-``, ``+``, ``=`` or ``1.`` a list or a
    heading; leading spaces and tabs (an indented code block in a list item) are dropped, and
    trailing ones with them; other blanks, such as a no-break space, stay. ``@name`` would
    notify someone on GitHub: a word joiner keeps it plain text."""
    flat = " ".join(str(text).splitlines()).strip(" \t")
    escaped = _MARKUP.sub(r"\\\g<0>", flat.replace("&", "&amp;").replace("<", "&lt;"))
    return _LEADING.sub(r"\g<1>\\\g<2>", escaped).replace("@", "@&#8288;")


_MARKUP = re.compile(r"[|*`~\[\]\\#>]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_LEADING = re.compile(r"^(\s*\d*)([-+=.)])")


def _details(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


@dataclass
class _Cell:
    gains: set[str] = field(default_factory=set)
    loses: set[str] = field(default_factory=set)
    score: int = 0
    risk: str = ""


def matrix_rows(doc: ReviewDocument) -> list[MatrixRow]:
    """The permission changes as a matrix, rakkess-style: one row per principal and resource
    (namespaces with the same change together), the verbs gained and lost in two columns,
    riskiest first. What every login has (discovery, self-reviews) is left out."""
    cells: dict[tuple[str, str, str], _Cell] = {}
    for c in doc.rule_changes:
        if c.via.endswith("(built in)"):
            continue
        what = c.url or c.resource + (f".{c.api_group}" if c.api_group else "")
        what += f" {c.name}" if c.name else ""
        who = display_name(c.principal, c.username)
        found = cells.setdefault((who, c.namespace or "", what), _Cell())
        (found.gains if c.change == "gains" else found.loses).add(c.verb)
        if c.score > found.score:
            found.score, found.risk = c.score, c.risk
    merged: dict[tuple[str, str, str, str, str], list[str]] = {}
    scores: dict[tuple[str, str, str, str, str], int] = {}
    for (who, where, what), v in cells.items():
        key = (who, what, ", ".join(sorted(v.gains)), ", ".join(sorted(v.loses)), v.risk)
        merged.setdefault(key, []).append(where)
        scores[key] = v.score
    rows = [
        MatrixRow(
            who=who,
            where=", ".join(sorted(w or "(cluster-wide)" for w in wheres)),
            resource=what,
            gains=gains,
            loses=loses,
            risk=risk,
            score=scores[(who, what, gains, loses, risk)],
        )
        for (who, what, gains, loses, risk), wheres in merged.items()
    ]
    return sorted(rows, key=lambda r: (-r.score, r.who, r.where, r.resource))


def _permissions(doc: ReviewDocument) -> list[str]:
    rows = matrix_rows(doc)
    lines = ["| who | where | resource | gains | loses | risk |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(cell(v) for v in row.cells()) + " |" for row in rows]
    return lines if rows else ["No permission changes."]


_WHY = {"create": "new in the config", "delete": "gone from the config"}


def _operations(doc: ReviewDocument) -> list[str]:
    ops = doc.operations or ()
    lines = ["| operation | resource | why |", "|---|---|---|"]
    for o in sorted(ops, key=_engine_order):
        why = ", ".join(o.replace_keys or o.diffs) or o.why or _WHY.get(o.op, "")
        if o.op == "replace":
            why += (
                "; delete first"
                if o.delete_before_replace
                else "; create first, the old one deleted at the end"
            )
        if o.op == "delete" and o.retained:
            why = "retained: leaves the state only"
        lines.append(f"| {o.op} | {cell(o.type)} {cell(o.name)} | {cell(why.strip('; '))} |")
    counts = doc.resource_counts
    if counts:
        lines += ["", "| resources | before | after |", "|---|---|---|"]
        lines += [f"| {cell(k)} | {v.before} | {v.after} |" for k, v in counts.items()]
    return lines if ops else ["`pulumi up` would change no resource."]


def _engine_order(o: Operation) -> int:
    """When the engine runs an operation (``step``, from ``operations.compute``): the program's
    resources dependencies first (a replacement at its resource's step, its old half deleted at
    the end when create-first), then the deletes, dependents first."""
    return o.step


ENDS_SHOWN = 5
"""Ends (extended, shortened, soon) shown above the fold; the rest fold into a list."""


def section(doc: ReviewDocument, heading: str, fold: int = FOLD_LINES) -> str:
    """One stack's review under its heading line; ``fold`` bounds its lines before the first
    ``<details>``."""
    lines = [heading, headline([doc])]
    # what stops `pulumi up` first: the guards' verdicts, each on its own line
    stops = doc.stops or ()
    lines += [f"> :no_entry: {cell(s)}" + ("\\" if i < len(stops) - 1 else "")
              for i, s in enumerate(stops)]  # fmt: skip
    moved = [e for e in doc.ends if e.change != "added already ended"]  # those are warnings
    shown = moved[:ENDS_SHOWN]
    if shown:  # a quote of its own: the stops' lines above end without a break
        lines += ["", *[f"> :hourglass: {cell(e.words())}" + ("\\" if i < len(shown) - 1 else "")
                        for i, e in enumerate(shown)], ""]  # fmt: skip
    top = _above_the_fold(doc, fold - len(lines) - 1)
    lines += [*top, ""]
    if len(moved) > len(shown):
        lines += _details(f"Every end this change moves or that comes within 14 days "
                          f"({len(moved)})", [f"- {cell(e.words())}" for e in moved])  # fmt: skip
    principals = doc.principals
    if sum(1 for p in principals if _line(p) in top) < len(principals):
        lines += _details(f"Every principal whose access changes ({len(principals)})",
                          [_line(p) for p in principals])  # fmt: skip
    lines += _details(
        f"What <code>pulumi up</code> would do ({len(doc.operations or ())} resources)",
        _operations(doc),
    )
    lines += _details(f"The access matrix: what changes, per principal and resource "
                      f"({len(matrix_rows(doc))} rows)", _permissions(doc))  # fmt: skip
    return "\n".join(lines) + "\n"


def markdown(docs: Sequence[tuple[str, ReviewDocument]], limit: int = MAX_CHARS) -> str:
    """The whole comment: one stack, or a fleet (a section per cluster, the headline summed)."""
    if len(docs) == 1:  # each stack's comment names its cluster: a pull request may get several
        text = section(docs[0][1], f"## Access review: {docs[0][0]}")
    else:
        head = ["## Access review of the fleet", headline([d for _, d in docs]), ""]
        fold = FOLD_LINES - len(head)
        text = "\n".join(head) + "\n" + "\n".join(section(d, f"### {t}", fold) for t, d in docs)
    return text if len(text) <= limit else shorten(text, limit)


def shorten(text: str, limit: int) -> str:
    """Cut the folded parts (never a line above the fold, a summary or a table's header) to fit
    GitHub's limit, and point to the artifact that has everything."""
    note = f"**Shortened to fit a GitHub comment: the full review is in {ARTIFACT}.**"
    keep: list[str] = []
    size, folded, cut, rows = len(note) + 100, False, 0, 0
    for line in text.splitlines():
        if line == "<details>":
            folded, rows = True, 0
        elif line == "</details>":
            folded = False
        elif folded and line.startswith(("|", "- ")):
            rows += 1
            is_header = line.startswith("|") and rows <= 2
            if not is_header and (cut or size + len(line) + 1 > limit):
                cut += 1  # this row and every one after it: the artifact has them
                continue
        keep.append(line)
        size += len(line) + 1
    out = "\n".join([*keep, "", f"{note} ({cut} rows and items cut)", ""])
    if len(out) > limit:  # long lines outside the folds: cut whole lines, close what is open
        head = out[: limit - len(note) - 100].rsplit("\n", 1)[0]
        closing = "\n</details>" if head.count("<details>") > head.count("</details>") else ""
        out = f"{head}{closing}\n\n{note}\n"
    return out
