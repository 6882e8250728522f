  // ---------- the text a person reads in an element ----------
  // Names and headings are built from what is rendered: hidden descendants never enter,
  // and block, inline-block, flex and grid children keep a word boundary between them.
  // `aria` leaves out aria-hidden parts (as accessible names do); a name that comes out
  // empty that way falls back to what is on screen.

  function styleOf(el) {
    return el.ownerDocument.defaultView.getComputedStyle(el);
  }

  function readableText(el, limit, aria) {
    if (!el.firstElementChild && !shadowOf(el)) return collapse(el.textContent || "");
    return contentText(el, limit, aria, true) || contentText(el, limit, aria, false);
  }

  // Controls inside a control have names and lines of their own: they are left out of
  // its name (`skip`) unless nothing else names it.
  function isControl(c, tag) {
    if (tag === "BUTTON" || tag === "SELECT" || tag === "TEXTAREA" || (tag === "A" && c.hasAttribute("href")))
      return true;
    if (tag === "INPUT") return (c.getAttribute("type") || "").toLowerCase() !== "hidden";
    const r = c.getAttribute("role");
    return !!r && INTERACTIVE_ROLES.has(r.trim().split(/\s+/)[0]);
  }

  function contentText(el, limit, aria, skip) {
    const parts = [];
    let len = 0;
    const visit = (parent, nest) => {
      for (let c = parent.firstChild; c && len <= limit; c = c.nextSibling) {
        if (c.nodeType === 3) {
          parts.push(c.data);
          if (/\S/.test(c.data)) len += c.data.length; // indentation counts for nothing
        } else if (c.nodeType === 1) inner(c, nest);
      }
    };
    const inner = (c, nest) => {
      const tag = c.tagName;
      if (SKIP_TAGS.has(tag) || nest > MAX_NAME_NEST) return;
      if (aria && c.getAttribute("aria-hidden") === "true") return;
      if (tag === "BR") return void parts.push(" ");
      if (tag === "TEXTAREA" || tag === "SELECT" || (skip && isControl(c, tag))) return;
      const st = styleOf(c);
      const d = st.display;
      if (d === "none" || st.visibility === "hidden" || st.opacity === "0") return;
      if (tag === "IMG" || tag === "svg" || tag === "INPUT") {
        const alt = tag === "svg" ? svgName(c) : c.getAttribute("alt") || c.getAttribute("aria-label") || "";
        if (alt) parts.push(" " + alt + " ");
        return;
      }
      const block = d !== "inline" && d !== "contents";
      if (block) parts.push(" ");
      if (tag === "SLOT") {
        const assigned = c.assignedNodes({ flatten: true });
        if (assigned.length) {
          for (const n of assigned) {
            if (n.nodeType === 3) parts.push(n.data);
            else if (n.nodeType === 1) inner(n, nest + 1);
          }
        } else visit(c, nest + 1);
      } else visit(shadowOf(c) || c, nest + 1);
      if (block) parts.push(" ");
    };
    visit(shadowOf(el) || el, 0);
    return collapse(parts.join(""));
  }

  function svgName(svg) {
    const label = svg.getAttribute("aria-label");
    if (label) return collapse(label);
    for (let c = svg.firstElementChild; c; c = c.nextElementSibling) {
      if (c.tagName === "title") return collapse(c.textContent || "");
    }
    return "";
  }

