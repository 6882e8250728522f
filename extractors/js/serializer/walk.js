  // ---------- the walk ----------

  const ZERO = { x: 0, y: 0, width: 0, height: 0 };

  function pushLine(out, text, node, ref, el) {
    out.push({ t: text, n: node, r: ref, e: el || null, f: state.fx !== 0 || state.fy !== 0 });
  }

  // A fixed layer over most of the viewport (a consent wall, a modal sheet) that takes
  // clicks: what lies under it cannot be clicked until it is dealt with.
  function covers(el, style) {
    if (style.pointerEvents === "none" || state.fx !== 0 || state.fy !== 0) return false;
    const r = el.getBoundingClientRect();
    const w = Math.max(0, Math.min(r.right, state.vw) - Math.max(r.left, 0));
    const h = Math.max(0, Math.min(r.bottom, state.vh) - Math.max(r.top, 0));
    return w * h >= 0.5 * state.vw * state.vh;
  }

  // What covers the page, said once at the top: the layer's first text and its controls.
  function coverNote() {
    let found = -1;
    for (const rec of state.covers) {
      const i = rec.gone ? -1 : state.flat.indexOf(rec);
      if (i < 0) state.covers.delete(rec);
      else found = Math.max(found, i);
    }
    if (found < 0) return "";
    const inf = state.info.get(state.flat[found].cover);
    const end = inf ? state.flat.indexOf(inf.last, found) : found;
    let text = "";
    const controls = [];
    for (let i = found; i <= end && controls.length < 4; i++) {
      const rec = state.flat[i];
      if (rec.e) controls.push(rec.t.trim());
      else if (!text && rec.t.charCodeAt(0) !== 0) text = clip(rec.t.trim(), 80);
    }
    return [text, ...controls].filter(Boolean).join(" / ");
  }

  // Whether a box lies wholly where no scrolling can bring it: left of or above the
  // page, or (fixed, so it never scrolls) outside the viewport. Only in the top document.
  function offPage(r, fixed) {
    if (state.fx !== 0 || state.fy !== 0 || (r.width === 0 && r.height === 0)) return false;
    if (fixed) return r.right <= 0 || r.bottom <= 0 || r.left >= state.vw || r.top >= state.vh;
    return r.right + state.sx <= 0 || r.bottom + state.sy <= 0;
  }

  // Page coordinates (viewport + scroll; fixed elements stay in viewport
  // terms), so scrolling alone never invalidates an element record.
  function geom(rect, fixed) {
    const ox = state.fx + (fixed ? 0 : state.sx);
    const oy = state.fy + (fixed ? 0 : state.sy);
    return [
      Math.round(rect.x + ox), Math.round(rect.y + oy), Math.round(rect.width),
      Math.round(rect.height), fixed ? 1 : 0,
    ];
  }

  // Walk the children of `parent` (an element, shadow root or document),
  // accumulating inline text into runs that break at block boundaries.
  function walkChildren(parent, depth, ctx, out, run) {
    // Shadow trees are walked instead of the host's light DOM, which they
    // render through slots; each tree needs its own observer.
    if (parent.nodeType === 11) {
      observeRoot(parent);
      indexLabels(parent);
    }
    for (let c = parent.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === 3) {
        if (ctx.hidden || ctx.nameOnly) continue;
        addText(run, c, c.data);
      } else if (c.nodeType === 1) {
        walkElement(c, depth, ctx, out, run);
      }
    }
  }

  function addText(run, node, d) {
    const t = d ? collapse(d) : "";
    if (!t) {
      if (run.text) run.space = true;
      return;
    }
    // Trimming changed an end of the text iff that end was white space (or a glyph).
    const lead = t.charCodeAt(0) !== d.charCodeAt(0);
    if (!run.text) {
      run.text = t;
      run.node = node;
    } else run.text += (run.cell ? " | ".repeat(run.cell) : run.space || lead ? " " : "") + t;
    run.cell = 0;
    run.space = t.charCodeAt(t.length - 1) !== d.charCodeAt(d.length - 1);
  }

  function flush(out, depth, run) {
    // A list item's bullet alone says nothing: it is dropped.
    if (run.text && run.text !== "-") {
      const pad = "  ".repeat(depth);
      let t = run.text;
      while (t.length > MAX_LINE) {
        let cut = t.lastIndexOf(" ", MAX_LINE);
        if (cut < MAX_LINE / 2) cut = MAX_LINE;
        pushLine(out, pad + asText(t.slice(0, cut)), run.node, 0, null);
        t = t.slice(cut).trimStart();
      }
      if (t) pushLine(out, pad + asText(t), run.node, 0, null);
    }
    run.text = "";
    run.node = null;
    run.space = false;
    run.cell = 0;
  }

  // Shadow roots the page closed, handed to us over CDP by the driver (see adoptShadow).
  function shadowOf(el) {
    return el.shadowRoot || state.closedRoots.get(el) || null;
  }

  function childNodesParent(el) {
    return shadowOf(el) || el;
  }

  // A slot renders the light-DOM nodes assigned to it, or its fallback content.
  function walkSlot(slot, depth, ctx, out, run) {
    const assigned = slot.assignedNodes({ flatten: true });
    if (!assigned.length) return walkChildren(slot, depth, ctx, out, run);
    for (const n of assigned) {
      if (n.nodeType === 1) walkElement(n, depth, ctx, out, run);
      else if (n.nodeType === 3 && !(ctx.hidden || ctx.nameOnly) && /\S/.test(n.data)) {
        const t = collapse(n.data);
        if (!t) continue;
        if (!run.text) {
          run.text = t;
          run.node = n;
        } else run.text += " " + t;
      }
    }
  }

  // An input or textarea that is on the page but not on screen (opacity 0, a pixel in
  // size), focusable and not fenced off: the keyboard sink of a terminal, a code editor
  // or a custom field, which a person types into by clicking the widget around it.
  function keyboardSink(el, tag, style) {
    if (tag !== "TEXTAREA" && !(tag === "INPUT" && TEXTBOX_TYPES.has((el.getAttribute("type") || "").toLowerCase())))
      return null;
    if (el.disabled || el.getAttribute("tabindex") === "-1" || el.readOnly) return null;
    if (style.display === "none" || style.visibility === "hidden") return null;
    for (let p = el.parentElement, i = 0; p && i < 6; p = p.parentElement, i++) {
      const r = p.getBoundingClientRect();
      if (r.width >= 40 && r.height >= 16) return { host: p, rect: r };
    }
    return null;
  }

  // `state.level` counts the elements being walked (the recursion's depth); past
  // MAX_NEST the rest of a subtree is walked by a loop instead.
  function walkElement(el, depth, ctx, out, run) {
    if (state.level >= MAX_NEST) return walkDeep(el, depth, ctx, out, run);
    state.level++;
    try {
      walkOne(el, depth, ctx, out, run);
    } finally {
      state.level--;
    }
  }

  // How many elements a full walk has entered above `el` (frames included).
  function levelOf(el) {
    let k = 0;
    for (let n = parentOf(el); n; n = parentOf(n)) if (n.tagName !== "BODY" && n.tagName !== "HTML") k++;
    return k;
  }

  function walkOne(el, depth, ctx, out, run) {
    const tag = el.tagName;
    if (SKIP_TAGS.has(tag)) return;
    const up = el.parentElement;
    if (up && up.tagName === "DETAILS" && !up.open && tag !== "SUMMARY") return;
    // Computed-style reads dominate the cost of a pass: read each property once.
    const style = getComputedStyle(el);
    const display = style.display;
    if (display === "none") return;
    if (style.opacity === "0") {
      if (!ctx.hidden && !ctx.nameOnly) sinkLine(el, tag, style, depth, ctx, out, run);
      return;
    }
    let hidden = ctx.hidden;
    const vis = style.visibility;
    if (vis === "hidden" || vis === "collapse") hidden = true;
    else if (vis === "visible") hidden = false;
    // Geometry is only read where it matters: clipping containers and the
    // elements that get lines of their own.
    // Overflow does not apply to inline boxes: skip the read (a shorthand, so dear).
    const clips = display !== "contents" && display !== "inline" && style.overflow !== "visible";
    const position = style.position;
    if ((position === "absolute" || position === "fixed") && style.clip === "rect(0px, 0px, 0px, 0px)")
      return;
    let rect = null;
    // Only a fixed box, or an absolute one pushed to the left or top, can be off the page.
    const placed = position === "fixed" || (position === "absolute" && (style.left.charCodeAt(0) === 45 || style.top.charCodeAt(0) === 45));
    if (clips || placed) {
      rect = el.getBoundingClientRect();
      // Moved off the page (a closed off-canvas drawer, `left: -9999px`): no one can
      // see it, and no scrolling brings it into view.
      if (!ctx.scroller && offPage(rect, ctx.fixed || position === "fixed")) return;
    }
    if (clips) {
      if (rect.width <= 1 || rect.height <= 1) {
        watchSize(el); // a collapsed panel may open by a transition alone
        if (!hidden && !ctx.nameOnly) sinkLine(el, tag, style, depth, ctx, out, run);
        return;
      }
    }

    // Table cells join their row's line, " | " between them: a row reads as one line.
    const cell = display === "table-cell";
    const inline = display === "inline" || display === "contents" || cell;
    // aria-hidden content that is rendered stays: it is on screen (a shop's page behind
    // its cookie banner); its controls are marked so the model knows.
    const ariaHidden = ctx.ariaHidden || el.getAttribute("aria-hidden") === "true";
    let role = roleOf(el, tag);
    let interactive = isInteractive(el, tag, role, style, ctx);
    if (interactive === "clickable") role = "clickable";
    if (!role && interactive) role = tag.toLowerCase();
    let labelFor = null;
    if (tag === "LABEL") {
      addLabel(el);
      interactive = false;
      const ctrl = el.control;
      if (ctrl && ctrl !== el && !el.contains(ctrl) && controlHidden(ctrl)) {
        labelFor = ctrl;
        interactive = true;
        role = roleOf(ctrl, ctrl.tagName) || "clickable";
      }
    }
    const needsRect = interactive || tag === "IMG" || tag === "IFRAME" || tag === "FRAME" || role === "img" || tag === "svg";
    if (needsRect && !rect) rect = el.getBoundingClientRect();
    if (!rect) rect = ZERO;
    if (interactive && !hidden && !ctx.nameOnly && (rect.width <= 1 || rect.height <= 1) && display !== "contents") {
      // A text field with no size is a keyboard sink, not a control of its own.
      if (sinkLine(el, tag, style, depth, ctx, out, run)) return;
    }
    if (interactive && needsRect && !ctx.scroller && offPage(rect, ctx.fixed || position === "fixed")) return;
    const sized = rect.width > 0 && rect.height > 0;
    const fixed = ctx.fixed || position === "fixed" || position === "sticky";
    const pointer = ctx.pointer || style.cursor === "pointer";
    // A box that scrolls by itself (smaller than the viewport): content scrolled out of
    // it is still reachable, and the box gets a line of its own so it can be scrolled.
    const oy = clips ? style.overflowY : "";
    const scrolls = (oy === "auto" || oy === "scroll") && tag !== "BODY" && tag !== "HTML";
    const scrollBox = scrolls && !interactive && rect.height > 1 && rect.height < state.vh;
    const scroller = ctx.scroller || scrolls;
    const cctx =
      hidden === ctx.hidden && fixed === ctx.fixed && pointer === ctx.pointer && ariaHidden === ctx.ariaHidden &&
      scroller === ctx.scroller
        ? ctx
        : { ...ctx, hidden, fixed, pointer, ariaHidden, scroller };

    if (SLOT_TAG === tag) {
      walkSlot(el, depth, cctx, out, run);
      return;
    }
    if (!el.firstChild && tag.includes("-") && !shadowOf(el) && !hidden && !ctx.nameOnly) {
      // A custom element with no content of its own that still takes room: it draws
      // from a closed shadow root. Said so until the driver hands the root over.
      if (!rect || rect === ZERO) rect = el.getBoundingClientRect();
      if (rect.width > 1 && rect.height > 1) {
        flush(out, depth, run);
        state.suspects.push(refFor(el));
        pushLine(out, `${"  ".repeat(depth)}<${tag.toLowerCase()}> (closed shadow root, not readable)`, el, 0, null);
        state.info.set(el, { first: out[out.length - 1], last: out[out.length - 1], depth, ctx });
        return;
      }
    }
    if (tag === "svg" && !interactive) {
      // Drawings: only a labelled one says anything (as an image).
      if (!hidden && !ctx.nameOnly && sized && role === "img") {
        const alt = nameOf(el, tag, "img");
        if (alt) {
          flush(out, depth, run);
          pushLine(out, `${"  ".repeat(depth)}img ${quote(clip(alt, MAX_NAME))}`, el, 0, null);
          state.info.set(el, { first: out[out.length - 1], last: out[out.length - 1], depth, ctx });
        }
      }
      return;
    }

    if (inline && !interactive && tag !== "IFRAME" && tag !== "IMG" && tag !== "BR") {
      // Inline content joins the surrounding text run; a label's text already
      // names its visible control, so it is not said twice.
      const ictx = tag === "LABEL" && el.control ? { ...cctx, nameOnly: true } : cctx;
      if (cell && run.text) run.cell = (run.cell || 0) + 1; // empty cells keep their place
      const clean = !run.text;
      const begin = out.length;
      walkChildren(childNodesParent(el), depth, ictx, out, run);
      // An inline element whose lines are its own alone (nothing pending on
      // either side) can be re-serialized by itself, like a block.
      if (clean && !run.text && out.length > begin) {
        state.info.set(el, { first: out[begin], last: out[out.length - 1], depth, ctx });
      }
      return;
    }
    if (tag === "BR") {
      if (run.text) run.space = true;
      return;
    }
    if (ctx.nameOnly && !interactive && tag !== "IFRAME") {
      walkChildren(childNodesParent(el), depth, cctx, out, run);
      return;
    }

    flush(out, depth, run);
    const start = out.length;
    const links0 = state.links;
    const inner = { text: "", node: null, space: false };

    // A control with no size yet gets its line when it grows, mutation or not.
    if (interactive && !hidden && !sized && display !== "contents") watchSize(el);
    if ((tag === "IMG" || role === "img") && !interactive) {
      if (!hidden && !ctx.nameOnly && sized) {
        const alt = collapse(el.getAttribute("alt") || el.getAttribute("aria-label") || "");
        if (alt) {
          const line = `${"  ".repeat(depth)}img ${quote(clip(alt, MAX_NAME))}`;
          // A run of the same image (rating stars, spacer dots) is one line.
          const prev = out[out.length - 1];
          if (prev && prev.img === line && prev.n.parentNode === el.parentNode) {
            prev.count += 1;
            prev.t = `${line} ×${prev.count}`;
            state.info.delete(prev.n); // the first image no longer has lines of its own
            return;
          }
          pushLine(out, line, el, 0, null);
          out[out.length - 1].img = line;
          out[out.length - 1].count = 1;
        }
      }
    } else if (interactive && !hidden && (sized || display === "contents")) {
      const target = labelFor || el;
      const ref = refFor(el);
      const name = labelFor ? clip(readableText(el, MAX_NAME, true), MAX_NAME) : nameOf(el, tag, role);
      const cut = !labelFor && nameCut(el, role, name);
      pushControl(out, el, target, ref, role, name, depth, rect, fixed, ariaHidden, "");
      const kids = tag === "IFRAME" || tag === "svg" ? null : childNodesParent(el);
      if (kids && target.tagName !== "SELECT" && target.tagName !== "INPUT" && target.tagName !== "TEXTAREA" && !el.isContentEditable) {
        // Inside a control only its own nested targets get lines, and its text when
        // the name could not hold all of it.
        // Composite widgets and focusable containers hold targets of their own.
        const owner = interactive === true && INTERACTIVE_ROLES.has(role) && !COMPOSITE_ROLES.has(role) ? "control" : "clickable";
        const named = NAME_FROM_CONTENT.has(role) || role === "link";
        const nctx = { ...cctx, nameOnly: named && !cut, owner };
        walkChildren(kids, depth + 1, nctx, out, inner);
        flush(out, depth + 1, inner);
      }
      if (tag === "IFRAME") walkFrame(el, depth + 1, cctx, out);
    } else if (tag === "IFRAME" || tag === "FRAME") {
      if (!hidden && sized) {
        const ref = refFor(el);
        const name = nameOf(el, tag, "iframe");
        const data = [
          ref, "iframe", "iframe", name, null, [], ...geom(rect, fixed),
        ];
        pushLine(out, `${"  ".repeat(depth)}[${ref}] iframe ${quote(name)}`, el, ref, data);
        walkFrame(el, depth + 1, cctx, out);
      }
    } else if (scrollBox && !hidden && !ctx.nameOnly) {
      pushControl(out, el, el, refFor(el), "scrollable", nameOf(el, tag, "scrollable"), depth, rect, fixed, ariaHidden, "");
      walkChildren(childNodesParent(el), depth + 1, cctx, out, inner);
      flush(out, depth + 1, inner);
    } else if (role === "dialog" || role === "alertdialog") {
      if (!hidden) {
        const name = nameOf(el, tag, "dialog");
        pushLine(out, `${"  ".repeat(depth)}${role} ${quote(name)}`, el, 0, null);
      }
      walkChildren(childNodesParent(el), depth + 1, cctx, out, inner);
      flush(out, depth + 1, inner);
    } else if (/^H[1-6]$/.test(tag) || role === "heading") {
      if (!hidden && !ctx.nameOnly) {
        const level = /^H[1-6]$/.test(tag) ? +tag[1] : +(el.getAttribute("aria-level") || 2);
        const t = readableText(el, MAX_LINE, false);
        if (t) pushLine(out, `${"  ".repeat(depth)}${"#".repeat(Math.min(Math.max(level, 1), 6))} ${clip(t, MAX_LINE)}`, el, 0, null);
      }
      // Interactive things inside headings (anchors) still get their lines.
      const nctx = { ...cctx, nameOnly: true };
      walkChildren(childNodesParent(el), depth, nctx, out, inner);
    } else {
      if (tag === "LI" && !hidden && !ctx.nameOnly) {
        inner.text = "-";
        inner.space = true;
      }
      // A label's text already names its visible control: don't say it twice.
      const kctx = tag === "LABEL" && el.control ? { ...cctx, nameOnly: true } : cctx;
      walkChildren(childNodesParent(el), depth, kctx, out, inner);
      flush(out, depth, inner);
    }

    if (position === "fixed" && !ctx.fixed && out.length > start && !hidden && covers(el, style)) {
      out[start].cover = el;
      state.covers.add(out[start]);
    }
    const links = state.links - links0;
    if (links >= COLLAPSE_MIN && links * 10 >= (out.length - start) * 6 && !interactive && !hidden && isRegion(el, tag, role))
      collapseRegion(el, tag, role, out, start, depth, rect, fixed, links);
    if (out.length > start && !inline) {
      state.info.set(el, { first: out[start], last: out[out.length - 1], depth, ctx });
    }
  }

