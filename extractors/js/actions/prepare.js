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

