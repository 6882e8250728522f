  // ---------- change tracking ----------

  function needFull(why) {
    if (!state.needFull) state.why = why;
    state.needFull = true;
    state.dirty.clear();
    state.bodyOps = [];
  }

  function markDirty(node) {
    if (!node) return;
    if (state.needFull) return;
    if (node.nodeType === 11 && node.host) node = node.host; // shadow root
    else if (node.nodeType === 9) {
      // The document itself: its frame's iframe in the parent, or everything.
      let owner = null;
      try {
        owner = node.defaultView && node.defaultView.frameElement;
      } catch (e) {
        owner = null;
      }
      if (!owner || node === document) return needFull("document");
      node = owner;
    } else if (node.nodeType !== 1) node = node.parentNode ? node.parentNode : null;
    if (!node) return;
    if (node.nodeType !== 1) return markDirty(node);
    state.dirty.add(node);
    if (state.dirty.size > MAX_DIRTY) needFull("flood");
  }

  function onMutations(records) {
    if (state.needFull) return;
    for (const r of records) {
      if (r.type === "characterData") {
        const p = r.target.parentNode;
        if (p && p.nodeType === 1 && p.tagName === "STYLE") needFull("style");
        markDirty(p);
      }
      else if (r.type === "childList") {
        if (r.target === document.body) {
          // Dialogs, toasts and app roots come and go at the top level: handled child
          // by child (see bodyChanges) instead of re-walking the whole page.
          state.bodyOps.push(r);
          if (state.bodyOps.length > MAX_DIRTY) needFull("flood");
        } else markDirty(r.target);
        if (r.target.nodeType === 1 && (r.target.tagName === "HEAD" || r.target.tagName === "STYLE"))
          needFull("style");
        for (const list of [r.addedNodes, r.removedNodes]) {
          for (const n of list) {
            if (n.nodeType === 1 && (n.tagName === "STYLE" || n.tagName === "LINK")) needFull("style");
          }
        }
      } else if (r.type === "attributes") {
        const t = r.target;
        if (t.nodeType === 1 && (t.tagName === "STYLE" || t.tagName === "LINK" || t.tagName === "HTML" || t.tagName === "BODY"))
          needFull("style");
        markDirty(t);
        // Labels name their controls; ids tie aria-labelledby: re-serialize the neighbourhood.
        if (r.attributeName === "id" || r.attributeName === "for") markDirty(parentOf(t));
      }
      if (state.needFull) return;
    }
  }

  function onEvent(e) {
    const path = e.composedPath ? e.composedPath() : [];
    const target = path.length ? path[0] : e.target;
    if (e.type === "scroll") {
      if (target && target.nodeType === 1) markDirty(target);
      else state.scrolled = true;
      return;
    }
    if (e.type === "resize") {
      needFull("resize");
      return;
    }
    if (e.type === "load") {
      if (target && target.tagName === "IFRAME") markDirty(target);
      return;
    }
    if (target && target.nodeType === 1) {
      markDirty(target);
      // Radios in a group flip each other; the form holds them all.
      if (target.type === "radio") markDirty(target.form || parentOf(target));
      for (const l of labelsOf(target)) markDirty(l);
    }
  }

  // Elements skipped for having no size (collapsed panels, controls not laid out yet)
  // can grow without any DOM mutation (a CSS transition, a font or image loading): a
  // ResizeObserver turns that growth into a dirty mark like any mutation.
  function watchSize(el) {
    if (state.sized.has(el)) return;
    if (!state.ro) {
      if (typeof ResizeObserver !== "function") return;
      try {
        state.ro = new ResizeObserver(onResize);
      } catch (e) {
        return; // a page that broke it (main-world fallback only): mutations still work
      }
    }
    try {
      state.ro.observe(el, { box: "border-box" });
      state.sized.add(el);
    } catch (e) {
      /* not observable: its next mutation still brings it in */
    }
  }

  function onResize(entries) {
    for (const e of entries) {
      const box = e.borderBoxSize && e.borderBoxSize[0];
      const w = box ? box.inlineSize : e.contentRect.width;
      const h = box ? box.blockSize : e.contentRect.height;
      if (w > 1 && h > 1) {
        state.ro.unobserve(e.target);
        state.sized.delete(e.target);
        markDirty(e.target);
      }
    }
  }

  function observeRoot(root) {
    if (state.observed.has(root)) return;
    state.observed.add(root);
    const mo = new MutationObserver(onMutations);
    mo.observe(root, { childList: true, subtree: true, attributes: true, characterData: true });
    state.observers.push(mo);
    for (const type of ["input", "change", "focusin", "focusout", "toggle"]) {
      root.addEventListener(type, onEvent, true);
    }
    root.addEventListener("scroll", onEvent, true);
    root.addEventListener("load", onEvent, true);
  }

  function start(doc) {
    if (state.started && state.doc === doc) return;
    state.started = true;
    state.doc = doc;
    observeRoot(doc);
    doc.defaultView.addEventListener("resize", onEvent, true);
  }

