  // ---------- passes ----------

  function measureScroll() {
    state.sx = window.scrollX;
    state.sy = window.scrollY;
    state.fx = 0;
    state.fy = 0;
    state.vw = window.innerWidth;
    state.vh = window.innerHeight;
    state.active = deepActive(document);
  }

  const ROOT_CTX = Object.freeze({
    hidden: false, fixed: false, nameOnly: false, pointer: false, ariaHidden: false, owner: "",
    scroller: false,
  });

  function serializeRoot() {
    const out = [];
    state.covers = new Set();
    state.collapsed = new Map();
    state.candidates = new Set();
    state.labels = new WeakMap();
    state.labelRoots = new WeakSet();
    indexLabels(document);
    const body = document.body || document.documentElement;
    if (!body) return out;
    const run = { text: "", node: null, space: false };
    walkChildren(childNodesParent(body), 0, ROOT_CTX, out, run);
    flush(out, 0, run);
    return out;
  }

  function lineTop(rec, sy) {
    const n = rec.n;
    if (!n) return 0;
    let r;
    if (n.nodeType === 3) {
      const range = n.ownerDocument.createRange();
      range.selectNodeContents(n);
      r = range.getBoundingClientRect();
    } else if (n.isConnected) r = n.getBoundingClientRect();
    else return 0;
    return r.y + r.height / 2;
  }

  // First index in [lo, hi) whose line sits at or below viewport y `limit`
  // (lines are close to visual order; the search is the same for full and
  // delta passes, so both agree).
  function firstAtOrBelow(lines, lo, hi, limit) {
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lineTop(lines[mid]) < limit) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // Role counts of the element lines in lines[a, b), added to `map` (sign -1 takes away):
  // kept for the parts above and below the window as the counts are, for the summary.
  function tally(map, lines, a, b, sign) {
    for (let i = a; i < b; i++) {
      const e = lines[i].e;
      if (e) map.set(e[2], (map.get(e[2]) || 0) + sign);
    }
    return map;
  }

  function countRefs(lines, a, b) {
    let n = 0;
    for (let i = a; i < b; i++) if (lines[i].r && lines[i].t.charCodeAt(0) !== 0) n++;
    return n;
  }

  // What a part of the page outside the window holds, for the closing summary: element
  // counts by role (kept as the window moves) and the first headings left out, looked for
  // outward from the window's edge (`step` -1 above it, 1 below).
  function leftOut(roles, lines, from, step) {
    const heads = [];
    for (let i = from, n = 0; i >= 0 && i < lines.length && heads.length < 6 && n < 5000; i += step, n++) {
      const rec = lines[i];
      if (rec.e) continue;
      const t = rec.t.trimStart();
      if (t.charCodeAt(0) === 35 /* # */) heads.push(clip(t.replace(/^#+ /, ""), 40));
    }
    if (step < 0) heads.reverse();
    const counts = [...roles].filter((x) => x[1] > 0).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    let out = counts.slice(0, 4).map(([r, n]) => `${n} ${r}`).join(", ");
    if (heads.length) out += (out ? "; " : "") + "headings: " + heads.map(quote).join(", ");
    return out;
  }

  function notes() {
    const w = state.win;
    return [leftOut(w.aboveRoles, state.flat, w.start - 1, -1), leftOut(w.belowRoles, state.flat, w.end, 1)];
  }

  function chars(lines, a, b) {
    let n = 0;
    for (let i = a; i < b; i++) n += lines[i].t.length + 1;
    return n;
  }

  // The window of `flat` that fits the size cap: from a little above the
  // first line in view, as far down as the budget allows. Deltas re-fit it
  // with the same rule, so a delta and a fresh pass always agree.
  function windowFor(flat, total) {
    if (total <= state.maxChars) return [0, flat.length, false, total];
    const first = Math.min(firstAtOrBelow(flat, 0, flat.length, 0), flat.length - 1);
    let s = first;
    let e = first;
    let used = 0;
    const lead = state.maxChars * 0.1;
    while (s > 0 && used + flat[s - 1].t.length + 1 <= lead) used += flat[--s].t.length + 1;
    while (e < flat.length && used + flat[e].t.length + 1 <= state.maxChars) used += flat[e++].t.length + 1;
    while (s > 0 && used + flat[s - 1].t.length + 1 <= state.maxChars) used += flat[--s].t.length + 1;
    return [s, e, true, used];
  }

  function chooseWindow() {
    const flat = state.flat;
    state.total = chars(flat, 0, flat.length);
    const [s, e, truncated, used] = windowFor(flat, state.total);
    Object.assign(state.win, {
      start: s, end: e, above: countRefs(flat, 0, s), below: countRefs(flat, e, flat.length),
      aboveRoles: tally(new Map(), flat, 0, s, 1), belowRoles: tally(new Map(), flat, e, flat.length, 1),
      truncated, chars: used,
    });
  }

  // Move the window's edges to where a fresh pass would put them, as ops.
  function refit(ops, oldSeen, newSeen, newData) {
    const w = state.win;
    const flat = state.flat;
    const [s2, e2, truncated, used] = windowFor(flat, state.total);
    if (s2 === w.start && e2 === w.end) {
      w.truncated = truncated;
      return true;
    }
    if (s2 >= w.end || e2 <= w.start) return false;
    const enter = (a, b) => {
      for (let i = a; i < b; i++) {
        const rec = flat[i];
        if (rec.r && rec.e) {
          newSeen.set(rec.r, rec.t);
          newData.set(rec.r, rec.e);
        }
      }
      return flat.slice(a, b).map(lineText);
    };
    const leave = (a, b) => {
      for (let i = a; i < b; i++) {
        const rec = flat[i];
        if (rec.r && rec.e) {
          newSeen.delete(rec.r);
          newData.delete(rec.r);
          oldSeen.set(rec.r, rec.t);
        }
      }
    };
    if (s2 < w.start) {
      ops.push([0, 0, enter(s2, w.start)]);
      w.above -= countRefs(flat, s2, w.start);
      tally(w.aboveRoles, flat, s2, w.start, -1);
    } else if (s2 > w.start) {
      leave(w.start, s2);
      ops.push([0, s2 - w.start, []]);
      w.above += countRefs(flat, w.start, s2);
      tally(w.aboveRoles, flat, w.start, s2, +1);
    }
    if (e2 > w.end) {
      ops.push([w.end - s2, 0, enter(w.end, e2)]);
      w.below -= countRefs(flat, w.end, e2);
      tally(w.belowRoles, flat, w.end, e2, -1);
    } else if (e2 < w.end) {
      leave(e2, w.end);
      ops.push([e2 - s2, w.end - e2, []]);
      w.below += countRefs(flat, e2, w.end);
      tally(w.belowRoles, flat, e2, w.end, +1);
    }
    Object.assign(w, { start: s2, end: e2, truncated, chars: used });
    return true;
  }

  function lineText(rec) {
    return rec.t;
  }

  function fullPass() {
    state.dirty.clear();
    state.bodyOps = [];
    state.needFull = false;
    state.scrolled = false;
    state.flat = serializeRoot();
    const total = chars(state.flat, 0, state.flat.length);
    if (compactWanted(state.flat, total) !== state.compact) {
      state.compact = !state.compact;
      state.flat = serializeRoot();
    }
    chooseWindow();
    const w = state.win;
    const lines = [];
    const elements = [];
    state.seen = new Map();
    for (let i = w.start; i < w.end; i++) {
      const rec = state.flat[i];
      lines.push(rec.t);
      if (rec.e) {
        elements.push(rec.e);
        state.seen.set(rec.r, rec.t);
      }
    }
    return { full: true, lines, elements, added: [], removed: [], changed: [] };
  }

  function escalate(el) {
    // Nearest block ancestor (inclusive) whose lines are still in `flat`.
    for (let n = el; n; n = parentOf(n)) {
      const inf = n.nodeType === 1 ? state.info.get(n) : undefined;
      if (inf) {
        const i = state.flat.indexOf(inf.first);
        if (i >= 0) {
          const j = state.flat.indexOf(inf.last, i);
          if (j >= 0) return { el: n, inf, i, j };
        }
      }
    }
    return null;
  }

  function lost(why) {
    state.why = why;
    return null;
  }

  // A node at the top level renders as lines of its own (so it can be spliced in or
  // out by itself) unless it is text or inline content, which joins its neighbours.
  function ownLines(n) {
    if (n.nodeType === 3) return !/\S/.test(n.data);
    if (n.nodeType !== 1) return true;
    if (SKIP_TAGS.has(n.tagName)) return true;
    if (!n.isConnected) return state.info.has(n) || !/\S/.test(n.textContent || "");
    const d = getComputedStyle(n).display;
    return d !== "inline" && d !== "contents";
  }

  // Where the lines of a new top-level node go: after the lines of the nearest earlier
  // sibling that has some, else before the next one's; null if an inline neighbour
  // would merge with it.
  function insertionPoint(n) {
    for (let p = n.previousSibling; p; p = p.previousSibling) {
      if (!ownLines(p)) return null;
      const inf = p.nodeType === 1 ? state.info.get(p) : undefined;
      const j = inf ? state.flat.indexOf(inf.last) : -1;
      if (j >= 0) return j + 1;
    }
    for (let q = n.nextSibling; q; q = q.nextSibling) {
      if (!ownLines(q)) return null;
      const inf = q.nodeType === 1 ? state.info.get(q) : undefined;
      const i = inf ? state.flat.indexOf(inf.first) : -1;
      if (i >= 0) return i;
    }
    return state.flat.length ? null : 0;
  }

  // Whether the nearest sibling in direction `dir` that renders anything is inline.
  function inlineBeside(n, dir) {
    for (; n; n = dir < 0 ? n.previousSibling : n.nextSibling) {
      if (!ownLines(n)) return true;
      if (n.nodeType === 1 && state.info.has(n)) return false;
    }
    return false;
  }

  // Top-level children added to or removed from <body>, as splices of `flat`; null when
  // inline content at the top level makes lines merge (a full pass then).
  function bodyChanges() {
    const splices = [];
    const records = state.bodyOps;
    state.bodyOps = [];
    for (const r of records) {
      if (r.removedNodes.length && (inlineBeside(r.previousSibling, -1) || inlineBeside(r.nextSibling, 1)))
        return null; // the runs on either side may join
      for (const n of r.removedNodes) {
        if (!ownLines(n)) return null;
        if (n.nodeType === 1 && n.isConnected) return null; // moved elsewhere: rare, be safe
        if (n.nodeType !== 1) continue;
        const inf = state.info.get(n);
        const i = inf ? state.flat.indexOf(inf.first) : -1;
        if (i < 0) continue; // it had rendered nothing
        const j = state.flat.indexOf(inf.last, i);
        if (j < 0) return null;
        state.info.delete(n);
        splices.push([i, j - i + 1, []]);
        applySplice(i, j - i + 1, []);
      }
      for (const n of r.addedNodes) {
        if (n.parentNode !== document.body) continue; // moved on again since
        if (!ownLines(n)) return null;
        if (n.nodeType !== 1) continue;
        if (state.info.has(n)) return null;
        const lines = [];
        const run = { text: "", node: null, space: false };
        walkElement(n, 0, ROOT_CTX, lines, run);
        if (run.text) return null;
        if (!lines.length) continue;
        const at = insertionPoint(n);
        if (at === null) return null;
        splices.push([at, 0, lines]);
        applySplice(at, 0, lines);
      }
    }
    return splices;
  }

  // The child of <body> that holds `n` (n itself included), or null.
  function topChild(n) {
    const body = document.body;
    for (let c = n; c && c !== body; c = parentOf(c)) if (c.parentNode === body) return c;
    return null;
  }

  // A child of <body> whose lines stand alone: not inline, no inline neighbours.
  function standsAlone(t) {
    return ownLines(t) && !inlineBeside(t.previousSibling, -1) && !inlineBeside(t.nextSibling, 1);
  }

  // Re-serialize a child of <body> that had no lines in `flat` (it rendered nothing):
  // its lines, if any, go in by themselves. Null when they cannot stand alone,
  // false when it still renders nothing, else the splice [i, old records, new records].
  function rewalkTop(t) {
    if (!t.isConnected || t.parentNode !== document.body || !standsAlone(t)) return null;
    const lines = [];
    const run = { text: "", node: null, space: false };
    walkElement(t, 0, ROOT_CTX, lines, run);
    if (run.text) return null;
    if (!lines.length) return false;
    const i = insertionPoint(t);
    if (i === null) return null;
    return [i, applySplice(i, 0, lines), lines];
  }

  function applySplice(i, count, lines) {
    const old = state.flat.splice(i, count, ...lines);
    for (const rec of old) rec.gone = true; // records never come back: membership is a flag
    state.total += chars(lines, 0, lines.length) - chars(old, 0, old.length);
    return old;
  }

  function deltaPass() {
    const ops = [];
    const probes = [];
    const oldSeen = new Map();
    const newSeen = new Map();
    const newData = new Map();
    const w = state.win;
    // The window bookkeeping for `old` lines at `i` having been replaced by `lines`.
    function account(i, old, lines) {
      const d = lines.length - old.length;
      if (i + old.length <= w.start && !(i === w.start && old.length === 0) && w.truncated) {
        w.start += d;
        w.end += d;
        w.above += countRefs(lines, 0, lines.length) - countRefs(old, 0, old.length);
        tally(tally(w.aboveRoles, lines, 0, lines.length, 1), old, 0, old.length, -1);
      } else if (i >= w.end && w.truncated) {
        w.below += countRefs(lines, 0, lines.length) - countRefs(old, 0, old.length);
        tally(tally(w.belowRoles, lines, 0, lines.length, 1), old, 0, old.length, -1);
      } else if (i >= w.start && i + old.length <= w.end) {
        ops.push([i - w.start, old.length, lines.map(lineText)]);
        nearestElement(i - 1, -1, probes);
        nearestElement(i + lines.length, 1, probes);
        w.end += d;
        for (const rec of old) if (rec.r && rec.e && !newSeen.has(rec.r)) oldSeen.set(rec.r, rec.t);
        for (const rec of lines) if (rec.r && rec.e) { newSeen.set(rec.r, rec.t); newData.set(rec.r, rec.e); }
      } else return false;
      return true;
    }
    let spliced = false;
    if (state.bodyOps.length) {
      // Splices are applied to `flat` as they are found; replay them on the window.
      const before = state.flat.slice();
      const splices = bodyChanges();
      if (!splices) return lost("unanchored");
      spliced = splices.length > 0;
      let shadow = before;
      for (const [i, count, lines] of splices) {
        const old = shadow.slice(i, i + count);
        shadow = shadow.slice(0, i).concat(lines, shadow.slice(i + count));
        if (!account(i, old, lines)) return lost("window-edge");
      }
    }
    const roots = [];
    const rewalk = new Set(); // children of <body> to re-serialize whole
    for (const n of state.dirty) {
      // A removed node's removal is recorded on its (connected) parent.
      if (!n.isConnected) continue;
      if (!state.info.has(n)) {
        // Inside a subtree that renders nothing (display:none, opacity 0) a
        // change cannot show; hiding the subtree itself dirties its root.
        const p = parentOf(n);
        if (p && p.nodeType === 1 && !p.checkVisibility({ opacityProperty: true })) continue;
      }
      const hit = escalate(n);
      if (hit) roots.push(hit.el);
      else {
        const t = topChild(n); // e.g. a top-level block that rendered nothing until now
        if (!t) return lost("unanchored");
        rewalk.add(t);
      }
    }
    state.dirty.clear();
    // Drop roots inside other roots.
    const rootSet = new Set(roots);
    const tops = [];
    for (const r of rootSet) {
      let inside = false;
      for (let p = parentOf(r); p; p = parentOf(p))
        if (rootSet.has(p) || rewalk.has(p)) { inside = true; break; }
      if (!inside && !rewalk.has(r)) tops.push(r);
    }
    for (let el of tops) {
      let hit = escalate(el);
      if (!hit) return lost("unanchored");
      let lines;
      for (;;) {
        el = hit.el;
        lines = [];
        let pending = false;
        if (el.isConnected) {
          const run = { text: "", node: null, space: false };
          state.level = levelOf(el);
          walkElement(el, hit.inf.depth, hit.inf.ctx, lines, run);
          state.level = 0;
          pending = !!run.text; // text that would merge with what follows
        }
        const inf2 = state.info.get(el);
        if (!pending && lines.length && inf2 && inf2.first === lines[0] && inf2.last === lines[lines.length - 1])
          break;
        // Empty now, or no longer a block of its own: widen to the parent. A child of
        // <body> between blocks can go empty by itself (body has no lines to re-walk).
        const up = parentOf(el);
        if (up === document.body && el.parentNode === up && !pending && !lines.length && standsAlone(el)) {
          state.info.delete(el);
          break;
        }
        hit = up ? escalate(up) : null;
        if (!hit) return lost("unanchored");
      }
      const { i, j, inf } = hit;
      const old = state.flat.slice(i, j + 1);
      // Ancestors that began or ended with the old lines now begin/end with the new ones.
      for (let p = parentOf(el); p; p = parentOf(p)) {
        const pi = state.info.get(p);
        if (!pi) continue;
        let touched = false;
        if (pi.first === inf.first || pi.first === old[0]) { pi.first = lines[0]; touched = true; }
        if (pi.last === inf.last || pi.last === old[old.length - 1]) { pi.last = lines[lines.length - 1]; touched = true; }
        if (!touched) break;
      }
      applySplice(i, old.length, lines);
      if (!account(i, old, lines)) return lost("window-edge");
    }
    for (const t of rewalk) {
      const done = rewalkTop(t);
      if (done === null) return lost("unanchored");
      if (!done) continue;
      spliced = true;
      if (!account(done[0], done[1], done[2])) return lost("window-edge");
    }
    if ((tops.length || spliced) && compactWanted(state.flat, state.total) !== state.compact) return lost("compact");
    if (!refit(ops, oldSeen, newSeen, newData)) return lost("window-moved");
    if ((tops.length || spliced) && probesMoved(probes, newData)) remeasure(newData);
    const added = [];
    const removed = [];
    const changed = [];
    const elements = [];
    for (const ref of state.moved) elements.push(newData.get(ref));
    state.moved = [];
    for (const [ref, t] of newSeen) {
      if (!oldSeen.has(ref)) {
        if (!state.seen.has(ref)) added.push(ref);
        else if (state.seen.get(ref) !== t) changed.push(ref);
      } else if (oldSeen.get(ref) !== t) changed.push(ref);
      state.seen.set(ref, t);
      elements.push(newData.get(ref));
    }
    for (const ref of oldSeen.keys()) {
      if (!newSeen.has(ref) && state.seen.has(ref)) {
        removed.push(ref);
        state.seen.delete(ref);
      }
    }
    return { full: false, ops, elements, added, removed, changed };
  }

  function moved(rec) {
    const g = geom((rec.box || rec.n).getBoundingClientRect(), rec.e[10] === 1);
    const e = rec.e;
    return g[0] !== e[6] || g[1] !== e[7] || g[2] !== e[8] || g[3] !== e[9];
  }

  function nearestElement(i, step, probes) {
    const flat = state.flat;
    for (let n = 0; n < 32 && i >= 0 && i < flat.length; n++, i += step) {
      const rec = flat[i];
      if (rec.e && !rec.f) {
        probes.push(rec);
        return;
      }
    }
  }

  // Layout moves neighbours first: if the nearest elements before and after
  // each changed region stayed put, nothing else moved either (checked
  // against full passes by the tests), so the window is not re-measured.
  function probesMoved(probes, newData) {
    for (const rec of probes) {
      if (newData.has(rec.r) || !rec.n.isConnected) continue;
      if (moved(rec)) return true;
    }
    return false;
  }

  // A change can move everything after it without touching it: re-read the
  // geometry of the window's elements and ship the records that moved.
  function remeasure(newData) {
    const flat = state.flat;
    const w = state.win;
    for (let i = w.start; i < w.end; i++) {
      const rec = flat[i];
      if (!rec.e || rec.f || newData.has(rec.r) || !rec.n.isConnected) continue;
      const g = geom((rec.box || rec.n).getBoundingClientRect(), rec.e[10] === 1);
      const e = rec.e;
      if (g[0] !== e[6] || g[1] !== e[7] || g[2] !== e[8] || g[3] !== e[9]) {
        rec.e = [...e.slice(0, 6), ...g];
        newData.set(rec.r, rec.e);
        state.moved.push(rec.r);
      }
    }
  }

  function markers() {
    const w = state.win;
    const flat = state.flat;
    if (w.end <= w.start) return [0, 0];
    const top = firstAtOrBelow(flat, w.start, w.end, 0) - w.start;
    const bottom = firstAtOrBelow(flat, w.start, w.end, state.vh) - w.start;
    return [top, bottom];
  }

