  // ---------- check ----------

  function checked(ref) {
    const el = api.element(ref);
    if (!el) return { status: "stale" };
    const c = control(el);
    if (c.tagName === "INPUT" && (c.type === "checkbox" || c.type === "radio"))
      return { status: "ok", state: c.indeterminate ? "mixed" : c.checked, radio: c.type === "radio" };
    const aria = c.getAttribute("aria-checked") ?? c.getAttribute("aria-pressed");
    if (aria === "true" || aria === "false" || aria === "mixed")
      return { status: "ok", state: aria === "mixed" ? "mixed" : aria === "true", radio: c.getAttribute("role") === "radio" };
    return { status: "error", reason: "not a checkbox, radio or switch" };
  }

