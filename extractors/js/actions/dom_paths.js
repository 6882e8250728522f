  // ---------- robust DOM paths: finding a recorded target again ----------
  //
  // domPath({refs}) -> [path | null] per ref, computed when a session is recorded:
  //   `tag#id[attr="v"]:nth(k)` segments from an anchor down to the element, joined by
  //   " > " (" >> " enters a shadow root, " >>> " a same-origin frame's body). Only what
  //   survives re-renders goes in: name, type, role, aria-label, for, test ids, the last
  //   part of a link's path, and ids that do not look generated (a unique one in the top
  //   document anchors the path); `:nth(k)` (k-th of the siblings alike) only where those
  //   do not tell siblings apart. A path that starts with "… " stops below the root.
  // findPath({path}) -> ref | null at replay: the same chain if it still leads to one
  //   element, else the one element alike to the target whose ancestors agree most.

  const PATH_ATTRS = ["name", "type", "role", "aria-label", "for", "data-testid", "data-test", "data-qa"];
  const PATH_DEPTH = 16;
  const SEG_RE = /([A-Za-z][\w.-]*)(?:#([A-Za-z][\w-]*))?((?:\[[\w-]+="(?:[^"\\]|\\.)*"\])*)(?::nth\((\d+)\))?/y;
  const ATTR_RE = /\[([\w-]+)=("(?:[^"\\]|\\.)*")\]/g;
  const SEP_RE = / (>>>|>>|>) /y;

  // Counters, hashes, framework-generated ids (":r1:", "ember123", uuids) change between
  // renders or builds: never part of a path.
  function stableId(id) {
    if (!id || id.length > 40 || !/^[A-Za-z][\w-]*$/.test(id)) return false;
    if (/\d{3,}/.test(id) || (/[0-9a-f]{8,}/i.test(id) && /\d/.test(id))) return false;
    return !/^(ember|react|radix|headlessui|mui|rc|yui|ext|gwt|j_id|ui-id|uid|id)[-_]?\d/i.test(id);
  }

  function hrefPart(el) {
    if (el.tagName !== "A" && el.tagName !== "AREA") return null;
    const raw = el.getAttribute("href");
    if (!raw || /^\s*javascript:/i.test(raw)) return null;
    try {
      const parts = new URL(raw, el.baseURI).pathname.split("/").filter(Boolean);
      return parts.length ? parts[parts.length - 1] : "/";
    } catch (e) {
      return null;
    }
  }

  function pathAttrs(el) {
    const out = [];
    for (const k of PATH_ATTRS) {
      const v = el.getAttribute(k);
      if (v !== null && v !== "" && v.length <= 80) out.push([k, v]);
    }
    const h = hrefPart(el);
    if (h !== null) out.push(["href", h]);
    return out;
  }

  // Tag and attributes alike (ids apart: they are checked only where they anchor).
  function alike(el, seg) {
    if (el.localName !== seg.tag) return false;
    for (const [k, v] of seg.attrs) if ((k === "href" ? hrefPart(el) : el.getAttribute(k)) !== v) return false;
    return true;
  }

  function segOf(el) {
    const seg = { tag: el.localName, id: "", attrs: pathAttrs(el), nth: 0 };
    const root = el.getRootNode();
    if (stableId(el.id) && root.querySelectorAll("#" + CSS.escape(el.id)).length === 1) seg.id = el.id;
    else {
      const sibs = Array.prototype.filter.call(el.parentNode ? el.parentNode.children : [], (c) => alike(c, seg));
      if (sibs.length > 1) seg.nth = sibs.indexOf(el) + 1;
    }
    return seg;
  }

  function segText(s) {
    let t = s.tag + (s.id ? "#" + s.id : "");
    for (const [k, v] of s.attrs) t += `[${k}=${JSON.stringify(v)}]`;
    return s.nth ? `${t}:nth(${s.nth})` : t;
  }

  // [{seg, sep}] from the element up (sep: how the element hangs off the next one up).
  function chainOf(el, depth) {
    const out = [];
    for (let n = el; n && out.length < depth; ) {
      const seg = segOf(n);
      const p = n.parentNode;
      const item = { seg, sep: "", el: n };
      out.push(item);
      if (seg.id && n.getRootNode() === document) return { chain: out, rooted: true };
      if (!p) break;
      if (p.nodeType === 11) {
        item.sep = ">>";
        n = p.host;
      } else if (p === n.ownerDocument.body) {
        const fe = frameOf(n.ownerDocument.defaultView);
        if (!fe) return { chain: out, rooted: true };
        item.sep = ">>>";
        n = fe;
      } else if (p.nodeType === 1) {
        item.sep = ">";
        n = p;
      } else break;
    }
    return { chain: out, rooted: false };
  }

  function domPath(o) {
    return o.refs.map((ref) => {
      const el = api.element(ref);
      if (!el || el === el.ownerDocument.body || el === el.ownerDocument.documentElement) return null;
      const { chain, rooted } = chainOf(el, PATH_DEPTH);
      let text = rooted ? "" : "… ";
      for (let i = chain.length - 1; i >= 0; i--) text += segText(chain[i].seg) + (i ? ` ${chain[i - 1].sep} ` : "");
      return text;
    });
  }

  function parsePath(text) {
    const partial = text.startsWith("… ");
    let i = partial ? 2 : 0;
    const steps = [];
    let sep = "";
    for (;;) {
      SEG_RE.lastIndex = i;
      const m = SEG_RE.exec(text);
      if (!m) return null;
      const attrs = [];
      for (const a of m[3].matchAll(ATTR_RE)) attrs.push([a[1], JSON.parse(a[2])]);
      steps.push({ sep, seg: { tag: m[1], id: m[2] || "", attrs, nth: m[4] ? Number(m[4]) : 0 } });
      i = SEG_RE.lastIndex;
      if (i >= text.length) return { partial, steps };
      SEP_RE.lastIndex = i;
      const s = SEP_RE.exec(text);
      if (!s) return null;
      sep = s[1];
      i = SEP_RE.lastIndex;
    }
  }

  function pick(children, seg) {
    const same = Array.prototype.filter.call(children || [], (c) => alike(c, seg));
    const hit = seg.nth ? (same[seg.nth - 1] ? [same[seg.nth - 1]] : []) : same;
    return seg.id ? hit.filter((c) => c.id === seg.id) : hit;
  }

  // Follow the chain exactly as recorded; null unless it leads to one element.
  function strict(p) {
    const first = p.steps[0].seg;
    let scope;
    if (first.id && !p.partial) {
      const e = document.getElementById(first.id);
      scope = e && alike(e, first) ? [e] : [];
    } else if (!p.partial) scope = pick(document.body && document.body.children, first);
    else return null;
    for (const { sep, seg } of p.steps.slice(1)) {
      const next = [];
      for (const el of scope) {
        let kids = el.children;
        if (sep === ">>") kids = el.shadowRoot ? el.shadowRoot.children : [];
        else if (sep === ">>>") {
          let d = null;
          try {
            d = el.contentDocument;
          } catch (e) {
            d = null;
          }
          kids = d && d.body ? d.body.children : [];
        }
        next.push(...pick(kids, seg));
      }
      scope = next;
      if (!scope.length) return null;
    }
    return scope.length === 1 ? scope[0] : null;
  }

  // Elements alike to the target, scored by the recorded ancestors found (in order) up
  // their own chain: wrappers added or siblings reordered still leave one best match.
  function loose(p) {
    const want = p.steps.map((s) => s.seg).reverse();
    const last = want[0];
    const found = [];
    forEachElement(document, (el) => {
      if (alike(el, last)) found.push(el);
      return found.length < 500;
    });
    let best = null;
    let bestScore = -1;
    let tie = false;
    for (const el of found) {
      const { chain } = chainOf(el, PATH_DEPTH * 2);
      let score = (last.id && el.id === last.id ? 2 : 0) + (chain[0].seg.nth === last.nth ? 1 : 0);
      let j = 1;
      let agree = 0;
      for (const seg of want.slice(1)) {
        while (j < chain.length && !alike(chain[j].el, seg)) j++;
        if (j >= chain.length) break;
        agree += 1;
        score += 2 + (seg.id && chain[j].el.id === seg.id ? 2 : 0) + (chain[j].seg.nth === seg.nth ? 1 : 0);
        j++;
      }
      // A bare tag (`div:nth(3)`) says little by itself: half its ancestors must agree.
      if (!last.attrs.length && !last.id && agree * 2 < want.length - 1) continue;
      if (score > bestScore) [best, bestScore, tie] = [el, score, false];
      else if (score === bestScore) tie = true;
    }
    return tie ? null : best;
  }

  function findPath(o) {
    const p = parsePath(o.path || "");
    if (!p || !p.steps.length) return null;
    const el = strict(p) || loose(p);
    return el ? api.refFor(el) : null;
  }

  // Watch from DOMContentLoaded on, so the first action already knows what ticks.
  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", () => watchRoot(document), { once: true });
  else watchRoot(document);

  return {
    prepare, frameOffset, begin, settle, changed, focus, setValue, selectOptions, findOption,
    checked, scroll, fileInput, focusElement, setFiles, hasText, state, element: (ref) => api.element(ref),
    domPath, findPath,
  };
}
