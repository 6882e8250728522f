  // ---------- labels ----------
  // `control.labels` scans the whole document on first use, which makes a
  // pass quadratic on form-heavy pages; index labels once per root instead.

  function addLabel(label) {
    const c = label.control;
    if (!c) return;
    const list = state.labels.get(c);
    if (!list) state.labels.set(c, [label]);
    else if (!list.includes(label)) list.push(label);
  }

  function indexLabels(root) {
    if (state.labelRoots.has(root)) return;
    state.labelRoots.add(root);
    for (const l of root.querySelectorAll("label")) addLabel(l);
  }

  function labelsOf(el) {
    const list = state.labels.get(el);
    if (!list) return [];
    return list.filter((l) => l.isConnected && l.control === el);
  }

  function labelText(el) {
    return labelsOf(el)
      .map((l) => readableText(l, MAX_NAME, true))
      .join(" ");
  }

