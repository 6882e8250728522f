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

