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

