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

