"""The HTML report (``access --format html``, ``review --format html``): one self-contained page
(no network asset) with the access matrix (principals by resource and verb, per namespace;
gained and lost marked in a review) that a filter box narrows, and a graph from each principal
to its groups, the bindings that name them, the roles they bind and what those roles allow.

The graph's layout is networkx's (``multipartite_layout``: one column per layer); this module
only draws what it places, as inline SVG.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any

import networkx as nx

from eks_access import authz, review
from eks_access.changes import display_name
from eks_access.comment import matrix_rows
from eks_access.config import StackConfig
from eks_access.documents import MatrixRow, ReviewDocument

VERBS = review.VERBS
MAX_ROWS = 3000
"""Past this many matrix rows a review shows only the rows that change (the page stays light)."""
SHOWN_RULES = 8
"""Rules drawn per role in the graph (the matrix lists every permission)."""
LAYERS = ("principal", "group", "binding", "role", "permission")

STYLE = """
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #1f2328; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
input { font: inherit; padding: .3em .5em; width: 28em; }
table { border-collapse: collapse; margin-top: .6em; }
th, td { border: 1px solid #d0d7de; padding: .15em .45em; text-align: center; }
td.who, td.what { text-align: left; white-space: nowrap; }
td.yes { background: #eef6ee; } td.gained { background: #abf2bc; font-weight: bold; }
td.lost { background: #ffc1c0; text-decoration: line-through; }
.legend span { padding: 0 .5em; margin-right: .5em; }
ul.warn li { color: #9a6700; font-weight: bold; }
svg text { font: 11px system-ui, sans-serif; }
"""

SCRIPT = """
const box = document.getElementById('filter');
const rows = [...document.querySelectorAll('#matrix tbody tr, #changes tbody tr')];
function apply() {
  const words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
  let shown = 0;
  for (const row of rows) {
    const text = row.dataset.search;
    const keep = words.every(w => text.includes(w));
    row.hidden = !keep;
    shown += keep ? 1 : 0;
  }
  document.getElementById('count').textContent = shown + ' of ' + rows.length + ' rows';
}
box.addEventListener('input', apply);
apply();
"""


def _rows(
    before: dict[str, review.PrincipalAccess] | None,
    after: dict[str, review.PrincipalAccess],
    questions: list[authz.Request],
) -> list[dict[str, Any]]:
    """One row per (principal, namespace, resource): each verb allowed, gained or lost."""
    out = []
    keys = sorted(after.keys() | (before or {}).keys())
    for key in keys:
        now, was = after.get(key), (before or {}).get(key)
        ident = (now or was).identity  # type: ignore[union-attr]
        groups: dict[tuple[str, str], dict[str, str]] = {}
        for q in questions:
            yes_now = bool(now and now.allows(q))
            yes_was = bool(was and was.allows(q)) if before is not None else yes_now
            if not (yes_now or yes_was):
                continue
            mark = "yes" if yes_now and yes_was else "gained" if yes_now else "lost"
            where = q.namespace or "(cluster)"
            what = q.resource + (f"/{q.subresource}" if q.subresource else "")
            what += f".{q.group}" if q.group else ""
            groups.setdefault((where, what), {})[q.verb] = mark
        for (where, what), verbs in sorted(groups.items()):
            out.append({"who": display_name(ident.arn, ident.username), "arn": ident.arn,
                        "username": ident.username, "where": where, "what": what,
                        "verbs": verbs})  # fmt: skip
    return out


def _matrix(rows: list[dict[str, Any]], verbs: Iterable[str]) -> str:
    """The table; verbs beyond the usual ones (escalate, bind, impersonate...) get a column
    when some row has them."""
    verbs = list(verbs)
    verbs += sorted({v for r in rows for v in r["verbs"]} - set(verbs))
    head = "".join(f"<th>{v}</th>" for v in verbs)
    body = []
    for r in rows:
        cells = []
        for v in verbs:
            mark = r["verbs"].get(v)
            sign = {"yes": "✓", "gained": "+", "lost": "−"}.get(mark or "", "")
            cells.append(f'<td class="{mark or ""}">{sign}</td>')
        search = " ".join((r["who"], r["username"], r["arn"], r["where"], r["what"],
                           *r["verbs"], *r["verbs"].values()))  # fmt: skip
        body.append(
            f'<tr data-search="{html.escape(search.lower())}"><td class="who" '
            f'title="{html.escape(r["arn"] + " as " + r["username"])}">{html.escape(r["who"])}</td>'
            f'<td class="what">{html.escape(r["where"])}</td>'
            f'<td class="what">{html.escape(r["what"])}</td>{"".join(cells)}</tr>'
        )
    return (
        '<table id="matrix"><thead><tr><th>principal</th><th>namespace</th><th>resource</th>'
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _changes(rows: list[MatrixRow]) -> str:
    """Each permission gained or lost, as the comment's matrix has it: named objects,
    non-resource URLs and custom resources included, which the grid above does not ask about."""
    body = []
    for row in rows:
        who, where, what, gains, loses, risk = (html.escape(v) for v in row.cells())
        search = html.escape(" ".join(row.cells()).lower() + (" gained" if gains else "")
                             + (" lost" if loses else ""))  # fmt: skip
        body.append(
            f'<tr data-search="{search}"><td class="who">{who}</td><td class="what">{where}</td>'
            f'<td class="what">{what}</td><td class="gained">{gains}</td>'
            f'<td class="lost">{loses}</td><td>{risk}</td></tr>'
        )
    return (
        '<table id="changes"><thead><tr><th>principal</th><th>where</th><th>resource</th>'
        f"<th>gains</th><th>loses</th><th>risk</th></tr></thead><tbody>{''.join(body)}"
        "</tbody></table>"
    )


def graph(state: authz.State) -> nx.DiGraph[str]:
    """principal -> group -> binding -> role -> permission (resources and verbs of each rule);
    a binding that names a user by username links from the principal directly."""
    g: nx.DiGraph[str] = nx.DiGraph()

    def node(layer: str, label: str) -> str:
        key = f"{layer}:{label}"
        g.add_node(key, layer=LAYERS.index(layer), label=label, kind=layer)
        return key

    for ident in state.identities.values():
        who = node("principal", display_name(ident.arn, ident.username))
        for grant in state.grants_for(ident):
            if grant.via.endswith("(built in)"):
                continue  # every login's discovery roles: not this stack's
            binding, _, role = grant.via.partition(" -> ")
            b = node("binding", binding)
            r = node("role", role or binding)
            if grant.principal is not None or ident.username in grant.users:
                g.add_edge(who, b)
            for group in sorted(grant.groups & ident.groups):
                gr = node("group", group)
                g.add_edge(who, gr)
                g.add_edge(gr, b)
            g.add_edge(b, r)
            for rule in grant.rules[:SHOWN_RULES]:
                what = ", ".join(rule.get("resources") or rule.get("nonResourceURLs") or [])
                if names := rule.get("resourceNames"):  # one object is not every object
                    what += f" named {', '.join(names)}"
                verbs = ", ".join(rule.get("verbs", []))
                g.add_edge(r, node("permission", _clip(f"{verbs}: {what}")))
            if len(grant.rules) > SHOWN_RULES:  # the matrix has them all
                g.add_edge(
                    r, node("permission", f"{role}: {len(grant.rules) - SHOWN_RULES} more rules")
                )
    # The same page for the same config: nodes in a fixed order (layout follows node order).
    ordered: nx.DiGraph[str] = nx.DiGraph()
    layer = nx.get_node_attributes(g, "layer")
    ordered.add_nodes_from((n, g.nodes[n]) for n in sorted(g.nodes, key=lambda n: (layer[n], n)))
    ordered.add_edges_from(sorted(g.edges))
    return ordered


def _clip(text: str, size: int = 48) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _svg(g: nx.DiGraph[str]) -> str:
    if not g.nodes:
        return "<p>No grants.</p>"
    # networkx places the nodes: one column per layer (principal ... permission).
    # Layers given as lists, not by node attribute: networkx would group those in sets, whose
    # order changes from run to run.
    layers = {i: [n for n, d in g.nodes(data=True) if d["layer"] == i] for i in range(len(LAYERS))}
    layers = {i: nodes for i, nodes in layers.items() if nodes}
    pos = nx.multipartite_layout(g, subset_key=layers, align="vertical", scale=1.0)
    per_layer = max(sum(1 for _, d in g.nodes(data=True) if d["layer"] == i) for i in range(5))
    longest = max(len(str(d["label"])) for _, d in g.nodes(data=True))
    column = 40 + 7 * longest  # wide enough for the longest label: columns never overlap
    width, height = 110 + 5 * column, max(320, 26 * per_layer)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]

    def place(x: float, y: float) -> tuple[float, float]:
        span_x, span_y = (max(xs) - min(xs)) or 1, (max(ys) - min(ys)) or 1
        return 20 + (x - min(xs)) / span_x * 4 * column, 20 + (y - min(ys)) / span_y * (height - 40)

    edges = []
    for a, b in g.edges:
        (x1, y1), (x2, y2) = place(*pos[a]), place(*pos[b])
        edges.append(f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
                     'stroke="#8c959f" stroke-width="1"/>')  # fmt: skip
    colours = ["#0969da", "#8250df", "#bf8700", "#1a7f37", "#57606a"]
    nodes = []
    for key, data in g.nodes(data=True):
        x, y = place(*pos[key])
        label = html.escape(str(data["label"]))
        nodes.append(
            f'<g class="node {data["kind"]}"><circle cx="{x:.0f}" cy="{y:.0f}" r="4" '
            f'fill="{colours[data["layer"]]}"/><text x="{x + 7:.0f}" y="{y + 4:.0f}">{label}'
            "</text></g>"
        )
    titles = "".join(
        f'<text x="{20 + i * column:.0f}" y="12" font-weight="bold">{name}s</text>'
        for i, name in enumerate(LAYERS)
    )
    return (f'<svg id="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height + 20}">{titles}<g transform="translate(0,10)">{"".join(edges)}'
            f'{"".join(nodes)}</g></svg>')  # fmt: skip


def page(title: str, sections: list[tuple[str, str]]) -> str:
    body = "".join(f"<h2>{html.escape(t)}</h2>{content}" for t, content in sections)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        '<p><input id="filter" placeholder="filter: a principal, namespace, resource or verb" '
        'autofocus> <span id="count"></span></p>'
        '<p class="legend"><span class="yes">✓ allowed</span><span class="gained">+ gained</span>'
        '<span class="lost">− lost</span></p>'
        f"{body}<script>{SCRIPT}</script></body></html>"
    )


def access_sections(config: StackConfig, prefix: str = "") -> list[tuple[str, str]]:
    state = authz.state_of(config)
    rows = _rows(None, review.matrix(state), review.grid(review.namespaces_of(config)))
    return [
        (f"{prefix}Access matrix ({len(rows)} rows)", _matrix(rows, VERBS)),
        (f"{prefix}Who reaches what", _svg(graph(state))),
    ]


def review_sections(
    base: StackConfig, head: StackConfig, doc: ReviewDocument, prefix: str = ""
) -> list[tuple[str, str]]:
    """The principals' changes in words, the matrix with gained and lost marked (only the rows
    that change when it is large), the graph after the change and the review as JSON."""
    old, new = authz.state_of(base), authz.state_of(head)
    questions = review.grid(review.namespaces_of(base) | review.namespaces_of(head))
    rows = _rows(review.matrix(old), review.matrix(new), questions)
    changed = [r for r in rows if set(r["verbs"].values()) - {"yes"}]
    shown = rows if len(rows) <= MAX_ROWS else changed
    summary = (
        "".join(
            f"<li><b>{html.escape(p.name)}</b> ({html.escape(', '.join(p.teams))}): "
            f"{html.escape('; '.join(p.words))}</li>"
            for p in doc.principals
        )
        or "<li>No principal gains or loses any access.</li>"
    )
    warn = "".join(f"<li>{html.escape(w)}</li>" for w in doc.warnings)
    permissions = matrix_rows(doc)
    data = html.escape(json.dumps(doc.to_json(), indent=1))
    return [
        (f"{prefix}Who gains or loses what", (f'<ul class="warn">{warn}</ul>' if warn else "")
         + f"<ul>{summary}</ul>"),
        (f"{prefix}Access matrix: {len(changed)} of {len(rows)} rows change"
         + ("" if shown is rows else " (only those shown)"), _matrix(shown, VERBS)),
        (f"{prefix}Every permission that changes ({len(permissions)} rows)",
         _changes(permissions)),
        (f"{prefix}Who reaches what, after the change", _svg(graph(new))),
        (f"{prefix}The review as data",
         f"<details><summary>JSON</summary><pre>{data}</pre></details>"),
    ]  # fmt: skip
