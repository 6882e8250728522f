  // ---------- what clips a box: scrolling containers and frame viewports ----------

  // The parent in the rendered (flat) tree: a slotted node renders under its slot.
  function flatParent(n) {
    return n.assignedSlot || up(n);
  }

  // A box whose descendants with position: fixed are laid out in it, not the viewport.
  function holdsFixed(s) {
    return (
      s.transform !== "none" || s.perspective !== "none" || s.filter !== "none" ||
      /paint|layout|strict|content/.test(s.contain) || /transform|perspective|filter/.test(s.willChange)
    );
  }

  const CLIPPING = /hidden|scroll|auto|overlay|clip/;

  // The ancestors in el's own document whose overflow clips el, innermost first, each
  // with the rectangle it shows (its padding box) on the axes it clips. Only the
  // containing-block chain clips: an absolutely positioned box escapes a static
  // ancestor with overflow, a fixed one every ancestor but a transformed one. The root
  // and body hand their overflow to the viewport, which `visiblePart` applies.
  function clippers(el) {
    const out = [];
    const doc = el.ownerDocument;
    let pos = getComputedStyle(el).position;
    for (let n = flatParent(el); n && n.nodeType === 1; n = flatParent(n)) {
      if (n === doc.documentElement || n === doc.body) break;
      const s = getComputedStyle(n);
      if (s.display === "contents") continue;
      if (pos === "fixed" && !holdsFixed(s)) continue;
      if (pos === "absolute" && s.position === "static" && !holdsFixed(s)) continue;
      pos = s.position;
      if (s.display === "inline") continue;
      const cx = CLIPPING.test(s.overflowX);
      const cy = CLIPPING.test(s.overflowY);
      if (!cx && !cy) continue;
      const r = n.getBoundingClientRect();
      const l = r.left + n.clientLeft;
      const t = r.top + n.clientTop;
      out.push({
        el: n,
        l: cx ? l : -Infinity,
        t: cy ? t : -Infinity,
        r: cx ? l + n.clientWidth : Infinity,
        b: cy ? t + n.clientHeight : Infinity,
        scrolls: (cx && n.scrollWidth > n.clientWidth) || (cy && n.scrollHeight > n.clientHeight),
      });
    }
    return out;
  }

  function cut(a, b, dx, dy) {
    return { l: Math.max(a.l, b.l + dx), t: Math.max(a.t, b.t + dy), r: Math.min(a.r, b.r + dx), b: Math.min(a.b, b.b + dy) };
  }

  const empty = (r) => r.r - r.l < 1 || r.b - r.t < 1;

  // What a person can see of one box: the rectangle clipped by every clipping ancestor
  // and frame viewport up to the top accessible document, in the box's own viewport
  // coordinates; `by` names what cut it away entirely ("viewport" or an element).
  function visiblePart(el, box) {
    let v = { l: box.left, t: box.top, r: box.right, b: box.bottom };
    let node = el;
    let dx = 0; // where the current document's viewport starts, in el's viewport
    let dy = 0;
    for (;;) {
      const win = node.ownerDocument.defaultView;
      for (const c of clippers(node)) {
        v = cut(v, c, dx, dy);
        if (empty(v)) return { v, by: c.el };
      }
      v = cut(v, { l: 0, t: 0, r: win.innerWidth, b: win.innerHeight }, dx, dy);
      if (empty(v)) return { v, by: "viewport" };
      const fe = frameOf(win);
      if (!fe) return { v, by: null };
      const [ox, oy] = contentOrigin(fe);
      dx -= ox;
      dy -= oy;
      node = fe;
    }
  }

  // Centre of what shows of the element's first box with a visible part (a whole box
  // first), in its own viewport; `full` when nothing of that box is clipped. With no
  // part showing, `by` says what hides it.
  function targetPoint(el) {
    let partial = null;
    let by = null;
    for (const r of el.getClientRects()) {
      if (r.width <= 0 || r.height <= 0) continue;
      const p = visiblePart(el, r);
      if (p.by) {
        by = by || p.by;
        continue;
      }
      const v = p.v;
      const full = v.l <= r.left && v.t <= r.top && v.r >= r.right && v.b >= r.bottom;
      const pt = { x: (v.l + v.r) / 2, y: (v.t + v.b) / 2, full };
      if (full) return pt;
      partial = partial || pt;
    }
    return partial || { x: null, y: null, full: false, by };
  }

  // Why nothing of the element shows, for an error message.
  function hiddenWhy(by) {
    if (!by || by === "viewport") return "outside the viewport";
    return `scrolled out of view inside ${who(by)}`;
  }

  // Scroll every container (and frame) between the element and the top accessible
  // viewport so the element sits in the middle of each. scrollIntoView does this in one
  // call, same-origin frames included; `instant` overrides a page's smooth scrolling.
  function reveal(el) {
    el.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
  }

  // The same for a point of el's viewport (inside a cross-origin frame whose box may be
  // larger than what shows of it): each container around el, innermost first, then the
  // window, scrolls the point to its middle.
  function revealPoint(el, x, y) {
    for (const c of clippers(el)) {
      if (!c.scrolls) continue;
      const before = [c.el.scrollLeft, c.el.scrollTop];
      const mx = Number.isFinite(c.l) ? x - (c.l + c.r) / 2 : 0;
      const my = Number.isFinite(c.t) ? y - (c.t + c.b) / 2 : 0;
      c.el.scrollBy({ left: mx, top: my, behavior: "instant" });
      x -= c.el.scrollLeft - before[0];
      y -= c.el.scrollTop - before[1];
    }
    const win = el.ownerDocument.defaultView;
    const vx = x < 0 || x >= win.innerWidth ? x - win.innerWidth / 2 : 0;
    const vy = y < 0 || y >= win.innerHeight ? y - win.innerHeight / 2 : 0;
    if (vx || vy) win.scrollBy({ left: vx, top: vy, behavior: "instant" });
  }

  // Map a point in el's viewport up through same-origin frames; check each frame is
  // what receives the point in its parent. Returns {ok, x, y} or {ok: false, reason}.
  function climb(el, x, y, hit) {
    const doc = el.ownerDocument;
    if (hit) {
      const h = hitAt(doc, x, y);
      if (!accepts(el, h)) return { ok: false, reason: `covered by ${coverName(h)}` };
    }
    let win = doc.defaultView;
    for (let fe = frameOf(win); fe; fe = frameOf(win)) {
      const [ox, oy] = contentOrigin(fe);
      x += ox;
      y += oy;
      win = fe.ownerDocument.defaultView;
      if (x < 0 || y < 0 || x >= win.innerWidth || y >= win.innerHeight)
        return { ok: false, reason: "outside the viewport", offscreen: true };
      if (hit) {
        const h = hitAt(fe.ownerDocument, x, y);
        if (h !== fe) return { ok: false, reason: `covered by ${coverName(h)}` };
      }
    }
    return { ok: true, x, y };
  }

