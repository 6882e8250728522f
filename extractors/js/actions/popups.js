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

