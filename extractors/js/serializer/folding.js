  // ---------- long runs of navigation links ----------
  // A list or navigation block that is mostly links (a mega-menu, a footer of links) is
  // a candidate; when the page is over the size cap (`state.compact`), each candidate
  // is shown as one line with a ref, how many links it holds and the first few, so
  // the main content fits. `region(ref)` shows one in full. Candidates collapse
  // innermost first: a menu keeps its top level and folds its submenus.

  const REGION_TAGS = new Set(["NAV", "UL", "OL", "MENU", "HEADER", "FOOTER", "ASIDE", "DIV", "SECTION", "TABLE", "TBODY", "DL"]);
  const REGION_ROLES = { NAV: "navigation", UL: "list", OL: "list", MENU: "list", HEADER: "banner", FOOTER: "contentinfo", ASIDE: "complementary", DL: "list", TABLE: "table", TBODY: "table" };

  function isRegion(el, tag, role) {
    return REGION_TAGS.has(tag) || role === "navigation" || role === "menu" || role === "menubar" || role === "list";
  }

  function collapseRegion(el, tag, role, out, start, depth, rect, fixed, links) {
    state.candidates.add(el);
    if (!state.compact) return;
    const hidden = out.slice(start);
    const names = [];
    for (let i = start; i < out.length && names.length < 6; i++) {
      const e = out[i].e;
      if (e && (e[2] === "link" || e[2] === "menuitem") && e[3]) names.push(e[3]);
    }
    state.links -= links; // an enclosing block counts this line, not the links in it
    let inner = 0; // what folded regions inside it already save
    for (const rec of hidden) if (rec.fold) inner += rec.fold;
    const ref = refFor(el);
    const kind = role && role !== tag.toLowerCase() ? role : REGION_ROLES[tag] || "region";
    let name = "";
    if (el.hasAttribute("aria-labelledby")) name = byIds(el, "aria-labelledby");
    if (!name) name = collapse(el.getAttribute("aria-label") || "");
    if (!name) {
      const h = el.querySelector("h1,h2,h3,h4,h5,h6");
      if (h) name = readableText(h, MAX_NAME, true);
    }
    if (!name) {
      const prev = el.previousElementSibling;
      if (prev && !REGION_TAGS.has(prev.tagName)) name = readableText(prev, MAX_NAME, true);
    }
    name = clip(name, MAX_NAME);
    const preview = names.map((n) => clip(n, 30)).join(", ") + (links > names.length ? ", …" : "");
    const states = ["collapsed"];
    let line = `${"  ".repeat(depth)}[${ref}] ${kind} ${quote(name)} collapsed: ${links} links: ${preview}`;
    if (rect === ZERO) rect = el.getBoundingClientRect();
    const data = [ref, tag.toLowerCase(), kind, name, null, states, ...geom(rect, fixed)];
    out.length = start;
    pushLine(out, line, el, ref, data);
    state.roles.set(el, kind);
    const saves = inner + chars(hidden, 0, hidden.length) - line.length - 1;
    out[start].fold = saves;
    state.collapsed.set(el, { rec: out[start], hidden: saves });
  }

  // Whether the page should be shown compact: it is, when over the cap with all of its
  // candidates open. Decided the same way by full passes and after deltas.
  function compactWanted(flat, total) {
    if (state.compact) {
      let open = total;
      for (const [el, c] of state.collapsed) {
        if (c.rec.gone) state.collapsed.delete(el);
        else open += c.hidden;
      }
      return open > state.maxChars;
    }
    if (total <= state.maxChars) return false;
    for (const el of state.candidates) {
      const inf = el.isConnected ? state.info.get(el) : undefined;
      if (inf && !inf.first.gone) return true;
      state.candidates.delete(el);
    }
    return false;
  }

  // The line of a control: `[ref] role "name" type=… value="…" min/max options states`.
  // Script can set a control's value or checked state without any mutation or event
  // (a quantity stepper's `input.value = n`): each control shown keeps what it showed,
  // and observe() compares it with what it holds now.
  function liveState(t) {
    const tag = t.tagName;
    if (tag === "INPUT") return t.type === "checkbox" || t.type === "radio" ? `${t.checked}${t.indeterminate}` : t.value;
    if (tag === "TEXTAREA") return t.value;
    if (tag === "SELECT") return String(t.selectedIndex);
    return null;
  }

  // Checked for the controls the model is shown (the window), so the cost stays with the
  // window, not the page.
  function checkLiveStates() {
    const w = state.win;
    const flat = state.flat;
    for (let i = w.start; i < w.end; i++) {
      const rec = flat[i];
      const t = rec.live;
      if (t && t.isConnected && liveState(t) !== rec.shown) {
        rec.live = null;
        markDirty(t);
      }
    }
  }

  function pushControl(out, el, target, ref, role, name, depth, rect, fixed, ariaHidden, extra) {
    const ttag = target.tagName;
    const live = liveState(target);
    const value = valueOf(target, ttag);
    const states = statesOf(target, ttag, role, state.active);
    if (ariaHidden) states.push("aria-hidden");
    let line = `${"  ".repeat(depth)}[${ref}] ${role} ${quote(name)}`;
    if (ttag === "INPUT") {
      const type = (target.type || "text").toLowerCase();
      if (!PLAIN_INPUT_ROLES[type] && !TEXTBOX_TYPES.has(type)) line += ` type=${type}`;
      else if (type === "password" || type === "email" || type === "tel" || type === "url")
        line += ` type=${type}`;
    }
    if (value) line += ` value=${quote(value)}`;
    line += rangeOf(target, ttag, role);
    if (ttag === "SELECT") line += ` options=${quote(optionsOf(target)).replace(/\\"/g, "'")}`;
    if (states.length) line += " " + states.join(" ");
    line += extra;
    state.roles.set(el, role);
    const data = [
      ref, el.tagName.toLowerCase(), role, name, value === null ? null : value, states,
      ...geom(rect, fixed),
    ];
    pushLine(out, line, el, ref, data);
    if (live !== null) {
      const rec = out[out.length - 1];
      rec.live = target;
      rec.shown = live;
    }
    if (role === "link" || role === "menuitem") state.links++;
  }

  // The line of a keyboard sink (see keyboardSink), placed on the widget around it.
  // Returns whether it made one.
  function sinkLine(el, tag, style, depth, ctx, out, run) {
    if (ctx.owner === "control") return false;
    const sink = keyboardSink(el, tag, style);
    if (!sink) return false;
    flush(out, depth, run);
    const name = nameOf(el, tag, "textbox") || clip(readableText(sink.host, MAX_NAME, true), MAX_NAME);
    const start = out.length;
    pushControl(out, el, el, refFor(el), "textbox", name, depth, sink.rect, ctx.fixed, ctx.ariaHidden, " hidden-input");
    state.sinks.set(el, sink.host);
    out[start].box = sink.host; // its geometry is the widget's
    state.info.set(el, { first: out[start], last: out[start], depth, ctx });
    return true;
  }

  // Below MAX_NEST elements the walk goes on without recursion: text, and one line for
  // each visible control, all at this depth. It stops a page's nesting from exhausting
  // the stack; deltas inside re-walk from the nearest block above it.
  function walkDeep(root, depth, ctx, out, run) {
    const stack = [root];
    while (stack.length) {
      const n = stack.pop();
      if (n.nodeType === 3) {
        if (!ctx.hidden && !ctx.nameOnly) addText(run, n, n.data);
        continue;
      }
      if (n.nodeType !== 1 || SKIP_TAGS.has(n.tagName)) continue;
      if (n === BREAK) {
        flush(out, depth, run);
        continue;
      }
      const st = getComputedStyle(n);
      if (st.display === "none" || st.visibility === "hidden" || st.opacity === "0") continue;
      const role = roleOf(n, n.tagName);
      const kind = isInteractive(n, n.tagName, role, st, ctx);
      if (kind && !ctx.nameOnly) {
        const r = n.getBoundingClientRect();
        if (r.width > 0 && r.height > 0) {
          flush(out, depth, run);
          const rl = kind === "clickable" ? "clickable" : role || n.tagName.toLowerCase();
          pushControl(out, n, n, refFor(n), rl, nameOf(n, n.tagName, rl), depth, r, ctx.fixed, ctx.ariaHidden, "");
          continue;
        }
      }
      const block = st.display !== "inline" && st.display !== "contents";
      if (block) stack.push(BREAK);
      const kids = childNodesParent(n);
      for (let c = kids.lastChild; c; c = c.previousSibling) stack.push(c);
      if (block) stack.push(BREAK);
    }
  }
  const BREAK = { nodeType: 1, tagName: "#break" };

  const SLOT_TAG = "SLOT";

  function walkFrame(iframe, depth, ctx, out) {
    let doc = null;
    try {
      doc = iframe.contentDocument;
    } catch (e) {
      doc = null;
    }
    if (doc && doc.body) {
      observeRoot(doc);
      indexLabels(doc);
      const run = { text: "", node: null, space: false };
      const saved = [state.fx, state.fy];
      const fr = iframe.getBoundingClientRect();
      state.fx += fr.x + iframe.clientLeft;
      state.fy += fr.y + iframe.clientTop;
      walkChildren(doc.body, depth, ctx, out, run);
      flush(out, depth, run);
      [state.fx, state.fy] = saved;
    } else if (!doc) {
      // Cross-origin: Python stitches the child frame's own serialization here.
      pushLine(out, `${"  ".repeat(depth)}\u0000frame ${refFor(iframe)} ${depth}`, iframe, 0, null);
    }
  }

