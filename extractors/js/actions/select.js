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

