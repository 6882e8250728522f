// In-page half of acting on refs. Loaded as a function expression that takes the
// serializer's api and runs in the same world (the CDP isolated world on Chromium),
// so refs resolve to the very elements the model saw and page scripts can neither
// see nor patch any of this.
//
// Python calls only the entry points returned at the bottom:
//   prepare(o)      resolve a ref, check it is still what the model saw, make it
//                   actionable (scrolled into view in every box that clips it, visible,
//                   enabled, stable, hit at the centre of what shows of it) and return
//                   the point for trusted input, in this frame's top accessible viewport
//                   (same-origin frame offsets included); with o.opens, note whether
//                   the target announces a popup (settle waits for it) or likely opens
//                   one unannounced (`late`)
//   frameOffset(o)  map a point inside a child iframe (given by its ref) to this frame
//   begin()         mark the start of an action (for settle's background detection)
//   settle(o)       resolve once the DOM has been quiet for o.quietMs and, within o.uiMs
//                   of the action, UI it set on its way has shown (or o.timeoutMs), or at
//                   once with `navigating` when the document is being replaced
//   changed(o)      resolve on the next counted mutation (or o.timeoutMs)
//   focus, setValue, selectOptions, findOption, checked, scroll, fileInput, focusElement, setFiles,
//   hasText, state, element
//
// Nothing here sleeps for a fixed time: every wait is a poll on animation frames, a
// timer to the next moment something can change, or a wake-up from the MutationObserver,
// bounded by a deadline the caller passes in.
(api) => {
  "use strict";

  const now = () => performance.now();
  const SPECIAL_INPUTS = new Set(["color", "date", "time", "datetime-local", "month", "range", "week"]);
  const TEXT_INPUTS = new Set(["", "text", "email", "number", "password", "search", "tel", "url"]);
  const CARET_INPUTS = new Set(["", "text", "search", "tel", "url", "password"]);
  const ROLES = new Set([
    "button", "link", "checkbox", "radio", "switch", "tab", "menuitem", "menuitemcheckbox",
    "menuitemradio", "option", "combobox", "textbox", "searchbox", "slider", "spinbutton",
    "listbox", "treeitem", "summary", "clickable", "iframe", "dialog",
  ]);
  const semantic = (d) => !!d.role && (d.role !== d.tag || ROLES.has(d.role));
  const collapse = (s) => (s || "").replace(/\s+/g, " ").trim();

  // One animation frame, or 50 ms where frames stall (hidden tabs): never unbounded.
  function nextFrame() {
    return new Promise((resolve) => {
      let done = false;
      const fin = () => {
        if (!done) {
          done = true;
          resolve();
        }
      };
      requestAnimationFrame(fin);
      setTimeout(fin, 50);
    });
  }

  // ---------- describing elements the way the serializer names them ----------

  function describeEl(el) {
    return JSON.parse(api.describe(api.refFor(el)));
  }

  function labelOf(d) {
    return d && d.connected ? `${d.role} ${JSON.stringify(d.name)}` : null;
  }

  function who(el) {
    if (!el) return "nothing";
    const d = describeEl(el);
    const id = el.id ? `#${el.id}` : "";
    if (semantic(d)) return `${d.role} ${JSON.stringify(d.name)}`;
    return `<${el.tagName.toLowerCase()}${id}>` + (d.name ? ` ${JSON.stringify(d.name)}` : "");
  }

  // Roles that cover other content on purpose: what a person would say is in the way.
  const COVERING = new Set(["dialog", "alertdialog", "banner", "alert", "tooltip", "menu", "listbox", "status"]);

  // What lies over a target, in words the model can act on: the dialog, banner or menu
  // the hit point is part of; else the element hit, named like an element line, or by
  // its id or first classes and the start of its text.
  function coverName(h) {
    if (!h) return "nothing";
    for (let n = h, i = 0; n && n.nodeType === 1 && i < 8; n = up(n), i++) {
      const role = (n.getAttribute("role") || "").trim();
      if (COVERING.has(role) || n.tagName === "DIALOG") return who(n);
    }
    const d = describeEl(h);
    if (semantic(d) && d.name) return `${d.role} ${JSON.stringify(d.name)}`;
    const tag = h.tagName.toLowerCase();
    if (tag === "html" || tag === "body") return `<${tag}>`;
    const cls = Array.from(h.classList || []).slice(0, 2);
    const mark = h.id ? `#${h.id}` : cls.length ? "." + cls.join(".") : "";
    const text = collapse(h.innerText || h.textContent || "");
    const shown = text.length > 40 ? text.slice(0, 39) + "…" : text;
    return `<${tag}${mark}>` + (shown ? ` ${JSON.stringify(shown)}` : "");
  }

  // ---------- composed tree, frames, hit testing ----------

  function up(n) {
    const p = n.parentNode;
    if (!p) return null;
    if (p.nodeType === 11) return p.host || null;
    return p.nodeType === 1 ? p : null;
  }

  function within(ancestor, n) {
    for (; n; n = up(n)) if (n === ancestor) return true;
    return false;
  }

  function frameOf(win) {
    try {
      return win.frameElement;
    } catch (e) {
      return null;
    }
  }

  // Where a frame's viewport starts inside its parent's viewport.
  function contentOrigin(fe) {
    const r = fe.getBoundingClientRect();
    const s = getComputedStyle(fe);
    return [
      r.x + fe.clientLeft + (parseFloat(s.paddingLeft) || 0),
      r.y + fe.clientTop + (parseFloat(s.paddingTop) || 0),
    ];
  }

  // Open shadow roots, and closed ones the driver handed to the serializer.
  const shadowOf = (el) => el.shadowRoot || (api.shadowOf ? api.shadowOf(el) : null);

  function hitAt(root, x, y) {
    let el = root.elementFromPoint(x, y);
    while (el && shadowOf(el)) {
      const inner = shadowOf(el).elementFromPoint(x, y);
      if (!inner || inner === el) break;
      el = inner;
    }
    return el;
  }

  // Like hitAt, but also descends into same-origin frames.
  function deepHit(doc, x, y) {
    let el = hitAt(doc, x, y);
    while (el && (el.tagName === "IFRAME" || el.tagName === "FRAME")) {
      let inner = null;
      try {
        inner = el.contentDocument;
      } catch (e) {
        inner = null;
      }
      if (!inner) break;
      const [ox, oy] = contentOrigin(el);
      x -= ox;
      y -= oy;
      const hit = hitAt(inner, x, y);
      if (!hit) break;
      el = hit;
    }
    return el;
  }

  // Does a pointer event at the element's point land on the element? A hit on a
  // descendant counts, and so does a label standing for the element (or the control
  // of a label we target): the browser forwards those clicks.
  function accepts(el, hit) {
    if (!hit) return false;
    if (within(el, hit)) return true;
    if (el.tagName === "LABEL" && el.control && within(el.control, hit)) return true;
    for (let n = hit; n; n = up(n)) if (n.tagName === "LABEL") return n.control === el;
    return false;
  }

  function isVisible(el) {
    if (!el.isConnected) return false;
    if (el.checkVisibility && !el.checkVisibility({ visibilityProperty: true })) return false;
    for (const r of el.getClientRects()) if (r.width > 0 && r.height > 0) return true;
    return false;
  }

  function control(el) {
    return el.tagName === "LABEL" && el.control ? el.control : el;
  }

  function isDisabled(el) {
    const c = control(el);
    if (c.matches(":disabled")) return true;
    for (let n = c; n; n = up(n)) if (n.getAttribute("aria-disabled") === "true") return true;
    return false;
  }

  function editableTarget(el) {
    const c = control(el);
    if (c.tagName === "INPUT" || c.tagName === "TEXTAREA" || c.isContentEditable) return c;
    // A widget wrapping its text field (custom comboboxes, search boxes).
    const root = shadowOf(c) || c;
    const inner = root.querySelector(
      "input:not([type=hidden]):not([type=checkbox]):not([type=radio]), textarea, [contenteditable]:not([contenteditable=false])"
    );
    return inner || null;
  }

  function notEditable(el) {
    const t = editableTarget(el);
    if (!t) return "not editable";
    if (t.readOnly || t.getAttribute("aria-readonly") === "true") return "read-only";
    return "";
  }

  function isAnimating(el) {
    for (let n = el; n; n = up(n)) {
      if (!n.getAnimations) break;
      for (const a of n.getAnimations()) if (a.playState === "running") return true;
    }
    return false;
  }

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

  // ---------- finding what replaced a gone element ----------

  function forEachElement(root, fn) {
    for (const el of root.querySelectorAll("*")) {
      if (fn(el) === false) return false;
      if (el.shadowRoot && forEachElement(el.shadowRoot, fn) === false) return false;
      if (el.tagName === "IFRAME" || el.tagName === "FRAME") {
        let d = null;
        try {
          d = el.contentDocument;
        } catch (e) {
          d = null;
        }
        if (d && forEachElement(d, fn) === false) return false;
      }
    }
    return true;
  }

  // Visible elements carrying the same tag, role and name as the one the model saw.
  function findSame(exp) {
    const out = [];
    const tag = (exp.tag || "").toUpperCase();
    forEachElement(document, (el) => {
      if (tag && el.tagName !== tag) return true;
      if (!isVisible(el)) return true;
      const d = describeEl(el);
      if (d.role === exp.role && d.name === exp.name) out.push(el);
      return out.length < 3;
    });
    return out;
  }

  // What now sits where the model saw the element (its bbox centre), if anything.
  function atPlace(exp) {
    if (!exp || !exp.bbox) return null;
    const [x, y, w, h] = exp.bbox;
    const cx = x + w / 2;
    const cy = y + h / 2;
    if (cx < 0 || cy < 0 || cx >= innerWidth || cy >= innerHeight) return null;
    const hit = deepHit(document, cx, cy);
    for (let n = hit, i = 0; n && i < 8; n = up(n), i++) {
      const d = describeEl(n);
      if (semantic(d) && d.role !== "label") return labelOf(d);
    }
    return null;
  }

  // ---------- entry: prepare ----------

  async function prepare(o) {
    begin();
    const d = JSON.parse(api.describe(o.ref));
    if (!d.known) return { status: "unknown" };
    let el = api.element(o.ref);
    let ref = o.ref;
    let retargeted = false;
    const exp = o.expect || null;
    if (!el) {
      const found = exp ? findSame(exp) : [];
      if (found.length !== 1) {
        return {
          status: "stale",
          reason: found.length > 1 ? `gone, and ${found.length} elements now match it` : "gone",
          actual: found.length > 1 ? null : atPlace(exp),
        };
      }
      el = found[0];
      ref = api.refFor(el);
      retargeted = true;
    } else if (exp && (d.role !== exp.role || d.name !== exp.name)) {
      return { status: "stale", reason: "changed", actual: labelOf(d) };
    }
    watchAround(el);
    // A keyboard sink (a terminal's hidden textarea) is reached through the widget its
    // line stands on: that is what is seen, scrolled to and clicked.
    const box = (api.sinkHost && api.sinkHost(el)) || el;
    const c = { visible: true, enabled: true, editable: false, hit: true, scroll: true, stable: true, point: true, ...(o.checks || {}) };
    const deadline = now() + (o.timeoutMs ?? 5000);
    let scrolls = 0; // a target that moved after one scroll (lazy layout) gets two more
    let settling = false;
    let last = null;
    for (;;) {
      let why = "";
      if (!el.isConnected) return { status: "stale", reason: "gone", actual: null };
      if (c.visible && !isVisible(box)) why = "not visible";
      else if (c.enabled && isDisabled(el)) why = "disabled";
      else if (c.editable && (why = notEditable(el))) {
        if (why === "not editable") return { status: "error", reason: why, final: true };
      } else if (c.point) {
        const pt = targetPoint(box);
        const seen = pt.x !== null;
        let res = seen ? climb(box, pt.x, pt.y, false) : { ok: false, reason: hiddenWhy(pt.by) };
        // Scroll once for a box not wholly in view; again only while none of it shows.
        if (c.scroll && scrolls < 3 && (scrolls === 0 ? !pt.full || !res.ok : !seen || !res.ok)) {
          reveal(box);
          scrolls += 1;
          settling = true;
          last = box.getBoundingClientRect();
          await nextFrame();
          continue;
        }
        if (res.ok && c.stable && (settling || isAnimating(box))) {
          const r = box.getBoundingClientRect();
          const same = last && r.x === last.x && r.y === last.y && r.width === last.width && r.height === last.height;
          last = r;
          if (!same) why = "not stable";
          else settling = false;
        }
        if (!why && res.ok && c.hit) res = climb(box, pt.x, pt.y, true);
        if (!why && !res.ok) why = res.reason;
        if (!why) return ok(el, ref, retargeted, res.x, res.y, scrolls > 0, o.opens);
      } else return ok(el, ref, retargeted, null, null, false, o.opens);
      if (now() >= deadline) return { status: "error", reason: why };
      await nextFrame();
    }
  }

  // `opens`: the action is one that can open UI (a click, hover, typing, a key on it).
  function ok(el, ref, retargeted, x, y, scrolled, opens) {
    const out = { status: "ok", ref, retargeted, x, y, scrolled, tag: el.tagName.toLowerCase(), type: (control(el).type || "").toLowerCase() };
    if (retargeted) {
      const d = describeEl(el);
      out.role = d.role;
      out.name = d.name;
    }
    watch.target = el;
    watch.acted = now();
    watch.appeared = false;
    watch.expect = !!opens && announcesPopup(el, opens === "type");
    out.announced = watch.expect;
    out.late = !!opens && !watch.expect && suggestsPopup(el);
    return out;
  }

  // ---------- UI an action opens: announced, or likely ----------

  // The target (or the widget right around it) says by ARIA that acting on it opens a
  // popup: a combobox, an autocompleting field, a `list=` datalist, a trigger with
  // aria-haspopup or a collapsed aria-expanded. An open one (aria-expanded=true) is
  // being closed or picked from, except by typing, which filters it.
  function announcesPopup(el, typing) {
    for (let n = control(el), i = 0; n && n.nodeType === 1 && i < 3; n = up(n), i++) {
      const expanded = n.getAttribute("aria-expanded");
      if (expanded === "true" && !typing) return false;
      const role = (n.getAttribute("role") || "").trim();
      const pop = n.getAttribute("aria-haspopup");
      const auto = n.getAttribute("aria-autocomplete");
      if (role === "combobox" || (auto && auto !== "none") || (pop && pop !== "false")) return true;
      if (n.tagName === "INPUT" && n.hasAttribute("list")) return true;
      if (expanded === "false") return true;
    }
    return false;
  }

  const SUGGESTING = /auto-?complete|auto-?suggest|type-?ahead|suggest|date-?picker|calendar|combo/i;

  // No ARIA, but the page has likely taken the field over to offer its own choices: a
  // text field with autocomplete="off" (jQuery UI's autocomplete and most of its kind set
  // it) or named like an autocomplete or date picker. Not waited for in settle (a
  // login field sets it too): the agent keeps watch for it while the model thinks.
  function suggestsPopup(el) {
    const t = editableTarget(el);
    if (!t || t.isContentEditable) return false;
    if ((t.getAttribute("autocomplete") || "").toLowerCase() === "off") return true;
    if (t.form && (t.form.getAttribute("autocomplete") || "").toLowerCase() === "off") return true;
    for (let n = t, i = 0; n && n.nodeType === 1 && i < 3; n = up(n), i++) {
      const words = `${n.id} ${n.getAttribute("class") || ""} ${n.getAttribute("name") || ""}`;
      if (SUGGESTING.test(words)) return true;
    }
    return false;
  }

  // A point inside the child frame held by iframe `o.ref`, in this frame's viewport.
  async function frameOffset(o) {
    const fe = api.element(o.ref);
    if (!fe) return { status: "error", reason: "its frame is gone" };
    const deadline = now() + (o.timeoutMs ?? 5000);
    let scrolled = false;
    for (;;) {
      const [ox, oy] = contentOrigin(fe);
      const x = ox + o.x;
      const y = oy + o.y;
      const p = visiblePart(fe, { left: x, top: y, right: x + 1, bottom: y + 1 });
      if (p.by && !scrolled) {
        revealPoint(fe, x, y);
        scrolled = true;
        await nextFrame();
        continue;
      }
      const res = p.by ? { ok: false, reason: hiddenWhy(p.by) } : climb(fe, x, y, o.hit !== false);
      if (res.ok) return { status: "ok", x: res.x, y: res.y };
      if (now() >= deadline) return { status: "error", reason: res.reason };
      await nextFrame();
    }
  }

  // ---------- settle: DOM quiet, ignoring what was already ticking ----------

  const watch = {
    mo: null,
    roots: new WeakSet(),
    last: 0, // time of the last mutation that counts
    since: -1, // when this document's watch began (its DOMContentLoaded, usually)
    recent: new Map(), // element -> {n, last}: who has been mutating lately
    background: new Set(), // elements that kept mutating before the action began
    churned: new Set(), // background elements that mutated since the action began
    pruned: 0,
    acted: -1, // when the action's input went out (its prepare returned), or began
    target: null, // the element acted on
    expect: false, // the target announced a popup: settle waits (bounded) for new UI
    appeared: false, // new UI showed up since the action
    restyled: false, // settle held for UI revealed by style alone (no mutation marks it)
    ticks: new WeakMap(), // element -> {n, first, last}: changes made by the page itself
    waiters: new Set(), // `changed` calls to wake on the next counted mutation
  };

  // A mutation this long after the last action (or the load) is the page's own doing.
  const SELF_AFTER_MS = 1000;

  // An element that changed by itself at least twice, some time apart, ticks (a clock,
  // a counter, a rotating banner): its text is no action's effect.
  function isTicker(n) {
    const k = watch.ticks.get(n);
    return !!k && k.n >= 2 && k.last - k.first >= 400;
  }

  // Attributes whose change shows or hides something.
  const REVEALS = new Set(["hidden", "style", "class", "open", "aria-hidden"]);

  // Does this mutation show new UI? An element added, or one shown or restyled, other
  // than the target's own look (focus and hover styles on it and its ancestors); or the
  // target's aria-expanded turning true.
  function reveals(r) {
    if (r.type === "childList") {
      for (const n of r.addedNodes) if (n.nodeType === 1) return true;
      return false;
    }
    if (r.type !== "attributes" || r.target.nodeType !== 1) return false;
    if (r.attributeName === "aria-expanded") return r.target.getAttribute("aria-expanded") === "true";
    if (!REVEALS.has(r.attributeName)) return false;
    const t = watch.target;
    return !(t && (r.target === t || within(r.target, t)));
  }

  function onMutations(records) {
    const t = now();
    for (const r of records) {
      let n = r.target;
      if (n.nodeType !== 1) n = n.parentNode || n;
      const e = watch.recent.get(n);
      if (e && t - e.last < 1000) {
        e.n += 1;
        e.last = t;
      } else watch.recent.set(n, { n: 1, last: t });
      const self = t - Math.max(watch.acted, watch.since) > SELF_AFTER_MS;
      if (self) {
        const k = watch.ticks.get(n);
        if (k) {
          k.n += 1;
          k.last = t;
        } else watch.ticks.set(n, { n: 1, first: t, last: t });
      }
      const ticker = watch.background.has(n) || isTicker(n);
      if (!watch.background.has(n)) {
        watch.last = t;
        if (watch.expect && !watch.appeared && reveals(r)) watch.appeared = true;
      }
      if (ticker && watch.acted >= 0 && watch.churned.size < 20) watch.churned.add(n);
    }
    for (const w of [...watch.waiters]) w();
    if (watch.recent.size > 2000 && t - watch.pruned > 250) {
      watch.pruned = t;
      for (const [k, e] of watch.recent) if (t - e.last > 1000) watch.recent.delete(k);
    }
  }

  function watchRoot(root) {
    if (!root || watch.roots.has(root)) return;
    if (!watch.mo) watch.mo = new MutationObserver(onMutations);
    if (root === document) watch.since = now();
    watch.roots.add(root);
    watch.mo.observe(root, { childList: true, subtree: true, attributes: true, characterData: true });
  }

  // Shadow roots and frame documents between an element and the top document.
  function watchAround(el) {
    for (let n = el; n; ) {
      const root = n.getRootNode();
      if (root.nodeType === 11) {
        watchRoot(root);
        n = root.host;
      } else if (root.nodeType === 9) {
        watchRoot(root);
        n = frameOf(root.defaultView);
      } else break;
    }
  }

  // Elements that mutated at least 3 times in the half second before an action are a
  // spinner, clock or carousel: their mutations do not hold settle.
  function begin() {
    watchRoot(document);
    const t = now();
    watch.background = new Set();
    for (const [k, e] of watch.recent) if (e.n >= 3 && t - e.last < 500) watch.background.add(k);
    watch.churned = new Set();
    watch.restyled = false;
    watch.acted = t;
    watch.target = null;
    watch.expect = false;
    watch.appeared = false;
    return true;
  }

  // The text of what ticks on its own (clocks, counters): what kept changing before the
  // action and what changed by itself during it, so a summary of the action's change
  // (against an observation that may be older than the action) can leave it out.
  function churnTexts() {
    const out = [];
    for (const el of new Set([...watch.background, ...watch.churned])) {
      if (out.length >= 20) break;
      if (!el.isConnected) continue;
      const t = collapse(el.textContent || "");
      if (t && t.length <= 200) out.push(t);
    }
    return out;
  }

  // ---------- UI still on its way: animations the action started ----------

  function shown(el) {
    if (!el.isConnected) return false;
    if (el.checkVisibility && !el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
    const r = el.getBoundingClientRect();
    return r.width >= 1 && r.height >= 1;
  }

  // When the last CSS animation or transition that the action started and that is
  // still revealing something (its element not shown yet: in a show delay, fading in
  // from nothing, growing from zero size) will end, or 0. Ones on the target itself, its
  // ancestors or its content are the target's own feedback (hover, press, ripple);
  // endless ones are spinners.
  function revealingUntil(since) {
    let until = 0;
    const docs = [document];
    const own = watch.target && watch.target.ownerDocument;
    if (own && own !== document) docs.push(own);
    for (const doc of docs) {
      if (!doc.getAnimations) continue;
      for (const a of doc.getAnimations()) {
        if (a.playState !== "running" && !a.pending) continue;
        const e = a.effect;
        const el = e && e.target;
        if (!el || el.nodeType !== 1) continue;
        const start = a.startTime;
        // Started before the action (a frame's time may precede the input by a frame).
        if (start !== null && start < since - 34) continue;
        const timing = e.getComputedTiming();
        if (!Number.isFinite(timing.endTime)) continue;
        const t = watch.target;
        if (t && (el === t || within(el, t) || within(t, el))) continue;
        if (shown(el)) continue;
        const rate = Math.abs(a.playbackRate) || 1;
        until = Math.max(until, (start === null ? now() : start) + timing.endTime / rate);
        if (!mutatedAround(el, since)) watch.restyled = true;
      }
    }
    return until;
  }

  // Whether the DOM changed at el or above it since `since`: if not, what the animation
  // reveals is a change of style alone, which no MutationObserver reports.
  function mutatedAround(el, since) {
    for (let n = el; n && n.nodeType === 1; n = up(n)) {
      const e = watch.recent.get(n);
      if (e && e.last >= since) return true;
    }
    return false;
  }

  // Until when settle must hold for UI the action set on its way (0: it need not): a
  // popup the target announced, until it shows; an animation revealing something, until
  // it ends. Never past `uiMs` after the action.
  function uiHold(t, uiMs) {
    if (!uiMs || watch.acted < 0) return 0;
    const end = watch.acted + uiMs;
    if (t >= end) return 0;
    let until = watch.expect && !watch.appeared ? end : 0;
    const a = revealingUntil(watch.acted);
    if (a > t) until = Math.max(until, Math.min(a, end));
    return until > t ? until : 0;
  }

  // A cross-document navigation this document started (link, form, location=...) is
  // announced by the Navigation API as soon as it begins, often before its request
  // shows up on the network: settle reports it rather than time a quiet window on a
  // document about to go away. Times are on the wall clock, comparable across documents.
  const nav = { at: 0, count: 0, event: null, waiters: new Set() }; // count: navigate events seen
  const navigation = globalThis.navigation;
  const wallNow = () => performance.timeOrigin + performance.now();
  if (navigation && typeof navigation.addEventListener === "function") {
    navigation.addEventListener("navigate", (e) => {
      if (!e.isTrusted || !e.destination || e.destination.sameDocument || e.downloadRequest) return;
      nav.at = wallNow();
      nav.count += 1;
      nav.event = e;
      queueMicrotask(() => {
        for (const w of [...nav.waiters]) w(); // after the page's listeners: they may cancel it
      });
    });
    const over = () => {
      nav.at = 0;
      nav.event = null;
    };
    navigation.addEventListener("navigatesuccess", over);
    navigation.addEventListener("navigateerror", over);
  }

  // The event that will start one (a trusted link click or form submission) can come a
  // task earlier than the navigation itself: settle holds its quiet window for it a
  // little while (EXPECT_MS), so a navigation starting just after the action is not missed.
  const EXPECT_MS = 150;
  const expected = { at: 0, event: null };
  function expect(e) {
    expected.at = now();
    expected.event = e;
  }
  function navigatingLink(e) {
    for (const n of e.composedPath()) {
      if (n.nodeType !== 1 || (n.localName !== "a" && n.localName !== "area")) continue;
      if (!n.href || n.hasAttribute("download")) return false;
      const target = (n.getAttribute("target") || "").toLowerCase();
      if (target && target !== "_self" && target !== "_top" && target !== "_parent") return false;
      let url;
      try {
        url = new URL(n.href, document.baseURI);
      } catch (_) {
        return false;
      }
      if (url.protocol === "javascript:") return false;
      const here = new URL(location.href);
      return !(url.hash && url.origin === here.origin && url.pathname === here.pathname && url.search === here.search);
    }
    return false;
  }
  document.addEventListener("click", (e) => {
    if (e.isTrusted && navigatingLink(e)) expect(e);
  }, true);
  document.addEventListener("submit", (e) => {
    if (!e.isTrusted) return;
    const method = ((e.submitter && e.submitter.getAttribute("formmethod")) || e.target.method || "").toLowerCase();
    if (method !== "dialog") expect(e);
  }, true);
  function awaited() {
    const e = expected.event;
    if (!e || e.defaultPrevented || now() - expected.at >= EXPECT_MS) return false;
    return !(nav.at && nav.at >= performance.timeOrigin + expected.at); // not announced yet
  }

  // When a cross-document navigation announced after `since` is still on its way, or 0.
  function leaving(since) {
    if (!nav.at || nav.at <= since) return 0;
    if (nav.event && nav.event.defaultPrevented) return 0; // the page cancelled it
    if (navigation && navigation.transition) return 0; // intercepted: same-document work
    return nav.at;
  }

  // Focus `t`; where the document began to go meanwhile (its focus handler navigated and
  // the page did not cancel it), or "": keystrokes sent now would land in the next page.
  function focusStaying(t) {
    const count = nav.count;
    t.focus({ preventScroll: true });
    if (nav.count === count || !leaving(0)) return "";
    return (nav.event && nav.event.destination && nav.event.destination.url) || "another page";
  }

  function settle(o) {
    watchRoot(document);
    const quiet = o.quietMs ?? 50;
    const limit = o.timeoutMs ?? 5000;
    const uiMs = o.uiMs ?? 0;
    const t0 = now();
    // A document born after the action began (it navigated) lived wholly after it: its
    // calm counts from when the watch began, not from this call, which may come long
    // after its load. Otherwise the action may still be acting: calm starts now.
    const born = o.bornAfter && performance.timeOrigin >= o.bornAfter && watch.since >= 0;
    const from = born ? Math.min(watch.since, t0) : t0;
    const calmAt = (t) => t - Math.max(watch.last, from);
    const since = o.navSince ?? 0;
    const away = leaving(since);
    if (away) return Promise.resolve({ quiet: false, ms: 0, navigating: away });
    return new Promise((resolve_) => {
      const onNav = () => {
        const at = leaving(since);
        if (at) resolve({ quiet: false, ms: now() - t0, navigating: at });
      };
      const resolve = (v) => {
        nav.waiters.delete(onNav);
        resolve_(v);
      };
      nav.waiters.add(onNav);
      const tick = () => {
        const t = now();
        if (awaited() && t - t0 < limit) return void setTimeout(tick, 2);
        if (document.readyState === "loading" && t - t0 < limit) {
          // Still parsing (a script or stylesheet holds the parser): not quiet yet.
          document.addEventListener("DOMContentLoaded", tick, { once: true });
          return void setTimeout(tick, limit - (t - t0));
        }
        const calm = calmAt(t);
        const hold = uiHold(t, uiMs);
        const done = (ok) => resolve({ quiet: ok, ms: t - t0, churn: churnTexts(), restyled: watch.restyled });
        if (calm >= quiet && !hold) return done(true);
        if (t - t0 >= limit) return done(false);
        // Holding for UI: look again every few ms, so UI that shows ends the hold early.
        const wait = calm >= quiet ? Math.min(hold - t, 16) : quiet - calm;
        setTimeout(tick, Math.max(1, Math.min(wait, limit - (t - t0))));
      };
      setTimeout(tick, Math.min(Math.max(quiet - calmAt(t0), 0), limit));
    });
  }

  // Resolves on the next counted mutation, or after o.timeoutMs: woken by the
  // MutationObserver itself, so a long wait (the agent watching while the model
  // thinks) costs the page nothing, not a poll on every animation frame.
  function changed(o) {
    watchRoot(document);
    const t0 = now();
    const limit = o.timeoutMs ?? 1000;
    return new Promise((resolve) => {
      let timer = 0;
      const done = (v) => {
        watch.waiters.delete(wake);
        clearTimeout(timer);
        resolve(v);
      };
      const wake = () => {
        if (watch.last > t0) done(true);
      };
      watch.waiters.add(wake);
      timer = setTimeout(() => done(false), Math.max(limit, 0));
    });
  }

  // ---------- typing ----------

  function deepActive(doc) {
    let a = doc.activeElement;
    while (a && shadowOf(a) && shadowOf(a).activeElement) a = shadowOf(a).activeElement;
    return a;
  }

  function fire(el, ...types) {
    for (const type of types) el.dispatchEvent(new Event(type, { bubbles: true, composed: true }));
  }

  // The origin of the document that holds `t`: where its keystrokes land, which a
  // secret scoped to a domain is checked against (a frame's, not the top page's).
  function originOf(t) {
    const win = t.ownerDocument.defaultView;
    if (!win) return "";
    const o = win.location.origin;
    return o && o !== "null" ? o : win.location.href;
  }

  // Focus the element's text field and select what is there (clear) or put the caret
  // at the end; special inputs (date, colour, range...) report that they need setValue.
  function focus(o) {
    const el = api.element(o.ref);
    if (!el) return { status: "stale" };
    const t = editableTarget(el);
    if (!t) return { status: "error", reason: "not editable" };
    let kind = "text";
    const type = t.tagName === "INPUT" ? (t.type || "text").toLowerCase() : "";
    if (t.tagName === "INPUT") {
      if (SPECIAL_INPUTS.has(type)) return { status: "ok", kind: "value", type, origin: originOf(t) };
      if (!TEXT_INPUTS.has(type)) return { status: "error", reason: `cannot type into an input of type ${type}` };
    } else if (t.tagName !== "TEXTAREA") kind = "editable";
    if (t.disabled) return { status: "error", reason: "disabled" };
    if (t.readOnly) return { status: "error", reason: "read-only" };
    const away = focusStaying(t);
    if (away) return { status: "navigating", url: away };
    const active = deepActive(t.ownerDocument);
    const origin = originOf(t);
    if (active !== t && !(kind === "editable" && t.contains(active))) return { status: "ok", kind, focused: false, origin };
    let end = false;
    if (kind === "editable") {
      const sel = t.ownerDocument.getSelection();
      const range = t.ownerDocument.createRange();
      range.selectNodeContents(t);
      if (!o.clear) range.collapse(false);
      sel.removeAllRanges();
      sel.addRange(range);
    } else if (o.clear) t.select();
    else if (CARET_INPUTS.has(type) || t.tagName === "TEXTAREA") t.setSelectionRange(t.value.length, t.value.length);
    else end = true;
    return { status: "ok", kind, focused: true, end, empty: kind === "editable" ? !t.textContent : !t.value, origin };
  }

  // Inputs with no text editing (date, time, colour, range...): set the value as a user
  // agent would and fire input + change. The setter is this world's own, so page code
  // that wraps `value` (frameworks tracking edits) sees a real change.
  function setValue(o) {
    const el = api.element(o.ref);
    if (!el) return { status: "stale" };
    const t = editableTarget(el);
    if (!t || t.tagName !== "INPUT") return { status: "error", reason: "not an input" };
    t.focus({ preventScroll: true });
    const want = String(o.value);
    const type = (t.type || "").toLowerCase();
    t.value = type === "color" ? want.toLowerCase() : want;
    if (want && !t.value) return { status: "error", reason: `${JSON.stringify(want)} is not a valid ${type} value` };
    fire(t, "input", "change");
    return { status: "ok", value: t.value };
  }

  // Keyboard focus for press(key, ref): true if the element (or its control) took it.
  function focusElement(ref) {
    const el = api.element(ref);
    if (!el) return { focused: false, away: "" };
    const t = control(el);
    const away = focusStaying(t);
    const active = deepActive(t.ownerDocument);
    return { focused: active === t || t.contains(active), away };
  }

  // ---------- select ----------

  function optionLabel(op) {
    return collapse(op.label || op.text);
  }

  function selectOptions(o) {
    const el = api.element(o.ref);
    if (!el) return { status: "stale" };
    const s = control(el);
    if (s.tagName !== "SELECT") return { status: "custom" };
    const opts = Array.from(s.options);
    const picked = [];
    for (const want of o.values) {
      const w = collapse(String(want));
      const lw = w.toLowerCase();
      const m =
        opts.find((op) => optionLabel(op) === w) ||
        opts.find((op) => op.value === want) ||
        opts.find((op) => optionLabel(op).toLowerCase() === lw);
      if (!m) return { status: "error", reason: `no option ${JSON.stringify(want)}`, options: opts.map(optionLabel) };
      if (m.disabled) return { status: "error", reason: `option ${JSON.stringify(optionLabel(m))} is disabled` };
      picked.push(m);
    }
    if (!s.multiple && picked.length !== 1)
      return { status: "error", reason: "this select takes exactly one option" };
    s.focus({ preventScroll: true });
    if (s.multiple) for (const op of opts) op.selected = picked.includes(op);
    else s.selectedIndex = picked[0].index;
    fire(s, "input", "change");
    return { status: "ok", selected: picked.map(optionLabel) };
  }

  // An ARIA option named `o.label`: inside the widget, in what it controls/owns, or
  // the single visible one on the page. Hands back its ref for a trusted click.
  function findOption(o) {
    const el = api.element(o.ref);
    if (!el) return { status: "stale" };
    const want = collapse(o.label).toLowerCase();
    const scopes = [el];
    for (const attr of ["aria-controls", "aria-owns"]) {
      for (const id of (el.getAttribute(attr) || "").split(/\s+/).filter(Boolean)) {
        const t = el.getRootNode().getElementById ? el.getRootNode().getElementById(id) : null;
        if (t) scopes.push(t);
      }
    }
    scopes.push(document);
    for (const scope of scopes) {
      const hits = [];
      forEachElement(scope, (n) => {
        if (n.getAttribute("role") !== "option" && n.tagName !== "OPTION") return true;
        if (!isVisible(n)) return true;
        const d = describeEl(n);
        if (d.name.toLowerCase() === want || collapse(n.textContent).toLowerCase() === want) hits.push(n);
        return hits.length < 2;
      });
      if (hits.length === 1) return { status: "ok", ref: api.refFor(hits[0]) };
      if (hits.length > 1) return { status: "error", reason: `several options match ${JSON.stringify(o.label)}` };
    }
    return { status: "none" };
  }

  // ---------- check ----------

  function checked(ref) {
    const el = api.element(ref);
    if (!el) return { status: "stale" };
    const c = control(el);
    if (c.tagName === "INPUT" && (c.type === "checkbox" || c.type === "radio"))
      return { status: "ok", state: c.indeterminate ? "mixed" : c.checked, radio: c.type === "radio" };
    const aria = c.getAttribute("aria-checked") ?? c.getAttribute("aria-pressed");
    if (aria === "true" || aria === "false" || aria === "mixed")
      return { status: "ok", state: aria === "mixed" ? "mixed" : aria === "true", radio: c.getAttribute("role") === "radio" };
    return { status: "error", reason: "not a checkbox, radio or switch" };
  }

  // ---------- scroll ----------

  const SCROLLS = /auto|scroll|overlay/;

  function scrollsOn(n, horizontal) {
    const s = getComputedStyle(n);
    return horizontal
      ? SCROLLS.test(s.overflowX) && n.scrollWidth > n.clientWidth
      : SCROLLS.test(s.overflowY) && n.scrollHeight > n.clientHeight;
  }

  // The area a scroll on `el` moves, along the direction asked: el itself; else a
  // scrolling box inside it that fills most of it (a widget whose ref is its frame);
  // else the nearest scrolling ancestor. null: the page.
  function scroller(el, horizontal) {
    const doc = el.ownerDocument;
    if (el !== doc.body && el !== doc.documentElement && scrollsOn(el, horizontal)) return el;
    const outer = el.getBoundingClientRect();
    const area = outer.width * outer.height;
    const queue = [el];
    for (let i = 0; i < queue.length && i < 400; i++) {
      for (const c of queue[i].children) {
        const r = c.getBoundingClientRect();
        if (r.width < 1 || r.height < 1) continue;
        if (r.width * r.height * 2 >= area && scrollsOn(c, horizontal)) return c;
        queue.push(c);
      }
    }
    for (let n = up(el); n; n = up(n)) {
      if (n === doc.body || n === doc.documentElement) return null;
      if (scrollsOn(n, horizontal)) return n;
    }
    return null;
  }

  // About one screen of the area: its size less a little overlap, so the line that was
  // last in view is still in view (a person's Page Down).
  function pageOf(size) {
    return Math.max(1, Math.round(size - Math.min(40, size * 0.1)));
  }

  function scroll(o) {
    begin();
    let box = null;
    let doc = document;
    const horizontal = o.direction === "left" || o.direction === "right";
    if (o.ref !== null && o.ref !== undefined) {
      const el = api.element(o.ref);
      if (!el) return { status: "stale" };
      let inner = null;
      if (el.tagName === "IFRAME" || el.tagName === "FRAME") {
        try {
          inner = el.contentDocument;
        } catch (e) {
          inner = null;
        }
      }
      if (inner) doc = inner; // a same-origin frame: scroll its document
      else {
        box = scroller(el, horizontal);
        doc = el.ownerDocument;
      }
    }
    const win = doc.defaultView;
    const se = doc.scrollingElement || doc.documentElement;
    const area = box || se;
    const size = box ? (horizontal ? box.clientWidth : box.clientHeight) : horizontal ? win.innerWidth : win.innerHeight;
    const amount = o.amount ?? pageOf(size);
    let dx = 0;
    let dy = 0;
    if (o.direction === "down") dy = amount;
    else if (o.direction === "up") dy = -amount;
    else if (o.direction === "right") dx = amount;
    else if (o.direction === "left") dx = -amount;
    else if (o.direction === "top") dy = -area.scrollTop;
    else if (o.direction === "bottom") dy = area.scrollHeight;
    const before = [area.scrollLeft, area.scrollTop];
    (box || win).scrollBy({ left: dx, top: dy, behavior: "instant" });
    const moved = [area.scrollLeft - before[0], area.scrollTop - before[1]];
    const atEnd = horizontal
      ? area.scrollLeft + area.clientWidth >= area.scrollWidth - 1
      : area.scrollTop + area.clientHeight >= area.scrollHeight - 1;
    return { status: "ok", moved, atEnd, atTop: area.scrollTop <= 0, container: box ? who(box) : null };
  }

  // ---------- upload ----------

  function fileInput(ref) {
    const el = api.element(ref);
    if (!el) return { status: "stale" };
    const c = control(el);
    if (c.tagName === "INPUT" && c.type === "file")
      return { status: "ok", ref: api.refFor(c), multiple: c.multiple, disabled: c.disabled };
    return { status: "none" };
  }

  // Fallback for remote browsers (their file system is not ours): files as bytes.
  function setFiles(o) {
    const el = api.element(o.ref);
    if (!el) return { status: "stale" };
    const dt = new DataTransfer();
    for (const f of o.files) {
      const bin = atob(f.data);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], f.name, { type: f.type || "" }));
    }
    el.files = dt.files;
    fire(el, "input", "change");
    return { status: "ok", count: el.files.length };
  }

  // ---------- waiting ----------

  function textOfDoc(doc) {
    let t = doc.body ? doc.body.innerText || "" : "";
    for (const f of doc.querySelectorAll("iframe, frame")) {
      let d = null;
      try {
        d = f.contentDocument;
      } catch (e) {
        d = null;
      }
      if (d) t += "\n" + textOfDoc(d);
    }
    return t;
  }

  function hasText(o) {
    return collapse(textOfDoc(document)).includes(collapse(o.text));
  }

  function state(ref) {
    const d = JSON.parse(api.describe(ref));
    const el = api.element(ref);
    if (!el) return { known: d.known, connected: false, visible: false, enabled: false };
    return { known: true, connected: true, visible: isVisible(el), enabled: !isDisabled(el), label: labelOf(d) };
  }

  // ---------- robust DOM paths: finding a recorded target again ----------
  //
  // domPath({refs}) -> [path | null] per ref, computed when a session is recorded:
  //   `tag#id[attr="v"]:nth(k)` segments from an anchor down to the element, joined by
  //   " > " (" >> " enters a shadow root, " >>> " a same-origin frame's body). Only what
  //   survives re-renders goes in: name, type, role, aria-label, for, test ids, the last
  //   part of a link's path, and ids that do not look generated (a unique one in the top
  //   document anchors the path); `:nth(k)` (k-th of the siblings alike) only where those
  //   do not tell siblings apart. A path that starts with "… " stops below the root.
  // findPath({path}) -> ref | null at replay: the same chain if it still leads to one
  //   element, else the one element alike to the target whose ancestors agree most.

  const PATH_ATTRS = ["name", "type", "role", "aria-label", "for", "data-testid", "data-test", "data-qa"];
  const PATH_DEPTH = 16;
  const SEG_RE = /([A-Za-z][\w.-]*)(?:#([A-Za-z][\w-]*))?((?:\[[\w-]+="(?:[^"\\]|\\.)*"\])*)(?::nth\((\d+)\))?/y;
  const ATTR_RE = /\[([\w-]+)=("(?:[^"\\]|\\.)*")\]/g;
  const SEP_RE = / (>>>|>>|>) /y;

  // Counters, hashes, framework-generated ids (":r1:", "ember123", uuids) change between
  // renders or builds: never part of a path.
  function stableId(id) {
    if (!id || id.length > 40 || !/^[A-Za-z][\w-]*$/.test(id)) return false;
    if (/\d{3,}/.test(id) || (/[0-9a-f]{8,}/i.test(id) && /\d/.test(id))) return false;
    return !/^(ember|react|radix|headlessui|mui|rc|yui|ext|gwt|j_id|ui-id|uid|id)[-_]?\d/i.test(id);
  }

  function hrefPart(el) {
    if (el.tagName !== "A" && el.tagName !== "AREA") return null;
    const raw = el.getAttribute("href");
    if (!raw || /^\s*javascript:/i.test(raw)) return null;
    try {
      const parts = new URL(raw, el.baseURI).pathname.split("/").filter(Boolean);
      return parts.length ? parts[parts.length - 1] : "/";
    } catch (e) {
      return null;
    }
  }

  function pathAttrs(el) {
    const out = [];
    for (const k of PATH_ATTRS) {
      const v = el.getAttribute(k);
      if (v !== null && v !== "" && v.length <= 80) out.push([k, v]);
    }
    const h = hrefPart(el);
    if (h !== null) out.push(["href", h]);
    return out;
  }

  // Tag and attributes alike (ids apart: they are checked only where they anchor).
  function alike(el, seg) {
    if (el.localName !== seg.tag) return false;
    for (const [k, v] of seg.attrs) if ((k === "href" ? hrefPart(el) : el.getAttribute(k)) !== v) return false;
    return true;
  }

  function segOf(el) {
    const seg = { tag: el.localName, id: "", attrs: pathAttrs(el), nth: 0 };
    const root = el.getRootNode();
    if (stableId(el.id) && root.querySelectorAll("#" + CSS.escape(el.id)).length === 1) seg.id = el.id;
    else {
      const sibs = Array.prototype.filter.call(el.parentNode ? el.parentNode.children : [], (c) => alike(c, seg));
      if (sibs.length > 1) seg.nth = sibs.indexOf(el) + 1;
    }
    return seg;
  }

  function segText(s) {
    let t = s.tag + (s.id ? "#" + s.id : "");
    for (const [k, v] of s.attrs) t += `[${k}=${JSON.stringify(v)}]`;
    return s.nth ? `${t}:nth(${s.nth})` : t;
  }

  // [{seg, sep}] from the element up (sep: how the element hangs off the next one up).
  function chainOf(el, depth) {
    const out = [];
    for (let n = el; n && out.length < depth; ) {
      const seg = segOf(n);
      const p = n.parentNode;
      const item = { seg, sep: "", el: n };
      out.push(item);
      if (seg.id && n.getRootNode() === document) return { chain: out, rooted: true };
      if (!p) break;
      if (p.nodeType === 11) {
        item.sep = ">>";
        n = p.host;
      } else if (p === n.ownerDocument.body) {
        const fe = frameOf(n.ownerDocument.defaultView);
        if (!fe) return { chain: out, rooted: true };
        item.sep = ">>>";
        n = fe;
      } else if (p.nodeType === 1) {
        item.sep = ">";
        n = p;
      } else break;
    }
    return { chain: out, rooted: false };
  }

  function domPath(o) {
    return o.refs.map((ref) => {
      const el = api.element(ref);
      if (!el || el === el.ownerDocument.body || el === el.ownerDocument.documentElement) return null;
      const { chain, rooted } = chainOf(el, PATH_DEPTH);
      let text = rooted ? "" : "… ";
      for (let i = chain.length - 1; i >= 0; i--) text += segText(chain[i].seg) + (i ? ` ${chain[i - 1].sep} ` : "");
      return text;
    });
  }

  function parsePath(text) {
    const partial = text.startsWith("… ");
    let i = partial ? 2 : 0;
    const steps = [];
    let sep = "";
    for (;;) {
      SEG_RE.lastIndex = i;
      const m = SEG_RE.exec(text);
      if (!m) return null;
      const attrs = [];
      for (const a of m[3].matchAll(ATTR_RE)) attrs.push([a[1], JSON.parse(a[2])]);
      steps.push({ sep, seg: { tag: m[1], id: m[2] || "", attrs, nth: m[4] ? Number(m[4]) : 0 } });
      i = SEG_RE.lastIndex;
      if (i >= text.length) return { partial, steps };
      SEP_RE.lastIndex = i;
      const s = SEP_RE.exec(text);
      if (!s) return null;
      sep = s[1];
      i = SEP_RE.lastIndex;
    }
  }

  function pick(children, seg) {
    const same = Array.prototype.filter.call(children || [], (c) => alike(c, seg));
    const hit = seg.nth ? (same[seg.nth - 1] ? [same[seg.nth - 1]] : []) : same;
    return seg.id ? hit.filter((c) => c.id === seg.id) : hit;
  }

  // Follow the chain exactly as recorded; null unless it leads to one element.
  function strict(p) {
    const first = p.steps[0].seg;
    let scope;
    if (first.id && !p.partial) {
      const e = document.getElementById(first.id);
      scope = e && alike(e, first) ? [e] : [];
    } else if (!p.partial) scope = pick(document.body && document.body.children, first);
    else return null;
    for (const { sep, seg } of p.steps.slice(1)) {
      const next = [];
      for (const el of scope) {
        let kids = el.children;
        if (sep === ">>") kids = el.shadowRoot ? el.shadowRoot.children : [];
        else if (sep === ">>>") {
          let d = null;
          try {
            d = el.contentDocument;
          } catch (e) {
            d = null;
          }
          kids = d && d.body ? d.body.children : [];
        }
        next.push(...pick(kids, seg));
      }
      scope = next;
      if (!scope.length) return null;
    }
    return scope.length === 1 ? scope[0] : null;
  }

  // Elements alike to the target, scored by the recorded ancestors found (in order) up
  // their own chain: wrappers added or siblings reordered still leave one best match.
  function loose(p) {
    const want = p.steps.map((s) => s.seg).reverse();
    const last = want[0];
    const found = [];
    forEachElement(document, (el) => {
      if (alike(el, last)) found.push(el);
      return found.length < 500;
    });
    let best = null;
    let bestScore = -1;
    let tie = false;
    for (const el of found) {
      const { chain } = chainOf(el, PATH_DEPTH * 2);
      let score = (last.id && el.id === last.id ? 2 : 0) + (chain[0].seg.nth === last.nth ? 1 : 0);
      let j = 1;
      let agree = 0;
      for (const seg of want.slice(1)) {
        while (j < chain.length && !alike(chain[j].el, seg)) j++;
        if (j >= chain.length) break;
        agree += 1;
        score += 2 + (seg.id && chain[j].el.id === seg.id ? 2 : 0) + (chain[j].seg.nth === seg.nth ? 1 : 0);
        j++;
      }
      // A bare tag (`div:nth(3)`) says little by itself: half its ancestors must agree.
      if (!last.attrs.length && !last.id && agree * 2 < want.length - 1) continue;
      if (score > bestScore) [best, bestScore, tie] = [el, score, false];
      else if (score === bestScore) tie = true;
    }
    return tie ? null : best;
  }

  function findPath(o) {
    const p = parsePath(o.path || "");
    if (!p || !p.steps.length) return null;
    const el = strict(p) || loose(p);
    return el ? api.refFor(el) : null;
  }

  // Watch from DOMContentLoaded on, so the first action already knows what ticks.
  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", () => watchRoot(document), { once: true });
  else watchRoot(document);

  return {
    prepare, frameOffset, begin, settle, changed, focus, setValue, selectOptions, findOption,
    checked, scroll, fileInput, focusElement, setFiles, hasText, state, element: (ref) => api.element(ref),
    domPath, findPath,
  };
}
