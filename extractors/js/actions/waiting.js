  // ---------- waiting ----------

  function textOfDoc(doc) {
    let t = doc.body ? doc.body.innerText || "" : "";
    for (const f of doc.querySelectorAll("iframe, frame")) {
      let d = null;
      try {
        d = f.contentDocument;
      } catch (e) {
        d = null;
      }
      if (d) t += "\n" + textOfDoc(d);
    }
    return t;
  }

  function hasText(o) {
    return collapse(textOfDoc(document)).includes(collapse(o.text));
  }

  function state(ref) {
    const d = JSON.parse(api.describe(ref));
    const el = api.element(ref);
    if (!el) return { known: d.known, connected: false, visible: false, enabled: false };
    return { known: true, connected: true, visible: isVisible(el), enabled: !isDisabled(el), label: labelOf(d) };
  }

