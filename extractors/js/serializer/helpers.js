  // ---------- small helpers ----------

  // White space, control characters (which page text must never smuggle into the
  // format) and icon-font glyphs (Private Use Area: they read as nothing) all collapse
  // to one space.
  const GAP = /[\s\u0000-\u001F\u007F-\u009F\uE000-\uF8FF]+/g;
  const collapse = (s) => s.replace(GAP, " ").trim();
  const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);
  const quote = (s) => JSON.stringify(s);
  // Values are shown exactly (white space included, escaped by quote); only control
  // characters go, and a very long value says how much was left out.
  const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;
  const exact = (s) => {
    const v = s.replace(CONTROLS, "");
    return v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE)}… (${v.length - MAX_VALUE} more characters)` : v;
  };
  // A text line must never read like a line of the format (an element, a heading, an
  // image, a marker): such text is shown behind a backslash.
  const FORMAT_START = /^(?:[[\\#…]|---|(?:img|dialog|alertdialog) ")/;
  const asText = (t) => (FORMAT_START.test(t) ? "\\" + t : t);

  function refFor(el) {
    let ref = state.refOf.get(el);
    if (ref === undefined) {
      ref = state.refBase + state.nextRef++;
      state.refOf.set(el, ref);
      state.byRef.set(ref, new WeakRef(el));
    }
    return ref;
  }

  function parentOf(node) {
    const p = node.parentNode;
    if (!p) return null;
    if (p.nodeType === 11 && p.host) return p.host; // shadow root
    if (p.nodeType === 9) {
      try {
        return p.defaultView && p.defaultView.frameElement;
      } catch (e) {
        return null;
      }
    }
    return p;
  }

  function deepActive(doc) {
    let a = doc.activeElement;
    while (a && shadowOf(a) && shadowOf(a).activeElement) a = shadowOf(a).activeElement;
    if (a && a.tagName === "IFRAME") {
      try {
        if (a.contentDocument) return deepActive(a.contentDocument);
      } catch (e) {
        /* cross-origin */
      }
    }
    return a;
  }

