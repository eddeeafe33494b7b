"""The case report for law enforcement: one printable HTML page (rendered to PDF by
evidence.pdf) of a case's evidence package — summary, timeline, each pathway drawn as SVG, the
accounts and their roles, and the signer's fingerprint with how to verify the package.

Pure: it reads the subgraph (subgraph.json's dict), the case and the package's identity, and
returns text. Every value from the data is HTML-escaped; the page loads nothing."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"

#: node shapes, as the console draws them: ● account, ■ content, ◆ url, ▬ hashtag
_NODE_W, _NODE_H, _GAP = 150, 46, 60


@dataclass(frozen=True)
class ReportContext:
    """Who the report is for and what identifies its package (known before the manifest is signed)."""

    package_id: str
    signer_key_id: str
    signer_fingerprint: str
    exported_by: str
    exported_at: str
    case: dict[str, Any] | None = None  # casework's case (title, status, items, …), if the package is a case's
    history: list[dict[str, Any]] = field(default_factory=list)  # the case's history entries, oldest first


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _short(text: str, n: int = 22) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# -- drawings ------------------------------------------------------------------------------------
def _shape(kind: str, x: float, y: float) -> str:
    cx, cy = x + _NODE_W / 2, y + _NODE_H / 2
    if kind == "account":
        return f'<ellipse cx="{cx}" cy="{cy}" rx="{_NODE_W / 2}" ry="{_NODE_H / 2}" class="account"/>'
    if kind == "url":
        pts = f"{x},{cy} {cx},{y} {x + _NODE_W},{cy} {cx},{y + _NODE_H}"
        return f'<polygon points="{pts}" class="url"/>'
    rx = 14 if kind == "hashtag" else 2
    return f'<rect x="{x}" y="{y}" width="{_NODE_W}" height="{_NODE_H}" rx="{rx}" class="{_e(kind)}"/>'


def pathway_svg(pathway: dict[str, Any]) -> str:
    """One pathway drawn left to right: a shape per node (kind and id), an arrow per hop with its
    relationship type (← when walked against the stored direction); hops laid by a bridge bold."""
    nodes = pathway.get("nodes") or []
    edges = pathway.get("edges") or []
    directions = pathway.get("directions") or ["forward"] * len(edges)
    laid_by = pathway.get("created_by") or [None] * len(edges)
    bridges = set(pathway.get("bridges") or [])
    width = len(nodes) * (_NODE_W + _GAP) - _GAP + 20
    parts = []
    for i, node in enumerate(nodes):
        x, y = 10 + i * (_NODE_W + _GAP), 30
        label = f"{node.get('content_kind') or node['kind']}"
        parts.append(
            f'<g class="node" data-id="{_e(node["id"])}">{_shape(node["kind"], x, y)}'
            f'<text x="{x + _NODE_W / 2}" y="{y + 19}">{_e(label)}</text>'
            f'<text x="{x + _NODE_W / 2}" y="{y + 34}" class="id">{_e(_short(str(node["id"])))}</text></g>'
        )
        if i < len(edges):
            x1, x2, ym = x + _NODE_W + 2, x + _NODE_W + _GAP - 2, y + _NODE_H / 2
            crumb = laid_by[i] in bridges
            back = directions[i] == "backward"
            head = (
                f"M{x1 + 8},{ym - 5} L{x1},{ym} L{x1 + 8},{ym + 5}"
                if back
                else f"M{x2 - 8},{ym - 5} L{x2},{ym} L{x2 - 8},{ym + 5}"
            )
            parts.append(
                f'<g class="hop{" crumb" if crumb else ""}"><line x1="{x1}" y1="{ym}" x2="{x2}" y2="{ym}"/>'
                f'<path d="{head}"/><text x="{(x1 + x2) / 2}" y="{ym - 8}">{_e(edges[i])}</text></g>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 90" width="{width}" height="90" role="img" '
        f'aria-label="pathway {_e(pathway.get("pathway_id"))}">{"".join(parts)}</svg>'
    )


# -- sections ------------------------------------------------------------------------------------
def _summary(sub: dict[str, Any], ctx: ReportContext) -> str:
    case = ctx.case or {}
    counts = sub.get("counts", {})
    rows = [
        ("Case", f"{case.get('case_id', '—')}: {case.get('title', '')}" if case else "— (a selection, not a case)"),
        ("Case status", case.get("status", "—")),
        ("Package", ctx.package_id),
        ("Run", sub.get("run_id")),
        ("Snapshot digest", sub.get("snapshot_digest")),
        ("Exported", f"{ctx.exported_at} by {ctx.exported_by}"),
        (
            "Contents",
            f"{_n(counts.get('pathways', 0), 'pathway')} into {_n(counts.get('clusters', 0), 'cluster')}; "
            f"{counts.get('nodes', 0)} nodes, {counts.get('edges', 0)} edges"
            + (" (cut to the package's limits)" if sub.get("truncated") else ""),
        ),
    ]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<section id="summary"><h2>Summary</h2><table class="kv">{body}</table></section>'


def _timeline(sub: dict[str, Any], ctx: ReportContext) -> str:
    """Case events and the moments each crumb of each pathway was laid, in time order."""
    events: list[tuple[str, str, str]] = []
    for entry in ctx.history:
        detail = entry.get("detail") or {}
        what = entry.get("action", "")
        if isinstance(detail, dict) and "to" in detail:
            what += f" → {detail['to']}"
        events.append((str(entry.get("at", "")), f"case: {what} by {entry.get('actor', '')}", entry.get("note") or ""))
    for p in sub.get("pathways", []):
        nodes, edges = p.get("nodes", []), p.get("edges", [])
        for i, at in enumerate(p.get("created_at") or []):
            if at is None:
                continue
            by = (p.get("created_by") or [None] * len(edges))[i]
            events.append(
                (
                    str(at),
                    f"{p['pathway_id']}: {nodes[i]['id']} —{edges[i]}→ {nodes[i + 1]['id']}",
                    f"laid by {by}" if by else "",
                )
            )
    events.sort()
    rows = "".join(
        f"<tr><td class='when'>{_e(at)}</td><td>{_e(what)}</td><td>{_e(note)}</td></tr>" for at, what, note in events
    )
    return (
        '<section id="timeline"><h2>Timeline</h2><table><thead><tr><th>When (UTC)</th><th>What</th>'
        f"<th>Note</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _pathways(sub: dict[str, Any]) -> str:
    items = []
    for rank, p in enumerate(sub.get("pathways", []), start=1):
        text = " → ".join(str(n["id"]) for n in p.get("nodes", []))
        items.append(
            f'<div class="pathway"><h3>{rank}. Pathway {_e(p["pathway_id"])}</h3>'
            f"<p>From child-oriented content {_e(p['source']['id'])} into cluster {_e(p.get('cluster_id'))}; "
            f"walk probability {_e(p.get('score'))}; bridges: {_e(', '.join(p.get('bridges') or []) or 'none')}.</p>"
            f'{pathway_svg(p)}<p class="path">{_e(text)}</p></div>'
        )
    body = "".join(items) or "<p>No pathways in this package.</p>"
    return (
        '<section id="pathways"><h2>Pathways</h2><p class="muted">● account · ■ content · ◆ URL · ▬ hashtag; '
        "bold arrows: hops laid by a bridge account; ← a hop walked against the stored direction.</p>"
        f"{body}</section>"
    )


def _accounts(sub: dict[str, Any]) -> str:
    rows = []
    for node in sub.get("nodes", []):
        if node.get("kind") != "account" or not (node.get("flag_roles") or node.get("role") == "pathway"):
            continue
        rows.append(
            f"<tr><td>{_e(node['id'])}</td><td>{_e(', '.join(node.get('flag_roles') or []) or 'not flagged')}</td>"
            f"<td class='num'>{_e(node.get('flag_score') if node.get('flag_score') is not None else '')}</td>"
            f"<td>{_e(node.get('role'))}</td><td>{_e(node.get('age_band'))}</td><td>{_e(node.get('status'))}</td></tr>"
        )
    body = "".join(rows) or "<tr><td colspan='6'>No accounts.</td></tr>"
    return (
        '<section id="accounts"><h2>Accounts and their roles</h2><table><thead><tr><th>Account</th><th>Flagged as</th>'
        "<th>Score</th><th>In the package as</th><th>Age band</th><th>Status</th></tr></thead>"
        f"<tbody>{body}</tbody></table></section>"
    )


def _verification(sub: dict[str, Any], ctx: ReportContext) -> str:
    prov = sub.get("provenance") or {}
    folder = ctx.package_id  # the folder the package's zip unpacks to
    return f"""<section id="verify"><h2>Fingerprint and how to verify this package</h2>
<table class="kv">
<tr><th>Signer fingerprint (SHA-256 of the public key)</th><td class="fp">{_e(ctx.signer_fingerprint)}</td></tr>
<tr><th>Signer key id</th><td>{_e(ctx.signer_key_id)}</td></tr>
<tr><th>Package id</th><td>{_e(ctx.package_id)}</td></tr>
<tr><th>Results SHA-256</th><td>{_e(prov.get("results_sha256"))}</td></tr>
<tr><th>Snapshot digest</th><td>{_e(sub.get("snapshot_digest"))}</td></tr>
</table>
<ol>
<li>Compare the signer fingerprint above with the one the issuing team gave you by another channel
(telephone, letter). If they differ, do not rely on this package.</li>
<li>Unzip the package and run <code>crumbgraph verify {_e(folder)}/ --fingerprint {_e(ctx.signer_fingerprint)}</code>.
It checks the Ed25519 signature over <code>manifest.json</code>, then the SHA-256 of every file the
manifest lists — this report (<code>{REPORT_PDF}</code>, <code>{REPORT_HTML}</code>) included — and reports
VERIFIED only if nothing was changed, added or removed.</li>
<li>The data in the package is metadata only (ids, timestamps, links, platform labels); it holds no media.</li>
</ol></section>"""


_CSS = """
@page { size: A4; margin: 14mm 12mm; }
body { font: 10.5pt/1.4 "DejaVu Sans", Arial, sans-serif; color: #111; font-variant-ligatures: none; }
h1 { font-size: 17pt; margin: 0 0 4pt; } h2 { font-size: 13pt; margin: 14pt 0 6pt; border-bottom: 1px solid #999; }
h3 { font-size: 11pt; margin: 8pt 0 2pt; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; vertical-align: top; padding: 2pt 5pt;
  border-bottom: 1px solid #ccc; overflow-wrap: anywhere; }
table.kv th { width: 32%; font-weight: 600; } td.num { text-align: right; }
td.when { white-space: nowrap; word-break: normal; }
.pathway { page-break-inside: avoid; margin-bottom: 8pt; }
.path { font-family: monospace; font-size: 8.5pt; word-break: break-all; }
.muted { color: #444; font-size: 9pt; } .fp { font-family: monospace; font-weight: 700; font-size: 8pt; }
svg { max-width: 100%; height: auto; }
.banner { border: 1px solid #111; padding: 4pt 6pt; font-size: 9pt; }
svg text { font: 10px "DejaVu Sans", Arial, sans-serif; text-anchor: middle; fill: #111; font-variant-ligatures: none; }
svg text.id { font-size: 9px; }
svg ellipse, svg rect, svg polygon { fill: #fff; stroke: #222; stroke-width: 1.5; }
svg .account { fill: #e3ecf8; } svg .url { fill: #fff4d6; } svg .hashtag { fill: #eee; }
svg .hop line, svg .hop path { stroke: #444; stroke-width: 1.5; fill: none; }
svg .hop.crumb line, svg .hop.crumb path { stroke: #000; stroke-width: 3.5; }
"""


def case_report_html(subgraph: dict[str, Any], ctx: ReportContext) -> str:
    """The whole report as one HTML document (inline CSS and SVG; nothing to fetch)."""
    title = f"Case report — {(ctx.case or {}).get('title') or subgraph.get('run_id')}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title><style>{_CSS}</style></head>
<body>
<h1>{_e(title)}</h1>
<p class="banner">Evidence package {_e(ctx.package_id)} · signed by key {_e(ctx.signer_key_id)} ·
exported {_e(ctx.exported_at)}. Metadata only; the data is what the detectors saw in run
{_e(subgraph.get("run_id"))}.</p>
{_summary(subgraph, ctx)}
{_timeline(subgraph, ctx)}
{_pathways(subgraph)}
{_accounts(subgraph)}
{_verification(subgraph, ctx)}
</body></html>
"""


@dataclass(frozen=True)
class ReportRequest:
    """Ask `build_package` for a case report: the case and its history (None for a package that is
    not a case's), and the chromium that renders the PDF (None: the printable HTML only)."""

    case: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    chromium: str | None = None


def write_report(
    subgraph: dict[str, Any], dest: Path, request: ReportRequest, ctx: ReportContext
) -> tuple[list[Path], dict[str, Any]]:
    """Write report.html (and report.pdf when chromium is at hand) into the package folder `dest`;
    return the files and the manifest's `report` entry (which says why a PDF is missing)."""
    from evidence.pdf import find_chromium, html_to_pdf

    ctx = replace(ctx, case=request.case, history=request.history)
    document = case_report_html(subgraph, ctx)
    html_path = dest / REPORT_HTML
    html_path.write_text(document, encoding="utf-8")
    files, note = [html_path], {"html": REPORT_HTML, "pdf": None}
    if request.chromium is None:
        note["pdf_missing"] = "PDF rendering not asked for"
    elif find_chromium(request.chromium) is None:
        note["pdf_missing"] = f"no chromium at {request.chromium} on the exporting server"
        logger.warning("case report of package %s: HTML only (%s)", ctx.package_id, note["pdf_missing"])
    else:
        files.append(html_to_pdf(document, dest / REPORT_PDF, request.chromium))
        note["pdf"] = REPORT_PDF
    return files, note
