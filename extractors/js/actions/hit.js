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

