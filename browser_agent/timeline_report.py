"""The timeline of a recording: a rich table for the terminal, a self-contained HTML page.

Both show one row per action (step, action, target, per-stage times of its step,
errors); the HTML adds p50/p95/p99 of the model's time, the rest and the whole step,
how many calls were hedged and who won them, and a stacked per-stage latency chart per
step (inline SVG, no scripts, no external files).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import msgspec
from rich.table import Table
from rich.text import Text

from .recording import Recording
from .stats import percentile

STAGE_COLUMNS = ("observe", "prompt", "llm_ttft", "llm_total", "act", "settle", "total")
CHART_STAGES = ("observe", "prompt", "llm_total", "act", "settle")
COLORS = {
    "observe": "#4e79a7",
    "prompt": "#f28e2b",
    "llm_total": "#e15759",
    "act": "#76b7b2",
    "settle": "#59a14f",
}


class Row(msgspec.Struct):
    session: int
    step: int
    action: str
    target: str
    ok: bool
    stages: dict[str, float]
    """The step's stage times (ms); only on the step's first row."""
    errors: list[str]


def rows(sessions: list[Recording]) -> list[Row]:
    out: list[Row] = []
    for i, rec in enumerate(sessions):
        for s in rec.steps:
            line = s.line
            spans = {k: float(line.spans_ms.get(k, 0.0)) for k in STAGE_COLUMNS}
            acts = line.actions or []
            if not acts:
                out.append(Row(i, s.n, "—", "", not line.errors, spans, list(line.errors)))
                continue
            for j, a in enumerate(acts):
                target = a.label
                if a.target is not None and a.target.role:
                    target = f'{a.target.role} "{a.target.name}"'
                if a.name in ("type", "select"):
                    target += f" ← {a.args.get('text', a.args.get('option', ''))!r}"
                errors = ([a.error] if a.error else []) + (list(line.errors) if j == 0 else [])
                out.append(Row(i, s.n, a.name, target, a.ok, spans if j == 0 else {}, errors))
    return out


class Summary(msgspec.Struct):
    """Per-step latency percentiles and hedging over the steps of some recordings."""

    model_ms: dict[str, float]
    non_model_ms: dict[str, float]
    step_ms: dict[str, float]
    steps: int
    calls: int
    hedged: int
    won_by: dict[str, int]


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    q = {f"p{n}": percentile(values, n) for n in (50, 95, 99)}
    return {**q, "max": max(values)}


def summary(sessions: list[Recording]) -> Summary:
    """Model time (`llm_total`, bounded by the step), the rest, the step; hedged calls
    from the steps' `hedge` events ("won by NAME (...)")."""
    model, rest, step = [], [], []
    calls = hedged = 0
    won_by: dict[str, int] = {}
    for rec in sessions:
        for s in rec.steps:
            sp = s.line.spans_ms
            total = float(sp.get("total", 0.0))
            m = min(float(sp.get("llm_total", 0.0)), total)
            model.append(m)
            rest.append(total - m)
            step.append(total)
            calls += s.line.reply is not None
            for ev in s.line.events:
                if ev.get("kind") == "hedge":
                    hedged += 1
                    detail = str(ev.get("detail", ""))
                    who = detail.removeprefix("won by ").split(" (")[0] or "?"
                    won_by[who] = won_by.get(who, 0) + 1
    return Summary(_stats(model), _stats(rest), _stats(step), len(step), calls, hedged, won_by)


def _summary_html(sessions: list[Recording]) -> str:
    e = html.escape
    s = summary(sessions)
    out = ["<table><tr><th>per step (ms)</th><th>p50</th><th>p95</th><th>p99</th><th>max</th>"]
    for label, st in (("model", s.model_ms), ("non-model", s.non_model_ms), ("step", s.step_ms)):
        cells = "".join(f"<td class='n'>{st[k]:.0f}</td>" for k in ("p50", "p95", "p99", "max"))
        out.append(f"<tr><td>{label}</td>{cells}</tr>")
    out.append("</table>")
    who = ", ".join(f"{e(k)} {v}" for k, v in sorted(s.won_by.items(), key=lambda kv: -kv[1]))
    out.append(
        f"<p>{s.steps} steps, {s.calls} model replies; hedged {s.hedged}"
        + (f" (won by {who})" if who else "")
        + "</p>"
    )
    return "".join(out)


def table(sessions: list[Recording]) -> Table:
    multi = len(sessions) > 1
    t = Table(title="recorded timeline (ms)")
    if multi:
        t.add_column("task", justify="right")
    t.add_column("step", justify="right")
    t.add_column("action")
    t.add_column("target", overflow="fold")
    for k in STAGE_COLUMNS:
        t.add_column(k, justify="right")
    t.add_column("errors", style="red", overflow="fold")
    for r in rows(sessions):
        # Page strings are Text, never markup: a label reading `Buy [/] now` is shown as is.
        action = Text(r.action, style="" if r.ok else "red")
        cells: list[str | Text] = [str(r.step), action, Text(r.target)]
        cells += [f"{r.stages[k]:.0f}" if r.stages else "" for k in STAGE_COLUMNS]
        cells.append(Text("; ".join(r.errors)))
        t.add_row(*([str(r.session + 1)] if multi else []), *cells)
    t.caption = _summary_text(summary(sessions))
    return t


def _summary_text(s: Summary) -> str:
    parts = [
        f"{label} p50/p95/p99 {st['p50']:.0f}/{st['p95']:.0f}/{st['p99']:.0f} ms"
        for label, st in (("model", s.model_ms), ("non-model", s.non_model_ms), ("step", s.step_ms))
    ]
    who = ", ".join(f"{k} {v}" for k, v in sorted(s.won_by.items(), key=lambda kv: -kv[1]))
    parts.append(f"hedged {s.hedged} of {s.calls} calls" + (f" (won by {who})" if who else ""))
    return " · ".join(parts)


def html_report(sessions: list[Recording], *, title: str = "browser-agent recording") -> str:
    """One HTML page with the timeline table and a per-stage latency chart."""
    e = html.escape
    head = sessions[0].header
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title><style>",
        "body{font-family:system-ui,sans-serif;margin:2em;color:#222}",
        "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;"
        "padding:3px 6px}td.n{text-align:right;font-variant-numeric:tabular-nums}"
        "tr.err td{background:#fdecea}.legend span{display:inline-block;margin-right:1em}",
        "</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    for i, rec in enumerate(sessions):
        f = rec.footer
        outcome = "incomplete" if f is None else ("succeeded" if f.success else f.reason)
        parts.append(
            f"<p><b>task {i + 1}:</b> {e(rec.header.task)}<br>"
            f"outcome: <b>{e(outcome)}</b>"
            + (f" — {e(str(f.output))}" if f is not None and f.output else "")
            + f"<br>{len(rec.steps)} steps, {rec.recorded_ms:.0f} ms"
            + (" — <b>the file ends in a torn line</b>" if rec.torn else "")
            + "</p>"
        )
    parts.append(
        f"<p>runtime {e(head.runtime)}, python {e(head.python)}"
        + (f", browser {e(sessions[0].footer.browser)}" if sessions[0].footer else "")
        + "</p>"
    )
    parts.append("<h2>Latency</h2>")
    parts.append(_summary_html(sessions))
    parts.append("<h2>Latency per step</h2>")
    parts.append(_chart(sessions))
    parts.append("<h2>Timeline</h2><table><tr><th>task</th><th>step</th><th>action</th>")
    parts.append("<th>target</th>" + "".join(f"<th>{k}</th>" for k in STAGE_COLUMNS))
    parts.append("<th>errors</th></tr>")
    for r in rows(sessions):
        cls = "" if r.ok and not r.errors else " class='err'"
        cells = "".join(
            f"<td class='n'>{r.stages[k]:.0f}</td>" if r.stages else "<td></td>"
            for k in STAGE_COLUMNS
        )
        parts.append(
            f"<tr{cls}><td class='n'>{r.session + 1}</td><td class='n'>{r.step}</td>"
            f"<td>{e(r.action)}</td><td>{e(r.target)}</td>{cells}"
            f"<td>{e('; '.join(r.errors))}</td></tr>"
        )
    parts.append("</table></body></html>")
    return "\n".join(parts)


def _chart(sessions: list[Recording]) -> str:
    steps: list[tuple[str, dict[str, Any]]] = []
    for i, rec in enumerate(sessions):
        for s in rec.steps:
            label = f"{i + 1}.{s.n}" if len(sessions) > 1 else str(s.n)
            steps.append((label, s.line.spans_ms))
    if not steps:
        return "<p>no steps</p>"
    widest = max(sum(float(sp.get(k, 0.0)) for k in CHART_STAGES) for _, sp in steps) or 1.0
    bar_w, row_h, left = 600.0, 18, 40
    height = row_h * len(steps) + 10
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{left + bar_w + 80}' "
        f"height='{height}' role='img' aria-label='per-stage latency per step'>"
    ]
    for n, (label, sp) in enumerate(steps):
        y = 5 + n * row_h
        out.append(f"<text x='0' y='{y + 12}' font-size='12'>step {html.escape(label)}</text>")
        x = float(left)
        for k in CHART_STAGES:
            w = float(sp.get(k, 0.0)) / widest * bar_w
            if w > 0:
                out.append(
                    f"<rect x='{x:.1f}' y='{y}' width='{w:.1f}' height='{row_h - 4}' "
                    f"fill='{COLORS[k]}'><title>{k}: {float(sp.get(k, 0.0)):.0f} ms</title></rect>"
                )
                x += w
        total = float(sp.get("total", 0.0))
        out.append(f"<text x='{x + 4:.1f}' y='{y + 12}' font-size='11'>{total:.0f} ms</text>")
    out.append("</svg><p class='legend'>")
    out += [f"<span style='color:{c}'>■ {k}</span>" for k, c in COLORS.items()]
    out.append("</p>")
    return "".join(out)


def write_html(sessions: list[Recording], out: str | Path, *, title: str = "") -> Path:
    p = Path(out)
    p.write_text(html_report(sessions, title=title or "browser-agent recording"), "utf-8")
    return p
