  // ---------- entry points ----------

  function observe(opts) {
    const t0 = performance.now();
    opts = opts || {};
    state.pass++;
    start(document);
    measureScroll();
    if (opts.maxChars && opts.maxChars !== state.maxChars) {
      state.maxChars = opts.maxChars;
      needFull("cap-changed");
    }
    let res = null;
    const base = state.version;
    if (opts.full) state.why = "forced";
    else if (base === 0) state.why = "first";
    else if (opts.base !== base) state.why = "base";
    if (!state.needFull) checkLiveStates();
    if (!opts.full && !state.needFull && opts.base === base) {
      if (!state.needFull) {
        res = state.dirty.size || state.bodyOps.length || (state.win.truncated && state.scrolled)
          ? deltaPass()
          : { full: false, ops: [], elements: [], added: [], removed: [], changed: [] };
      }
    }
    state.scrolled = false;
    if (!res) {
      res = fullPass();
      res.why = state.why || "";
    }
    state.why = "";
    state.version += 1;
    res.version = state.version;
    res.base = base;
    res.url = location.href;
    res.title = document.title;
    res.scroll = [state.sx, state.sy, state.vw, state.vh];
    res.marks = markers();
    res.above = state.win.above;
    res.below = state.win.below;
    const cover = coverNote();
    if (cover) res.cover = cover;
    if (state.suspects.length) res.hosts = state.suspects;
    state.suspects = [];
    if (state.win.truncated)
      res.notes = notes();
    res.ms = performance.now() - t0;
    return JSON.stringify(res);
  }

  // A full pass that leaves the incremental state untouched: the oracle that
  // tests hold deltas against (same refs, same world).
  function snapshot(opts) {
    opts = opts || {};
    state.pass++;
    const keys = [
      "info", "flat", "win", "total", "seen", "dirty", "needFull", "scrolled", "maxChars", "moved",
      "labels", "labelRoots", "compact", "collapsed", "candidates", "covers",
    ];
    const saved = {};
    for (const k of keys) saved[k] = state[k];
    try {
      state.info = new WeakMap();
      state.win = { ...state.win };
      state.dirty = new Set();
      state.moved = [];
      if (opts.maxChars) state.maxChars = opts.maxChars;
      start(document);
      measureScroll();
      const res = fullPass();
      Object.assign(res, {
        version: 0, base: 0, url: location.href, title: document.title,
        scroll: [state.sx, state.sy, state.vw, state.vh], marks: markers(),
        above: state.win.above, below: state.win.below,
      });
      if (state.win.truncated)
        res.notes = notes();
      const cover = coverNote();
      if (cover) res.cover = cover;
      return JSON.stringify(res);
    } finally {
      for (const k of keys) state[k] = saved[k];
    }
  }

  function element(ref) {
    const w = state.byRef.get(ref);
    const el = w && w.deref();
    return el && el.isConnected ? el : null;
  }

  // What the ref's element is now, to check it against what the model saw: the role its
  // line gave it, and its name as the walk computes it now.
  function describe(ref) {
    const known = state.byRef.has(ref);
    const el = element(ref);
    if (!el) return JSON.stringify({ known, connected: false });
    state.pass++;
    const tag = el.tagName;
    let role = state.roles.get(el) || roleOf(el, tag);
    const label = tag === "LABEL" && el.control;
    if (label) role = roleOf(el.control, el.control.tagName) || "clickable";
    if (!role) {
      const style = getComputedStyle(el);
      const p = el.parentElement;
      const ctx = { ...ROOT_CTX, pointer: !!p && getComputedStyle(p).cursor === "pointer" };
      const i = isInteractive(el, tag, "", style, ctx);
      role = i === "clickable" ? "clickable" : tag.toLowerCase();
    }
    const name = label ? clip(readableText(el, MAX_NAME, true), MAX_NAME) : nameOf(el, tag, role);
    const host = state.sinks.get(el);
    const r = (host && host.isConnected ? host : el).getBoundingClientRect();
    return JSON.stringify({
      known, connected: true, tag: tag.toLowerCase(), role, name,
      bbox: [r.x, r.y, r.width, r.height],
    });
  }

  // One element's content in full, collapsed regions opened: what `extract(ref)` shows
  // for a folded list of links. It leaves the incremental state as it was.
  function region(ref) {
    const el = element(ref);
    if (!el) return JSON.stringify({ status: state.byRef.has(ref) ? "stale" : "unknown" });
    const keys = ["info", "compact", "collapsed", "candidates", "covers"];
    const saved = {};
    for (const k of keys) saved[k] = state[k];
    try {
      state.pass++;
      const inf = state.info.get(el);
      state.info = new WeakMap();
      state.compact = false;
      state.collapsed = new Map();
      state.candidates = new Set();
      measureScroll();
      const out = [];
      const run = { text: "", node: null, space: false };
      state.level = levelOf(el);
      walkElement(el, 0, inf ? inf.ctx : ROOT_CTX, out, run);
      flush(out, 0, run);
      return JSON.stringify({
        status: "ok", lines: out.map(lineText), elements: out.filter((r) => r.e).map((r) => r.e),
      });
    } finally {
      for (const k of keys) state[k] = saved[k];
      state.level = 0;
    }
  }

  // The widget a keyboard sink's line stands on (clicks go there), or null.
  function sinkHost(el) {
    const host = state.sinks.get(el);
    return host && host.isConnected ? host : null;
  }

  // A shadow root the page closed, found by the driver over CDP: walked like an open one.
  function adoptShadow(arg) {
    const host = arg && arg.host;
    const root = arg && arg.root;
    if (!host || !root || root.nodeType !== 11 || root.host !== host) return false;
    if (state.closedRoots.get(host) === root) return false;
    state.closedRoots.set(host, root);
    markDirty(host);
    return true;
  }

  // A yardstick for `bench extract`: visit every node and return n characters, the least
  // any serializer costs (it reads no style, box or text).
  function floor(n) {
    let k = 0;
    const w = document.createTreeWalker(document.documentElement);
    while (w.nextNode()) k += 1;
    return "x".repeat(Math.max(0, Math.min(n | 0, 1 << 24))) + k;
  }

  // `bench extract`'s second yardstick: the least a serializer in this format must do.
  // Each element's visibility, a ref and a box for each control, the text between them;
  // no names, values, states, clipping, cursors, frames, shadow roots or bookkeeping for
  // deltas. A full observation does all of this and more: this is a floor under it.
  const BARE_SKIP = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"]);
  const BARE_CONTROLS = new Set(["A", "BUTTON", "INPUT", "SELECT", "TEXTAREA", "SUMMARY"]);
  const SHOWN = { opacityProperty: true, visibilityProperty: true };
  const bareRefs = new WeakMap();
  let bareNext = 1;
  function bare() {
    const lines = [];
    let run = "";
    const flush = () => {
      const t = collapse(run);
      if (t) lines.push(t);
      run = "";
    };
    const walk = (el) => {
      for (let c = el.firstChild; c; c = c.nextSibling) {
        if (c.nodeType === 3) run += c.data;
        if (c.nodeType !== 1 || BARE_SKIP.has(c.tagName) || !c.checkVisibility(SHOWN)) continue;
        if (BARE_CONTROLS.has(c.tagName) || c.hasAttribute("role") || c.hasAttribute("tabindex")) {
          flush();
          let ref = bareRefs.get(c);
          if (!ref) bareRefs.set(c, (ref = bareNext++));
          const r = c.getBoundingClientRect();
          const box = [r.x, r.y, r.width, r.height].map(Math.round).join(",");
          lines.push(`[${ref}] ${c.tagName.toLowerCase()} ${box}`);
        } else walk(c);
      }
    };
    if (document.body) walk(document.body);
    flush();
    return lines.join("\n");
  }

  function init(opts) {
    if (opts && typeof opts.refBase === "number" && state.nextRef === 1) state.refBase = opts.refBase;
    return true;
  }

  return {
    observe, snapshot, describe, element, init, refFor, floor, bare, sinkHost, adoptShadow, region,
    shadowOf,
    vocab: VOCAB,
    version: () => state.version,
  };
})()
