  // ---------- upload ----------

  function fileInput(ref) {
    const el = api.element(ref);
    if (!el) return { status: "stale" };
    const c = control(el);
    if (c.tagName === "INPUT" && c.type === "file")
      return { status: "ok", ref: api.refFor(c), multiple: c.multiple, disabled: c.disabled };
    return { status: "none" };
  }

  // Fallback for remote browsers (their file system is not ours): files as bytes.
  function setFiles(o) {
    const el = api.element(o.ref);
    if (!el) return { status: "stale" };
    const dt = new DataTransfer();
    for (const f of o.files) {
      const bin = atob(f.data);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], f.name, { type: f.type || "" }));
    }
    el.files = dt.files;
    fire(el, "input", "change");
    return { status: "ok", count: el.files.length };
  }

