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

