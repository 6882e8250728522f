  // ---------- pointer cursors declared in style sheets ----------
  // Computed style shows a pointer cursor only when it applies now: not one declared
  // under :hover (the common sign of a jQuery-era widget with a delegated handler), and
  // not whether an element inside a clickable block declares one of its own or merely
  // inherits it. The page's own rules that set `cursor: pointer` answer both; they are
  // indexed by the class, id or tag of each selector's subject, as browsers index rules.

  const PSEUDO = /::?(?:hover|focus|focus-visible|focus-within|active|visited|link|any-link|before|after|first-letter|first-line|marker|placeholder|selection)\b/g;
  const TAG_SUBJECTS = new Set(["A", "LI", "TR", "TD", "TH", "IMG", "SVG", "I", "DT", "SUMMARY", "AREA"]);
  // One index per document or shadow root (its own sheets apply inside it), checked
  // once per pass against its sheets' sizes.
  const pointerIndexes = new WeakMap();
  function newIndex() {
    return { key: "", pass: -1, byClass: new Map(), byId: new Map(), byTag: new Map(), byAttr: new Map() };
  }

  function splitTop(sel, sep) {
    // Split at `sep` characters outside brackets, parentheses and quotes.
    const out = [];
    let depth = 0;
    let quoteCh = "";
    let start = 0;
    for (let i = 0; i < sel.length; i++) {
      const ch = sel[i];
      if (quoteCh) {
        if (ch === quoteCh) quoteCh = "";
      } else if (ch === '"' || ch === "'") quoteCh = ch;
      else if (ch === "(" || ch === "[") depth++;
      else if (ch === ")" || ch === "]") depth--;
      else if (depth === 0 && sep.includes(ch)) {
        out.push(sel.slice(start, i));
        start = i + 1;
      }
    }
    out.push(sel.slice(start));
    return out;
  }

  function indexSelector(index, sel) {
    const plain = sel.replace(PSEUDO, "").trim();
    if (!plain) return;
    // A rule without a state pseudo-class shows in computed style when it wins; one under
    // :hover never does, so only that kind is taken on trust.
    const entry = { sel: plain, hover: plain.length !== sel.trim().length };
    const parts = splitTop(plain, " >+~").filter((x) => x.trim());
    // The subject compound, without functional pseudo-classes (`:not(.x)` says nothing
    // about which elements can match).
    const subject = (parts[parts.length - 1] || "").replace(/:[\w-]+\([^)]*\)/g, "").trim();
    if (!subject || subject === "*") return;
    try {
      document.createElement("div").matches(plain);
    } catch (e) {
      return; // not a selector this engine understands
    }
    const add = (map, key) => {
      const list = map.get(key);
      if (!list) map.set(key, [entry]);
      else if (!list.some((x) => x.sel === plain && x.hover === entry.hover)) list.push(entry);
    };
    const cls = subject.match(/\.(-?[_a-zA-Z][\w-]*)/);
    if (cls) return add(index.byClass, cls[1]);
    const id = subject.match(/#(-?[_a-zA-Z][\w-]*)/);
    if (id) return add(index.byId, id[1]);
    const tag = subject.match(/^([a-zA-Z][\w-]*)/);
    const attr = subject.match(/\[\s*([\w-]+)/);
    if (tag && TAG_SUBJECTS.has(tag[1].toUpperCase()) && !attr) return add(index.byTag, tag[1].toUpperCase());
    if (attr && attr[1] !== "class" && attr[1] !== "id" && attr[1] !== "style") add(index.byAttr, attr[1]);
  }

  function indexRules(index, rules, depth) {
    for (const rule of rules) {
      if (rule.style && rule.selectorText) {
        if (rule.style.cursor === "pointer")
          for (const sel of splitTop(rule.selectorText, ",")) indexSelector(index, sel);
      } else if (rule.cssRules && depth < 4) indexRules(index, rule.cssRules, depth + 1);
    }
  }

  // The pointer rules that apply in `root` (a document or shadow root), rebuilt only
  // when its sheets or their sizes changed.
  function pointerIndex(root) {
    let index = pointerIndexes.get(root);
    if (!index) pointerIndexes.set(root, (index = newIndex()));
    if (index.pass === state.pass) return index;
    index.pass = state.pass;
    const sheets = [...(root.styleSheets || []), ...(root.adoptedStyleSheets || [])];
    const lists = [];
    let key = "" + sheets.length;
    for (const sheet of sheets) {
      let rules = null;
      try {
        rules = sheet.cssRules;
      } catch (e) {
        rules = null; // another origin's sheet: its rules cannot be read
      }
      key += "," + (rules ? rules.length : -1);
      // A <style> whose text never says "pointer" has no rule to index.
      const own = sheet.ownerNode;
      if (rules && !(own && own.tagName === "STYLE" && own.textContent.indexOf("pointer") < 0)) lists.push(rules);
    }
    if (key === index.key) return index;
    index.key = key;
    for (const m of [index.byClass, index.byId, index.byTag, index.byAttr]) m.clear();
    for (const rules of lists) indexRules(index, rules, 0);
    return index;
  }

  let lastRoot = null;
  let lastIndex = null;
  function declaresPointer(el) {
    const root = el.getRootNode();
    const r = root === lastRoot && lastIndex.pass === state.pass ? lastIndex : pointerIndex(root);
    lastRoot = root;
    lastIndex = r;
    if (!r.byClass.size && !r.byId.size && !r.byTag.size && !r.byAttr.size) return false;
    const test = (list) => {
      if (!list) return false;
      for (const x of list) {
        try {
          if (el.matches(x.sel) && (x.hover || styleOf(el).cursor === "pointer")) return true;
        } catch (e) {
          /* ignore */
        }
      }
      return false;
    };
    if (r.byClass.size) {
      const cl = el.classList;
      for (let i = 0; i < cl.length; i++) if (test(r.byClass.get(cl[i]))) return true;
    }
    if (r.byId.size && el.id && test(r.byId.get(el.id))) return true;
    if (r.byTag.size && test(r.byTag.get(el.tagName.toUpperCase()))) return true;
    if (r.byAttr.size) for (const [a, list] of r.byAttr) if (el.hasAttribute(a) && test(list)) return true;
    return false;
  }

  // Markup that says an element handles clicks, whatever the cursor.
  const HANDLER_SELECTOR = VOCAB.handlerAttributes.map((a) => `[${CSS.escape(a)}]`).join(",");
  function hasHandler(el) {
    return el.attributes.length > 0 && el.matches(HANDLER_SELECTOR);
  }

  // Symbols that make up a whole control on their own (quantity steppers, close crosses,
  // pagers): "+", "−", "×", "›"…
  const SYMBOL_CONTROL = new RegExp(VOCAB.symbolControl);

  function isSymbolControl(el) {
    if (el.childElementCount > 1) return false;
    const t = collapse(el.textContent || "");
    return t.length === 1 && SYMBOL_CONTROL.test(t);
  }

  // A quantity stepper's buttons sit next to its number field.
  function besideInput(el) {
    const p = el.parentElement;
    return !!(p && p.querySelector("input:not([type=hidden]):not([type=checkbox]):not([type=radio])"));
  }

