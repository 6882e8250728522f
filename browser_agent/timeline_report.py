"""The timeline of a recording: a table for the terminal, a self-contained HTML page.

The terminal shows each task and how it ended, then one line per step (its actions and
where its time went), fitted to the window; the HTML shows one row per action with the
per-stage times of its step and adds a stacked per-stage latency chart per step (inline
SVG, no scripts, no external files). Both give p50/p95/p99 of the model's time, the
rest and the whole step, how many calls were hedged and who won them, and the calls
made again after the page moved.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import msgspec
from rich import box
from rich.console import Console
from rich.text import Text

from .recording import Recording
from .stats import percentile
from .terminal import PrintableTable, ms_text, safe

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
    restarts: int = 0
    """Model calls made again because the page moved under them (`restart` events)."""


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    q = {f"p{n}": percentile(values, n) for n in (50, 95, 99)}
    return {**q, "max": max(values)}


def summary(sessions: list[Recording]) -> Summary:
    """Model time (`llm_total`, bounded by the step), the rest, the step; hedged calls
    from the steps' `hedge` events ("won by NAME (...)")."""
    model, rest, step = [], [], []
    calls = hedged = restarts = 0
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
                restarts += ev.get("kind") == "restart"
                if ev.get("kind") == "hedge":
                    hedged += 1
                    detail = str(ev.get("detail", ""))
                    who = detail.removeprefix("won by ").split(" (")[0] or "?"
                    won_by[who] = won_by.get(who, 0) + 1
    return Summary(
        _stats(model), _stats(rest), _stats(step), len(step), calls, hedged, won_by, restarts
    )


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
        + f"; {_restarts(s.restarts)}</p>"
    )
    return "".join(out)


TIME_COLUMNS = (
    ("total", "step ms"),
    ("llm_total", "model ms"),
    ("non_model", "other ms"),
    ("llm_ttft", "ttft ms"),
    ("act", "act ms"),
    ("settle", "settle ms"),
    ("observe", "observe ms"),
    ("prompt", "prompt ms"),
)
"""The time columns of the terminal timeline, most important first: at a narrow width
the last ones go first."""
MIN_ACTIONS_WIDTH = 28
"""The actions column never gets narrower than this while a time column could go."""


class StepRow(msgspec.Struct):
    """One step of the terminal timeline: what it did, in one line, and its times."""

    label: str
    actions: str
    ok: bool
    errors: list[str]
    times: dict[str, float]


def step_rows(sessions: list[Recording]) -> list[StepRow]:
    out: list[StepRow] = []
    for i, rec in enumerate(sessions):
        for s in rec.steps:
            line = s.line
            sp = line.spans_ms
            total = float(sp.get("total", 0.0))
            model = min(float(sp.get("llm_total", 0.0)), total)
            times = {k: float(sp.get(k, 0.0)) for k, _ in TIME_COLUMNS if k != "non_model"}
            times["non_model"] = total - model
            acts, errors = [], []
            for a in line.actions or []:
                what = f"{a.name} {a.label}".strip()
                if a.target is not None and a.target.role:
                    what = f'{a.name} {a.target.role} "{a.target.name}"'
                if a.name in ("type", "select"):
                    what += f" ← {a.args.get('text', a.args.get('option', ''))!r}"
                elif a.name == "done":
                    what += f" {a.args.get('result', '')!r}"
                acts.append(("✗ " if not a.ok else "") + what)
                if a.error:
                    errors.append(a.error)
            errors += line.errors
            label = f"{i + 1}.{s.n}" if len(sessions) > 1 else str(s.n)
            ok = not errors and all(a.ok for a in line.actions or [])
            text = safe(" · ".join(acts) or "—")
            out.append(StepRow(label, text, ok, [safe(e) for e in errors], times))
    return out


def outcome(rec: Recording) -> str:
    """How a recorded session ended, in a few words."""
    f = rec.footer
    if f is None:
        return "incomplete (no footer: the process stopped before the end)"
    if f.success:
        return "succeeded" + (f": {f.output}" if f.output not in (None, "") else "")
    why = f.detail or (str(f.output) if f.output not in (None, "") else "")
    return f"{f.reason}" + (f": {why}" if why else "")


def table(sessions: list[Recording], width: int | None = None) -> PrintableTable:
    """One line per step: its actions and where its time went (ms).

    At `width` columns (a terminal) the least important time columns are left out until
    the actions fit at least `MIN_ACTIONS_WIDTH` wide, and what still does not fit is cut
    with an ellipsis; with no width (a pipe, a file) every column is kept and nothing is
    cut. Time columns that are 0 on every step are not shown: they measured nothing.
    Page strings are `Text`, never markup (a label reading `Buy [/] now` is shown as is).
    """
    rows = step_rows(sessions)
    columns = [
        (k, head) for k, head in TIME_COLUMNS if k == "total" or any(r.times[k] for r in rows)
    ]
    cells = {k: [ms_text(r.times[k]) for r in rows] for k, _ in columns}
    label_w = max([len("step"), *(len(r.label) for r in rows)])
    widths = {k: max([len(h), *map(len, cells[k])]) for k, h in columns}

    def used(cols: list[tuple[str, str]]) -> int:
        # Each column has a space of padding on both sides and one between columns,
        # except at the outer edges: all but the actions column's own width.
        n = len(cols) + 2
        return label_w + sum(widths[k] for k, _ in cols) + 2 * n + (n - 1) - 2

    if width is not None:
        while len(columns) > 1 and width - used(columns) < MIN_ACTIONS_WIDTH:
            columns.pop()
    room = None if width is None else max(width - used(columns), 8)
    t = PrintableTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("step", justify="right", no_wrap=True, min_width=label_w)
    t.add_column("actions", no_wrap=True, overflow="ellipsis", max_width=room)
    for k, head in columns:
        t.add_column(head, justify="right", no_wrap=True, min_width=widths[k])
    for n, r in enumerate(rows):
        text = Text(r.actions, style="" if r.ok else "red")
        for err in r.errors:
            text.append(f"  {err}", style="red")
        if room is not None:
            text.truncate(room, overflow="ellipsis")
        t.add_row(r.label, text, *(cells[k][n] for k, _ in columns))
    t.caption = _summary_text(summary(sessions))
    t.caption_justify = "left"
    return t


def show(sessions: list[Recording], console: Console, *, name: str = "") -> None:
    """`replay --show`: each task and how it ended, then one line per step."""
    head = f"recording {name}" if name else "recording"
    console.print(Text(f"{head}: {len(sessions)} task{'s' * (len(sessions) != 1)}"))
    for i, rec in enumerate(sessions):
        mark = "✓" if rec.footer is not None and rec.footer.success else "✗"
        style = "green" if mark == "✓" else "red"
        console.print(Text(f"task {i + 1}: ", style="bold") + Text(safe(rec.header.task)))
        steps = len(rec.steps)
        console.print(
            Text(f"{mark} ", style=style)
            + Text(safe(outcome(rec)))
            + Text(f" · {steps} step{'s' * (steps != 1)} · {rec.recorded_ms / 1000:.1f} s")
        )
    width = console.width if console.is_terminal else None
    console.print(table(sessions, width=width))


def _summary_text(s: Summary) -> str:
    parts = [
        f"{label} p50/p95/p99 {st['p50']:.0f}/{st['p95']:.0f}/{st['p99']:.0f} ms"
        for label, st in (("model", s.model_ms), ("non-model", s.non_model_ms), ("step", s.step_ms))
    ]
    who = ", ".join(f"{k} {v}" for k, v in sorted(s.won_by.items(), key=lambda kv: -kv[1]))
    parts.append(f"hedged {s.hedged} of {s.calls} calls" + (f" (won by {who})" if who else ""))
    parts.append(_restarts(s.restarts))
    return " · ".join(parts)


def _restarts(n: int) -> str:
    if not n:
        return "no call made again"
    return f"{n} call{'s' * (n != 1)} made again after the page moved (restart)"


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
    # A stage is drawn when it took time somewhere; one too short to see on this scale
    # (under a pixel everywhere) is named below the chart with its largest time instead.
    most = {k: max(float(sp.get(k, 0.0)) for _, sp in steps) for k in CHART_STAGES}
    drawn = [k for k in CHART_STAGES if most[k] / widest * bar_w >= 1.0]
    tiny = [k for k in CHART_STAGES if most[k] > 0 and k not in drawn]
    height = row_h * len(steps) + 10
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{left + bar_w + 80}' "
        f"height='{height}' role='img' aria-label='per-stage latency per step'>"
    ]
    for n, (label, sp) in enumerate(steps):
        y = 5 + n * row_h
        out.append(f"<text x='0' y='{y + 12}' font-size='12'>step {html.escape(label)}</text>")
        x = float(left)
        for k in drawn:
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
    out += [f"<span style='color:{COLORS[k]}'>■ {k}</span>" for k in drawn]
    if tiny:
        small = ", ".join(f"{k} (at most {most[k]:.2f} ms)" for k in tiny)
        out.append(f"<span>too short to draw: {small}</span>")
    out.append("</p>")
    return "".join(out)


def write_html(sessions: list[Recording], out: str | Path, *, title: str = "") -> Path:
    """Write the HTML report to `out`, making its folder if needed."""
    p = Path(out)
    if not p.parent.exists():
        p.parent.mkdir(parents=True)
    p.write_text(html_report(sessions, title=title or "browser-agent recording"), "utf-8")
    return p
