// In-page serializer: turns the live DOM into the compact text a model reads,
// and after the first pass ships only what changed.
//
// On Chromium this file runs in an isolated world, so everything here (the
// globals it defines, the built-ins it calls, the DOM wrappers it holds) is
// invisible to page scripts and immune to their monkey-patching. It writes
// nothing into the DOM. Elsewhere it is evaluated as an expression in the main
// world and kept only as a handle, so it still leaves no globals.
//
// Model of the page: `flat` is the whole serialization, one record per line, in
// document order. Every block element that produced lines remembers its first
// and last record, so a dirty subtree is re-serialized and spliced in place.
// Only a window of `flat` (the size cap) is mirrored by Python.
(() => {
  "use strict";

  const SKIP_TAGS = new Set([
    "SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "HEAD", "META", "LINK", "TITLE", "BASE",
  ]);
  const NAME_FROM_CONTENT = new Set([
    "button", "link", "tab", "menuitem", "menuitemcheckbox", "menuitemradio", "option",
    "treeitem", "switch", "checkbox", "radio", "clickable", "summary", "cell", "row", "gridcell",
  ]);
  const INTERACTIVE_ROLES = new Set([
    "button", "link", "checkbox", "radio", "switch", "tab", "menuitem", "menuitemcheckbox",
    "menuitemradio", "option", "combobox", "textbox", "searchbox", "slider", "spinbutton",
    "listbox", "treeitem",
  ]);
  const COMPOSITE_ROLES = new Set(["listbox", "combobox", "treeitem", "tree", "grid", "menu", "menubar", "tablist", "radiogroup"]);
  const TEXTBOX_TYPES = new Set(["text", "search", "email", "tel", "url", "password", ""]);
  const PLAIN_INPUT_ROLES = {
    checkbox: "checkbox", radio: "radio", range: "slider", number: "spinbutton",
    search: "searchbox", button: "button", submit: "button", reset: "button", image: "button",
  };
  const MAX_NAME = 80;
  const MAX_VALUE = 1000;
  const MAX_LINE = 2000; // a longer run of text is broken into lines at word boundaries
  const MAX_DIRTY = 4000;
  const MAX_NEST = 400; // elements deeper than this are walked without recursion
  const MAX_NAME_NEST = 32;
  const COLLAPSE_MIN = 15; // links in a region before it can be folded into one line

  const state = {
    refBase: 0,
    nextRef: 1,
    refOf: new WeakMap(), // Element -> ref
    byRef: new Map(), // ref -> WeakRef<Element>
    seen: new Map(), // ref -> [role, name] as last reported to Python
    info: new WeakMap(), // block Element -> {first, last, depth, ctx}
    flat: [], // line records of the whole page
    win: {
      start: 0, end: 0, above: 0, below: 0, truncated: false, chars: 0,
      aboveRoles: new Map(), belowRoles: new Map(),
    },
    total: 0,
    maxChars: 40000,
    version: 0,
    needFull: true,
    dirty: new Set(),
    bodyOps: [], // childList records on <body>, which has no lines of its own to re-walk
    moved: [],
    observers: [],
    ro: null, // ResizeObserver for elements skipped while they had no size
    sized: new WeakSet(), // elements it watches
    observed: new WeakSet(),
    labels: new WeakMap(), // control -> [label]
    roles: new WeakMap(), // element -> the role its line gave it
    sinks: new WeakMap(), // keyboard sink -> the widget its line stands on
    closedRoots: new WeakMap(), // host -> its closed shadow root (adopted over CDP)
    pass: 0, // counts passes (full or delta), for per-pass caches
    compact: false, // regions of links are folded (see collapseRegion)
    collapsed: new Map(), // folded region -> {rec: its line, hidden: characters it saves}
    candidates: new Set(), // regions that would fold
    covers: new Set(), // first records of fixed layers over most of the viewport
    suspects: [], // refs of elements that look like hosts of closed shadow roots
    links: 0, // link lines written so far (a running count regions subtract from)
    level: 0,
    labelRoots: new WeakSet(),
    started: false,
    why: "",
    doc: null,
  };

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

  // ---------- the text a person reads in an element ----------
  // Names and headings are built from what is rendered: hidden descendants never enter,
  // and block, inline-block, flex and grid children keep a word boundary between them.
  // `aria` leaves out aria-hidden parts (as accessible names do); a name that comes out
  // empty that way falls back to what is on screen.

  function styleOf(el) {
    return el.ownerDocument.defaultView.getComputedStyle(el);
  }

  function readableText(el, limit, aria) {
    if (!el.firstElementChild && !shadowOf(el)) return collapse(el.textContent || "");
    return contentText(el, limit, aria, true) || contentText(el, limit, aria, false);
  }

  // Controls inside a control have names and lines of their own: they are left out of
  // its name (`skip`) unless nothing else names it.
  function isControl(c, tag) {
    if (tag === "BUTTON" || tag === "SELECT" || tag === "TEXTAREA" || (tag === "A" && c.hasAttribute("href")))
      return true;
    if (tag === "INPUT") return (c.getAttribute("type") || "").toLowerCase() !== "hidden";
    const r = c.getAttribute("role");
    return !!r && INTERACTIVE_ROLES.has(r.trim().split(/\s+/)[0]);
  }

  function contentText(el, limit, aria, skip) {
    const parts = [];
    let len = 0;
    const visit = (parent, nest) => {
      for (let c = parent.firstChild; c && len <= limit; c = c.nextSibling) {
        if (c.nodeType === 3) {
          parts.push(c.data);
          if (/\S/.test(c.data)) len += c.data.length; // indentation counts for nothing
        } else if (c.nodeType === 1) inner(c, nest);
      }
    };
    const inner = (c, nest) => {
      const tag = c.tagName;
      if (SKIP_TAGS.has(tag) || nest > MAX_NAME_NEST) return;
      if (aria && c.getAttribute("aria-hidden") === "true") return;
      if (tag === "BR") return void parts.push(" ");
      if (tag === "TEXTAREA" || tag === "SELECT" || (skip && isControl(c, tag))) return;
      const st = styleOf(c);
      const d = st.display;
      if (d === "none" || st.visibility === "hidden" || st.opacity === "0") return;
      if (tag === "IMG" || tag === "svg" || tag === "INPUT") {
        const alt = tag === "svg" ? svgName(c) : c.getAttribute("alt") || c.getAttribute("aria-label") || "";
        if (alt) parts.push(" " + alt + " ");
        return;
      }
      const block = d !== "inline" && d !== "contents";
      if (block) parts.push(" ");
      if (tag === "SLOT") {
        const assigned = c.assignedNodes({ flatten: true });
        if (assigned.length) {
          for (const n of assigned) {
            if (n.nodeType === 3) parts.push(n.data);
            else if (n.nodeType === 1) inner(n, nest + 1);
          }
        } else visit(c, nest + 1);
      } else visit(shadowOf(c) || c, nest + 1);
      if (block) parts.push(" ");
    };
    visit(shadowOf(el) || el, 0);
    return collapse(parts.join(""));
  }

  function svgName(svg) {
    const label = svg.getAttribute("aria-label");
    if (label) return collapse(label);
    for (let c = svg.firstElementChild; c; c = c.nextElementSibling) {
      if (c.tagName === "title") return collapse(c.textContent || "");
    }
    return "";
  }

  // ---------- icons ----------
  // A text-less icon is named by aria-label, title, alt or an SVG <title>; failing those,
  // by the words of its class ("fa fa-trash" -> "trash").
  const ICON_WORDS = new Set((
    "star heart like favorite favourite bookmark trash delete remove close cancel dismiss reply " +
    "forward share more menu hamburger bars ellipsis kebab dots options settings gear cog edit " +
    "pencil plus minus add subtract increment decrement search cart basket bag user profile " +
    "account bell notification notifications home back next prev previous arrow chevron caret " +
    "expand collapse play pause stop refresh reload print mail envelope archive flag pin lock " +
    "unlock eye filter sort calendar clock info help question warning check tick times copy " +
    "download upload save attach paperclip camera image video phone map location globe external " +
    "zoom grid list thumbs up down undo redo send comment chat message folder file fullscreen " +
    "mute volume sound mic microphone logout login exit sun moon translate language navbar nav " +
    "toggle toggler burger hamburger offcanvas sidebar drawer facebook twitter instagram " +
    "pinterest youtube linkedin rss tiktok whatsapp reddit github telegram snapchat vimeo " +
    "tumblr flickr mastodon threads bluesky email newsletter logo magnifier magnifying"
  ).split(" "));
  const CLASS_NOISE = new Set((
    "fa fas far fab fal fad fat fass fa-solid fa-regular icon icons ico glyphicon glyphicons bi " +
    "ion ionicon ionicons mdi material symbols outlined rounded sharp svg btn button js is has " +
    "active inactive open closed sm md lg xl xs xxl small large big solid regular light thin " +
    "duotone brands fw lg2 text color primary secondary default inline block flex clickable " +
    "action actions item link wrapper wrap container inner outer the and ui"
  ).split(" "));

  function classTokens(el) {
    const cls = el.getAttribute("class");
    return cls ? wordsOf(cls) : [];
  }

  // "fa-trash btnDismiss" -> ["trash", "dismiss"]: words of identifiers, noise left out.
  function wordsOf(s) {
    const out = [];
    for (const c of s.split(/\s+/)) {
      for (const t of c.split(/[-_]+|(?<=[a-z])(?=[A-Z])/)) {
        const w = t.toLowerCase();
        if (w.length > 1 && w.length < 21 && /^[a-z]+$/.test(w) && !CLASS_NOISE.has(w)) out.push(w);
      }
    }
    return out;
  }

  // Words that make a text-less element something to click rather than decoration.
  const ACTION_WORDS = new Set((
    "star heart like favorite favourite bookmark trash delete remove close dismiss reply forward " +
    "share more menu hamburger ellipsis kebab dots settings gear cog edit pencil plus minus add " +
    "subtract increment decrement search cart expand collapse toggle play pause refresh reload " +
    "download upload copy print archive flag pin filter sort send undo redo fullscreen mute next " +
    "prev previous"
  ).split(" "));

  const ICON_TAGS = new Set(["I", "SPAN", "DIV", "svg", "EM", "B", "STRONG", "SMALL", "LI", "IMG", "A", "P"]);

  // A text-less element that says what it does in a tooltip or a label, or calls itself
  // a button in its class: an icon button.
  function labelledIcon(el) {
    if (el.hasAttribute("title") || el.hasAttribute("aria-label")) return true;
    const cls = el.getAttribute("class");
    return !!cls && /(?:^|[\s_-])(?:btn|button)(?:$|[\s_-])/i.test(cls);
  }

  function hasActionWord(el) {
    if (!el.hasAttribute("class")) return false;
    for (const w of classTokens(el)) if (ACTION_WORDS.has(w)) return true;
    return false;
  }

  // Words for an element with no text: its own class or id, else an icon inside it
  // (an SVG sprite's `<use href="#dismiss">` included).
  function classWords(el) {
    for (let n = el, i = 0; n && i < 4; i++) {
      const toks = classTokens(n);
      if (n.id) toks.push(...wordsOf(n.id));
      if (n.tagName === "use") toks.push(...wordsOf((n.getAttribute("href") || n.getAttribute("xlink:href") || "").split("#")[1] || ""));
      if (n.tagName === "IMG") toks.push(...wordsOf(fileName(n.getAttribute("src") || "")));
      const icon = toks.filter((w) => ICON_WORDS.has(w) || ACTION_WORDS.has(w));
      if (icon.length) return [...new Set(icon)].slice(0, 3).join(" ");
      n = n.firstElementChild;
    }
    return "";
  }

  function fileName(url) {
    const path = url.split(/[?#]/)[0];
    return path.slice(path.lastIndexOf("/") + 1).replace(/\.[a-z0-9]+$/i, "");
  }

  // Where a link goes, as a last resort for its name: its path on this site, else the
  // other site's host and path ("facebook.com/acme").
  function hrefName(el) {
    const raw = el.getAttribute("href") || "";
    if (!raw || /^\s*(javascript|data):/i.test(raw)) return "";
    try {
      const u = new URL(raw, el.baseURI);
      if (u.protocol === "mailto:") return "email";
      const path = (u.pathname + u.search).replace(/\/$/, "") || "/";
      return u.host === location.host ? path : u.host.replace(/^www\./, "") + (path === "/" ? "" : path);
    } catch (e) {
      return "";
    }
  }

  // A name for an element without text from the attributes of what it holds.
  function innerLabel(el) {
    let found = "";
    const visit = (n, depth) => {
      for (let c = n.firstElementChild; c && !found && depth < 4; c = c.nextElementSibling) {
        if (c.tagName === "svg") found = svgName(c);
        else found = collapse(c.getAttribute("aria-label") || c.getAttribute("title") || c.getAttribute("alt") || "");
        if (!found) visit(c, depth + 1);
      }
    };
    visit(shadowOf(el) || el, 0);
    return found;
  }

  function byIds(el, attr) {
    const ids = (el.getAttribute(attr) || "").split(/\s+/).filter(Boolean);
    const root = el.getRootNode();
    const parts = [];
    for (const id of ids) {
      const target = root.getElementById ? root.getElementById(id) : null;
      if (target) parts.push(collapse(target.textContent || ""));
    }
    return parts.join(" ");
  }

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
  const HANDLER_SELECTOR = [
    "onclick", "onmousedown", "onpointerdown", "ng-click", "\\@click", "v-on\\:click", "data-action",
    "data-toggle", "data-bs-toggle", "data-dismiss", "data-bs-dismiss", "jsaction",
  ].map((a) => `[${a}]`).join(",");
  function hasHandler(el) {
    return el.attributes.length > 0 && el.matches(HANDLER_SELECTOR);
  }

  // Symbols that make up a whole control on their own (quantity steppers, close crosses,
  // pagers): "+", "−", "×", "›"…
  const SYMBOL_CONTROL = /^[+\-−–×✕✖✗╳xX‹›«»<>▲▼▴▾◀▶⟨⟩☆★♡♥⋮⋯…]$/;

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

  // ---------- roles and names ----------

  function roleOf(el, tag) {
    const explicit = (el.getAttribute("role") || "").trim().split(/\s+/)[0];
    if (explicit && explicit !== "none" && explicit !== "presentation" && explicit !== "generic")
      return explicit;
    switch (tag) {
      case "A":
      case "AREA":
        return el.hasAttribute("href") ? "link" : "";
      case "BUTTON":
        return "button";
      case "INPUT": {
        const type = (el.getAttribute("type") || "text").toLowerCase();
        if (type === "hidden") return "";
        return PLAIN_INPUT_ROLES[type] || "textbox";
      }
      case "SELECT":
        return el.multiple || el.size > 1 ? "listbox" : "combobox";
      case "TEXTAREA":
        return "textbox";
      case "SUMMARY":
        return "summary";
      case "IFRAME":
      case "FRAME":
        return "iframe";
      case "DIALOG":
        return "dialog";
      case "LABEL":
        return "label";
      default:
        return "";
    }
  }

  function nameOf(el, tag, role) {
    let n = "";
    if (el.hasAttribute("aria-labelledby")) n = byIds(el, "aria-labelledby");
    if (!n) n = collapse(el.getAttribute("aria-label") || "");
    if (!n && (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA")) {
      const type = (el.getAttribute("type") || "").toLowerCase();
      if (tag === "INPUT" && (type === "submit" || type === "reset" || type === "button"))
        n = collapse(el.value || "") || (type === "submit" ? "Submit" : type === "reset" ? "Reset" : "");
      if (n === "Submit" && el.getAttribute("title")) n = el.getAttribute("title");
      else if (tag === "INPUT" && type === "image") n = el.getAttribute("alt") || "";
      if (!n) n = labelText(el);
      if (!n) n = el.getAttribute("placeholder") || "";
    }
    if (!n && (tag === "IFRAME" || tag === "FRAME")) n = el.getAttribute("title") || "";
    if (!n && tag === "svg") n = svgName(el);
    if (!n && (tag === "IMG" || role === "img")) n = el.getAttribute("alt") || "";
    if (!n && role === "scrollable") {
      // A scrolling box: its heading, inside it or just before it.
      const h = el.querySelector("h1,h2,h3,h4,h5,h6,legend,caption");
      const prev = el.previousElementSibling;
      if (h) n = readableText(h, MAX_NAME, true);
      else if (prev && /^H[1-6]$/.test(prev.tagName)) n = readableText(prev, MAX_NAME, true);
      return clip(collapse(n || el.getAttribute("title") || ""), MAX_NAME);
    }
    if (!n && role === "dialog") {
      const h = el.querySelector("h1,h2,h3,h4,h5,h6");
      if (h) n = readableText(h, MAX_NAME, true);
    }
    if (!n && NAME_FROM_CONTENT.has(role)) {
      n = readableText(el, MAX_NAME, true);
      if (!n) n = readableText(el, MAX_NAME, false);
    }
    if (!n && !NAME_FROM_CONTENT.has(role) && role === tag.toLowerCase()) {
      n = readableText(el, MAX_NAME, true); // a focusable <span>: named by its text
    }
    if (!n) n = el.getAttribute("title") || "";
    if (!n && tag === "BUTTON") {
      const type = (el.getAttribute("type") || "submit").toLowerCase();
      n = type === "reset" ? "Reset" : "";
    }
    if (!n && (NAME_FROM_CONTENT.has(role) || INTERACTIVE_ROLES.has(role) || role === tag.toLowerCase()))
      n = innerLabel(el) || classWords(el);
    if (!n && tag === "A") n = hrefName(el);
    return clip(collapse(n), MAX_NAME);
  }

  // Whether the text of a name-from-content control is longer than its name shows:
  // then the rest is shown as text under it (a price inside a clickable card).
  function nameCut(el, role, name) {
    return (
      name.length === MAX_NAME && name.endsWith("…") && NAME_FROM_CONTENT.has(role) &&
      !el.hasAttribute("aria-label") && !el.hasAttribute("aria-labelledby")
    );
  }

  // Whether `el` is something a person would click or type into: true for controls,
  // "clickable" for other targets, false otherwise. Inside a clickable block (`inside`)
  // only targets of their own count: a pointer cursor is inherited by every descendant,
  // so there it takes markup, a rule of the page's own or an icon to tell one apart.
  function isInteractive(el, tag, role, style, ctx) {
    if (INTERACTIVE_ROLES.has(role) || role === "summary") return true;
    if (el.isContentEditable && !(el.parentElement && el.parentElement.isContentEditable))
      return true;
    const ti = el.getAttribute("tabindex");
    if (ti !== null && ti !== "-1" && tag !== "IFRAME") return true;
    if (tag === "LABEL" || tag === "BODY" || tag === "HTML") return false;
    // Inside a real control only markup makes a target of its own.
    const attrs = el.hasAttributes();
    if (ctx.owner === "control") return attrs && hasHandler(el) ? "clickable" : false;
    const inside = ctx.pointer;
    if (!inside && style.cursor === "pointer") return "clickable";
    if (tag === "A" && el.firstChild) return "clickable"; // an anchor with no href, acting as a button
    // Handlers, classes and ids live in attributes: an element with none is plain.
    if (attrs ? hasHandler(el) || declaresPointer(el) : TAG_SUBJECTS.has(tag) && declaresPointer(el)) return "clickable";
    const leaf = !el.firstElementChild || tag === "svg";
    if (leaf && ICON_TAGS.has(tag) && (attrs || inside || el.firstChild)) {
      // Icons (an icon font, a CSS background, an SVG) and one-symbol controls.
      const raw = tag === "svg" ? "" : el.textContent || "";
      if (raw.length > 24) return false; // text: neither an icon nor a symbol
      const text = collapse(raw);
      if (!text) return hasActionWord(el) || (tag !== "IMG" && labelledIcon(el)) ? "clickable" : false;
      if (text.length === 1 && SYMBOL_CONTROL.test(text))
        return inside || hasActionWord(el) || besideInput(el) ? "clickable" : false;
    }
    return false;
  }

  function controlHidden(ctrl) {
    if (!ctrl) return false;
    const s = getComputedStyle(ctrl);
    if (s.display === "none" || s.visibility === "hidden" || s.opacity === "0") return true;
    const r = ctrl.getBoundingClientRect();
    return r.width <= 1 || r.height <= 1;
  }

  function statesOf(el, tag, role, active) {
    const st = [];
    const aria = (a) => el.getAttribute(a);
    if (tag === "INPUT" && (el.type === "checkbox" || el.type === "radio")) {
      if (el.indeterminate) st.push("mixed");
      else if (el.checked) st.push("checked");
    } else if (aria("aria-checked") === "true") st.push("checked");
    else if (aria("aria-checked") === "mixed") st.push("mixed");
    if (aria("aria-pressed") === "true") st.push("pressed");
    if (aria("aria-selected") === "true" || (tag === "OPTION" && el.selected)) st.push("selected");
    if (el.disabled === true || aria("aria-disabled") === "true") st.push("disabled");
    if (role === "summary") {
      const d = el.parentElement;
      if (d && d.tagName === "DETAILS") st.push(d.open ? "expanded" : "collapsed");
    } else if (aria("aria-expanded") === "true") st.push("expanded");
    else if (aria("aria-expanded") === "false") st.push("collapsed");
    const popup = aria("aria-haspopup");
    if (popup && popup !== "false") st.push(popup === "true" || popup === "menu" ? "haspopup" : `haspopup=${popup}`);
    const current = aria("aria-current");
    if (current && current !== "false") st.push(current === "true" ? "current" : `current=${current}`);
    if (tag === "TEXTAREA" || aria("aria-multiline") === "true" || (el.isContentEditable && aria("aria-multiline") !== "false"))
      st.push("multiline");
    if (el.required === true || aria("aria-required") === "true") st.push("required");
    if (el.readOnly === true || aria("aria-readonly") === "true") st.push("readonly");
    if (active === el) st.push("focused");
    return st;
  }

  function valueOf(el, tag) {
    if (tag === "INPUT") {
      const type = (el.type || "text").toLowerCase();
      if (type === "checkbox" || type === "radio" || PLAIN_INPUT_ROLES[type] === "button")
        return null;
      if (type === "password") return el.value ? "•••" : "";
      if (type === "file") return Array.from(el.files || [], (f) => f.name).join(", ");
      return exact(el.value || "");
    }
    if (tag === "TEXTAREA") return exact(el.value || "");
    if (tag === "SELECT") {
      return Array.from(el.selectedOptions || [], (o) => collapse(o.label || o.text)).join(", ");
    }
    if (el.isContentEditable) return exact((el.innerText || "").replace(/\n$/, ""));
    const v = el.getAttribute("aria-valuetext") || el.getAttribute("aria-valuenow");
    return v === null ? null : exact(v);
  }

  // min and max of a slider or spin button, which give its value a meaning.
  function rangeOf(el, tag, role) {
    if (role !== "slider" && role !== "spinbutton") return "";
    let lo = el.getAttribute("aria-valuemin");
    let hi = el.getAttribute("aria-valuemax");
    if (tag === "INPUT") {
      lo = el.min !== "" ? el.min : el.type === "range" ? "0" : lo;
      hi = el.max !== "" ? el.max : el.type === "range" ? "100" : hi;
    }
    let out = "";
    if (lo !== null && lo !== "") out += ` min=${quote(exact(String(lo)))}`;
    if (hi !== null && hi !== "") out += ` max=${quote(exact(String(hi)))}`;
    return out;
  }

  function optionsOf(el) {
    const out = [];
    for (const o of el.options || []) {
      if (out.length >= 25) {
        out.push(`…${el.options.length - 25} more`);
        break;
      }
      out.push(collapse(o.label || o.text));
    }
    return out;
  }

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

  // ---------- passes ----------

  function measureScroll() {
    state.sx = window.scrollX;
    state.sy = window.scrollY;
    state.fx = 0;
    state.fy = 0;
    state.vw = window.innerWidth;
    state.vh = window.innerHeight;
    state.active = deepActive(document);
  }

  const ROOT_CTX = Object.freeze({
    hidden: false, fixed: false, nameOnly: false, pointer: false, ariaHidden: false, owner: "",
    scroller: false,
  });

  function serializeRoot() {
    const out = [];
    state.covers = new Set();
    state.collapsed = new Map();
    state.candidates = new Set();
    state.labels = new WeakMap();
    state.labelRoots = new WeakSet();
    indexLabels(document);
    const body = document.body || document.documentElement;
    if (!body) return out;
    const run = { text: "", node: null, space: false };
    walkChildren(childNodesParent(body), 0, ROOT_CTX, out, run);
    flush(out, 0, run);
    return out;
  }

  function lineTop(rec, sy) {
    const n = rec.n;
    if (!n) return 0;
    let r;
    if (n.nodeType === 3) {
      const range = n.ownerDocument.createRange();
      range.selectNodeContents(n);
      r = range.getBoundingClientRect();
    } else if (n.isConnected) r = n.getBoundingClientRect();
    else return 0;
    return r.y + r.height / 2;
  }

  // First index in [lo, hi) whose line sits at or below viewport y `limit`
  // (lines are close to visual order; the search is the same for full and
  // delta passes, so both agree).
  function firstAtOrBelow(lines, lo, hi, limit) {
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (lineTop(lines[mid]) < limit) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // Role counts of the element lines in lines[a, b), added to `map` (sign -1 takes away):
  // kept for the parts above and below the window as the counts are, for the summary.
  function tally(map, lines, a, b, sign) {
    for (let i = a; i < b; i++) {
      const e = lines[i].e;
      if (e) map.set(e[2], (map.get(e[2]) || 0) + sign);
    }
    return map;
  }

  function countRefs(lines, a, b) {
    let n = 0;
    for (let i = a; i < b; i++) if (lines[i].r && lines[i].t.charCodeAt(0) !== 0) n++;
    return n;
  }

  // What a part of the page outside the window holds, for the closing summary: element
  // counts by role (kept as the window moves) and the first headings left out, looked for
  // outward from the window's edge (`step` -1 above it, 1 below).
  function leftOut(roles, lines, from, step) {
    const heads = [];
    for (let i = from, n = 0; i >= 0 && i < lines.length && heads.length < 6 && n < 5000; i += step, n++) {
      const rec = lines[i];
      if (rec.e) continue;
      const t = rec.t.trimStart();
      if (t.charCodeAt(0) === 35 /* # */) heads.push(clip(t.replace(/^#+ /, ""), 40));
    }
    if (step < 0) heads.reverse();
    const counts = [...roles].filter((x) => x[1] > 0).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    let out = counts.slice(0, 4).map(([r, n]) => `${n} ${r}`).join(", ");
    if (heads.length) out += (out ? "; " : "") + "headings: " + heads.map(quote).join(", ");
    return out;
  }

  function notes() {
    const w = state.win;
    return [leftOut(w.aboveRoles, state.flat, w.start - 1, -1), leftOut(w.belowRoles, state.flat, w.end, 1)];
  }

  function chars(lines, a, b) {
    let n = 0;
    for (let i = a; i < b; i++) n += lines[i].t.length + 1;
    return n;
  }

  // The window of `flat` that fits the size cap: from a little above the
  // first line in view, as far down as the budget allows. Deltas re-fit it
  // with the same rule, so a delta and a fresh pass always agree.
  function windowFor(flat, total) {
    if (total <= state.maxChars) return [0, flat.length, false, total];
    const first = Math.min(firstAtOrBelow(flat, 0, flat.length, 0), flat.length - 1);
    let s = first;
    let e = first;
    let used = 0;
    const lead = state.maxChars * 0.1;
    while (s > 0 && used + flat[s - 1].t.length + 1 <= lead) used += flat[--s].t.length + 1;
    while (e < flat.length && used + flat[e].t.length + 1 <= state.maxChars) used += flat[e++].t.length + 1;
    while (s > 0 && used + flat[s - 1].t.length + 1 <= state.maxChars) used += flat[--s].t.length + 1;
    return [s, e, true, used];
  }

  function chooseWindow() {
    const flat = state.flat;
    state.total = chars(flat, 0, flat.length);
    const [s, e, truncated, used] = windowFor(flat, state.total);
    Object.assign(state.win, {
      start: s, end: e, above: countRefs(flat, 0, s), below: countRefs(flat, e, flat.length),
      aboveRoles: tally(new Map(), flat, 0, s, 1), belowRoles: tally(new Map(), flat, e, flat.length, 1),
      truncated, chars: used,
    });
  }

  // Move the window's edges to where a fresh pass would put them, as ops.
  function refit(ops, oldSeen, newSeen, newData) {
    const w = state.win;
    const flat = state.flat;
    const [s2, e2, truncated, used] = windowFor(flat, state.total);
    if (s2 === w.start && e2 === w.end) {
      w.truncated = truncated;
      return true;
    }
    if (s2 >= w.end || e2 <= w.start) return false;
    const enter = (a, b) => {
      for (let i = a; i < b; i++) {
        const rec = flat[i];
        if (rec.r && rec.e) {
          newSeen.set(rec.r, rec.t);
          newData.set(rec.r, rec.e);
        }
      }
      return flat.slice(a, b).map(lineText);
    };
    const leave = (a, b) => {
      for (let i = a; i < b; i++) {
        const rec = flat[i];
        if (rec.r && rec.e) {
          newSeen.delete(rec.r);
          newData.delete(rec.r);
          oldSeen.set(rec.r, rec.t);
        }
      }
    };
    if (s2 < w.start) {
      ops.push([0, 0, enter(s2, w.start)]);
      w.above -= countRefs(flat, s2, w.start);
      tally(w.aboveRoles, flat, s2, w.start, -1);
    } else if (s2 > w.start) {
      leave(w.start, s2);
      ops.push([0, s2 - w.start, []]);
      w.above += countRefs(flat, w.start, s2);
      tally(w.aboveRoles, flat, w.start, s2, +1);
    }
    if (e2 > w.end) {
      ops.push([w.end - s2, 0, enter(w.end, e2)]);
      w.below -= countRefs(flat, w.end, e2);
      tally(w.belowRoles, flat, w.end, e2, -1);
    } else if (e2 < w.end) {
      leave(e2, w.end);
      ops.push([e2 - s2, w.end - e2, []]);
      w.below += countRefs(flat, e2, w.end);
      tally(w.belowRoles, flat, e2, w.end, +1);
    }
    Object.assign(w, { start: s2, end: e2, truncated, chars: used });
    return true;
  }

  function lineText(rec) {
    return rec.t;
  }

  function fullPass() {
    state.dirty.clear();
    state.bodyOps = [];
    state.needFull = false;
    state.scrolled = false;
    state.flat = serializeRoot();
    const total = chars(state.flat, 0, state.flat.length);
    if (compactWanted(state.flat, total) !== state.compact) {
      state.compact = !state.compact;
      state.flat = serializeRoot();
    }
    chooseWindow();
    const w = state.win;
    const lines = [];
    const elements = [];
    state.seen = new Map();
    for (let i = w.start; i < w.end; i++) {
      const rec = state.flat[i];
      lines.push(rec.t);
      if (rec.e) {
        elements.push(rec.e);
        state.seen.set(rec.r, rec.t);
      }
    }
    return { full: true, lines, elements, added: [], removed: [], changed: [] };
  }

  function escalate(el) {
    // Nearest block ancestor (inclusive) whose lines are still in `flat`.
    for (let n = el; n; n = parentOf(n)) {
      const inf = n.nodeType === 1 ? state.info.get(n) : undefined;
      if (inf) {
        const i = state.flat.indexOf(inf.first);
        if (i >= 0) {
          const j = state.flat.indexOf(inf.last, i);
          if (j >= 0) return { el: n, inf, i, j };
        }
      }
    }
    return null;
  }

  function lost(why) {
    state.why = why;
    return null;
  }

  // A node at the top level renders as lines of its own (so it can be spliced in or
  // out by itself) unless it is text or inline content, which joins its neighbours.
  function ownLines(n) {
    if (n.nodeType === 3) return !/\S/.test(n.data);
    if (n.nodeType !== 1) return true;
    if (SKIP_TAGS.has(n.tagName)) return true;
    if (!n.isConnected) return state.info.has(n) || !/\S/.test(n.textContent || "");
    const d = getComputedStyle(n).display;
    return d !== "inline" && d !== "contents";
  }

  // Where the lines of a new top-level node go: after the lines of the nearest earlier
  // sibling that has some, else before the next one's; null if an inline neighbour
  // would merge with it.
  function insertionPoint(n) {
    for (let p = n.previousSibling; p; p = p.previousSibling) {
      if (!ownLines(p)) return null;
      const inf = p.nodeType === 1 ? state.info.get(p) : undefined;
      const j = inf ? state.flat.indexOf(inf.last) : -1;
      if (j >= 0) return j + 1;
    }
    for (let q = n.nextSibling; q; q = q.nextSibling) {
      if (!ownLines(q)) return null;
      const inf = q.nodeType === 1 ? state.info.get(q) : undefined;
      const i = inf ? state.flat.indexOf(inf.first) : -1;
      if (i >= 0) return i;
    }
    return state.flat.length ? null : 0;
  }

  // Whether the nearest sibling in direction `dir` that renders anything is inline.
  function inlineBeside(n, dir) {
    for (; n; n = dir < 0 ? n.previousSibling : n.nextSibling) {
      if (!ownLines(n)) return true;
      if (n.nodeType === 1 && state.info.has(n)) return false;
    }
    return false;
  }

  // Top-level children added to or removed from <body>, as splices of `flat`; null when
  // inline content at the top level makes lines merge (a full pass then).
  function bodyChanges() {
    const splices = [];
    const records = state.bodyOps;
    state.bodyOps = [];
    for (const r of records) {
      if (r.removedNodes.length && (inlineBeside(r.previousSibling, -1) || inlineBeside(r.nextSibling, 1)))
        return null; // the runs on either side may join
      for (const n of r.removedNodes) {
        if (!ownLines(n)) return null;
        if (n.nodeType === 1 && n.isConnected) return null; // moved elsewhere: rare, be safe
        if (n.nodeType !== 1) continue;
        const inf = state.info.get(n);
        const i = inf ? state.flat.indexOf(inf.first) : -1;
        if (i < 0) continue; // it had rendered nothing
        const j = state.flat.indexOf(inf.last, i);
        if (j < 0) return null;
        state.info.delete(n);
        splices.push([i, j - i + 1, []]);
        applySplice(i, j - i + 1, []);
      }
      for (const n of r.addedNodes) {
        if (n.parentNode !== document.body) continue; // moved on again since
        if (!ownLines(n)) return null;
        if (n.nodeType !== 1) continue;
        if (state.info.has(n)) return null;
        const lines = [];
        const run = { text: "", node: null, space: false };
        walkElement(n, 0, ROOT_CTX, lines, run);
        if (run.text) return null;
        if (!lines.length) continue;
        const at = insertionPoint(n);
        if (at === null) return null;
        splices.push([at, 0, lines]);
        applySplice(at, 0, lines);
      }
    }
    return splices;
  }

  // The child of <body> that holds `n` (n itself included), or null.
  function topChild(n) {
    const body = document.body;
    for (let c = n; c && c !== body; c = parentOf(c)) if (c.parentNode === body) return c;
    return null;
  }

  // A child of <body> whose lines stand alone: not inline, no inline neighbours.
  function standsAlone(t) {
    return ownLines(t) && !inlineBeside(t.previousSibling, -1) && !inlineBeside(t.nextSibling, 1);
  }

  // Re-serialize a child of <body> that had no lines in `flat` (it rendered nothing):
  // its lines, if any, go in by themselves. Null when they cannot stand alone,
  // false when it still renders nothing, else the splice [i, old records, new records].
  function rewalkTop(t) {
    if (!t.isConnected || t.parentNode !== document.body || !standsAlone(t)) return null;
    const lines = [];
    const run = { text: "", node: null, space: false };
    walkElement(t, 0, ROOT_CTX, lines, run);
    if (run.text) return null;
    if (!lines.length) return false;
    const i = insertionPoint(t);
    if (i === null) return null;
    return [i, applySplice(i, 0, lines), lines];
  }

  function applySplice(i, count, lines) {
    const old = state.flat.splice(i, count, ...lines);
    for (const rec of old) rec.gone = true; // records never come back: membership is a flag
    state.total += chars(lines, 0, lines.length) - chars(old, 0, old.length);
    return old;
  }

  function deltaPass() {
    const ops = [];
    const probes = [];
    const oldSeen = new Map();
    const newSeen = new Map();
    const newData = new Map();
    const w = state.win;
    // The window bookkeeping for `old` lines at `i` having been replaced by `lines`.
    function account(i, old, lines) {
      const d = lines.length - old.length;
      if (i + old.length <= w.start && !(i === w.start && old.length === 0) && w.truncated) {
        w.start += d;
        w.end += d;
        w.above += countRefs(lines, 0, lines.length) - countRefs(old, 0, old.length);
        tally(tally(w.aboveRoles, lines, 0, lines.length, 1), old, 0, old.length, -1);
      } else if (i >= w.end && w.truncated) {
        w.below += countRefs(lines, 0, lines.length) - countRefs(old, 0, old.length);
        tally(tally(w.belowRoles, lines, 0, lines.length, 1), old, 0, old.length, -1);
      } else if (i >= w.start && i + old.length <= w.end) {
        ops.push([i - w.start, old.length, lines.map(lineText)]);
        nearestElement(i - 1, -1, probes);
        nearestElement(i + lines.length, 1, probes);
        w.end += d;
        for (const rec of old) if (rec.r && rec.e && !newSeen.has(rec.r)) oldSeen.set(rec.r, rec.t);
        for (const rec of lines) if (rec.r && rec.e) { newSeen.set(rec.r, rec.t); newData.set(rec.r, rec.e); }
      } else return false;
      return true;
    }
    let spliced = false;
    if (state.bodyOps.length) {
      // Splices are applied to `flat` as they are found; replay them on the window.
      const before = state.flat.slice();
      const splices = bodyChanges();
      if (!splices) return lost("unanchored");
      spliced = splices.length > 0;
      let shadow = before;
      for (const [i, count, lines] of splices) {
        const old = shadow.slice(i, i + count);
        shadow = shadow.slice(0, i).concat(lines, shadow.slice(i + count));
        if (!account(i, old, lines)) return lost("window-edge");
      }
    }
    const roots = [];
    const rewalk = new Set(); // children of <body> to re-serialize whole
    for (const n of state.dirty) {
      // A removed node's removal is recorded on its (connected) parent.
      if (!n.isConnected) continue;
      if (!state.info.has(n)) {
        // Inside a subtree that renders nothing (display:none, opacity 0) a
        // change cannot show; hiding the subtree itself dirties its root.
        const p = parentOf(n);
        if (p && p.nodeType === 1 && !p.checkVisibility({ opacityProperty: true })) continue;
      }
      const hit = escalate(n);
      if (hit) roots.push(hit.el);
      else {
        const t = topChild(n); // e.g. a top-level block that rendered nothing until now
        if (!t) return lost("unanchored");
        rewalk.add(t);
      }
    }
    state.dirty.clear();
    // Drop roots inside other roots.
    const rootSet = new Set(roots);
    const tops = [];
    for (const r of rootSet) {
      let inside = false;
      for (let p = parentOf(r); p; p = parentOf(p))
        if (rootSet.has(p) || rewalk.has(p)) { inside = true; break; }
      if (!inside && !rewalk.has(r)) tops.push(r);
    }
    for (let el of tops) {
      let hit = escalate(el);
      if (!hit) return lost("unanchored");
      let lines;
      for (;;) {
        el = hit.el;
        lines = [];
        let pending = false;
        if (el.isConnected) {
          const run = { text: "", node: null, space: false };
          state.level = levelOf(el);
          walkElement(el, hit.inf.depth, hit.inf.ctx, lines, run);
          state.level = 0;
          pending = !!run.text; // text that would merge with what follows
        }
        const inf2 = state.info.get(el);
        if (!pending && lines.length && inf2 && inf2.first === lines[0] && inf2.last === lines[lines.length - 1])
          break;
        // Empty now, or no longer a block of its own: widen to the parent. A child of
        // <body> between blocks can go empty by itself (body has no lines to re-walk).
        const up = parentOf(el);
        if (up === document.body && el.parentNode === up && !pending && !lines.length && standsAlone(el)) {
          state.info.delete(el);
          break;
        }
        hit = up ? escalate(up) : null;
        if (!hit) return lost("unanchored");
      }
      const { i, j, inf } = hit;
      const old = state.flat.slice(i, j + 1);
      // Ancestors that began or ended with the old lines now begin/end with the new ones.
      for (let p = parentOf(el); p; p = parentOf(p)) {
        const pi = state.info.get(p);
        if (!pi) continue;
        let touched = false;
        if (pi.first === inf.first || pi.first === old[0]) { pi.first = lines[0]; touched = true; }
        if (pi.last === inf.last || pi.last === old[old.length - 1]) { pi.last = lines[lines.length - 1]; touched = true; }
        if (!touched) break;
      }
      applySplice(i, old.length, lines);
      if (!account(i, old, lines)) return lost("window-edge");
    }
    for (const t of rewalk) {
      const done = rewalkTop(t);
      if (done === null) return lost("unanchored");
      if (!done) continue;
      spliced = true;
      if (!account(done[0], done[1], done[2])) return lost("window-edge");
    }
    if ((tops.length || spliced) && compactWanted(state.flat, state.total) !== state.compact) return lost("compact");
    if (!refit(ops, oldSeen, newSeen, newData)) return lost("window-moved");
    if ((tops.length || spliced) && probesMoved(probes, newData)) remeasure(newData);
    const added = [];
    const removed = [];
    const changed = [];
    const elements = [];
    for (const ref of state.moved) elements.push(newData.get(ref));
    state.moved = [];
    for (const [ref, t] of newSeen) {
      if (!oldSeen.has(ref)) {
        if (!state.seen.has(ref)) added.push(ref);
        else if (state.seen.get(ref) !== t) changed.push(ref);
      } else if (oldSeen.get(ref) !== t) changed.push(ref);
      state.seen.set(ref, t);
      elements.push(newData.get(ref));
    }
    for (const ref of oldSeen.keys()) {
      if (!newSeen.has(ref) && state.seen.has(ref)) {
        removed.push(ref);
        state.seen.delete(ref);
      }
    }
    return { full: false, ops, elements, added, removed, changed };
  }

  function moved(rec) {
    const g = geom((rec.box || rec.n).getBoundingClientRect(), rec.e[10] === 1);
    const e = rec.e;
    return g[0] !== e[6] || g[1] !== e[7] || g[2] !== e[8] || g[3] !== e[9];
  }

  function nearestElement(i, step, probes) {
    const flat = state.flat;
    for (let n = 0; n < 32 && i >= 0 && i < flat.length; n++, i += step) {
      const rec = flat[i];
      if (rec.e && !rec.f) {
        probes.push(rec);
        return;
      }
    }
  }

  // Layout moves neighbours first: if the nearest elements before and after
  // each changed region stayed put, nothing else moved either (checked
  // against full passes by the tests), so the window is not re-measured.
  function probesMoved(probes, newData) {
    for (const rec of probes) {
      if (newData.has(rec.r) || !rec.n.isConnected) continue;
      if (moved(rec)) return true;
    }
    return false;
  }

  // A change can move everything after it without touching it: re-read the
  // geometry of the window's elements and ship the records that moved.
  function remeasure(newData) {
    const flat = state.flat;
    const w = state.win;
    for (let i = w.start; i < w.end; i++) {
      const rec = flat[i];
      if (!rec.e || rec.f || newData.has(rec.r) || !rec.n.isConnected) continue;
      const g = geom((rec.box || rec.n).getBoundingClientRect(), rec.e[10] === 1);
      const e = rec.e;
      if (g[0] !== e[6] || g[1] !== e[7] || g[2] !== e[8] || g[3] !== e[9]) {
        rec.e = [...e.slice(0, 6), ...g];
        newData.set(rec.r, rec.e);
        state.moved.push(rec.r);
      }
    }
  }

  function markers() {
    const w = state.win;
    const flat = state.flat;
    if (w.end <= w.start) return [0, 0];
    const top = firstAtOrBelow(flat, w.start, w.end, 0) - w.start;
    const bottom = firstAtOrBelow(flat, w.start, w.end, state.vh) - w.start;
    return [top, bottom];
  }

  // ---------- entry points ----------

  function observe(opts) {
    const t0 = performance.now();
    opts = opts || {};
    state.pass++;
    start(document);
    measureScroll();
    if (opts.maxChars && opts.maxChars !== state.maxChars) {
      state.maxChars = opts.maxChars;
      needFull("cap-changed");
    }
    let res = null;
    const base = state.version;
    if (opts.full) state.why = "forced";
    else if (base === 0) state.why = "first";
    else if (opts.base !== base) state.why = "base";
    if (!state.needFull) checkLiveStates();
    if (!opts.full && !state.needFull && opts.base === base) {
      if (!state.needFull) {
        res = state.dirty.size || state.bodyOps.length || (state.win.truncated && state.scrolled)
          ? deltaPass()
          : { full: false, ops: [], elements: [], added: [], removed: [], changed: [] };
      }
    }
    state.scrolled = false;
    if (!res) {
      res = fullPass();
      res.why = state.why || "";
    }
    state.why = "";
    state.version += 1;
    res.version = state.version;
    res.base = base;
    res.url = location.href;
    res.title = document.title;
    res.scroll = [state.sx, state.sy, state.vw, state.vh];
    res.marks = markers();
    res.above = state.win.above;
    res.below = state.win.below;
    const cover = coverNote();
    if (cover) res.cover = cover;
    if (state.suspects.length) res.hosts = state.suspects;
    state.suspects = [];
    if (state.win.truncated)
      res.notes = notes();
    res.ms = performance.now() - t0;
    return JSON.stringify(res);
  }

  // A full pass that leaves the incremental state untouched: the oracle that
  // tests hold deltas against (same refs, same world).
  function snapshot(opts) {
    opts = opts || {};
    state.pass++;
    const keys = [
      "info", "flat", "win", "total", "seen", "dirty", "needFull", "scrolled", "maxChars", "moved",
      "labels", "labelRoots", "compact", "collapsed", "candidates", "covers",
    ];
    const saved = {};
    for (const k of keys) saved[k] = state[k];
    try {
      state.info = new WeakMap();
      state.win = { ...state.win };
      state.dirty = new Set();
      state.moved = [];
      if (opts.maxChars) state.maxChars = opts.maxChars;
      start(document);
      measureScroll();
      const res = fullPass();
      Object.assign(res, {
        version: 0, base: 0, url: location.href, title: document.title,
        scroll: [state.sx, state.sy, state.vw, state.vh], marks: markers(),
        above: state.win.above, below: state.win.below,
      });
      if (state.win.truncated)
        res.notes = notes();
      const cover = coverNote();
      if (cover) res.cover = cover;
      return JSON.stringify(res);
    } finally {
      for (const k of keys) state[k] = saved[k];
    }
  }

  function element(ref) {
    const w = state.byRef.get(ref);
    const el = w && w.deref();
    return el && el.isConnected ? el : null;
  }

  // What the ref's element is now, to check it against what the model saw: the role its
  // line gave it, and its name as the walk computes it now.
  function describe(ref) {
    const known = state.byRef.has(ref);
    const el = element(ref);
    if (!el) return JSON.stringify({ known, connected: false });
    state.pass++;
    const tag = el.tagName;
    let role = state.roles.get(el) || roleOf(el, tag);
    const label = tag === "LABEL" && el.control;
    if (label) role = roleOf(el.control, el.control.tagName) || "clickable";
    if (!role) {
      const style = getComputedStyle(el);
      const p = el.parentElement;
      const ctx = { ...ROOT_CTX, pointer: !!p && getComputedStyle(p).cursor === "pointer" };
      const i = isInteractive(el, tag, "", style, ctx);
      role = i === "clickable" ? "clickable" : tag.toLowerCase();
    }
    const name = label ? clip(readableText(el, MAX_NAME, true), MAX_NAME) : nameOf(el, tag, role);
    const host = state.sinks.get(el);
    const r = (host && host.isConnected ? host : el).getBoundingClientRect();
    return JSON.stringify({
      known, connected: true, tag: tag.toLowerCase(), role, name,
      bbox: [r.x, r.y, r.width, r.height],
    });
  }

  // One element's content in full, collapsed regions opened: what `extract(ref)` shows
  // for a folded list of links. It leaves the incremental state as it was.
  function region(ref) {
    const el = element(ref);
    if (!el) return JSON.stringify({ status: state.byRef.has(ref) ? "stale" : "unknown" });
    const keys = ["info", "compact", "collapsed", "candidates", "covers"];
    const saved = {};
    for (const k of keys) saved[k] = state[k];
    try {
      state.pass++;
      const inf = state.info.get(el);
      state.info = new WeakMap();
      state.compact = false;
      state.collapsed = new Map();
      state.candidates = new Set();
      measureScroll();
      const out = [];
      const run = { text: "", node: null, space: false };
      state.level = levelOf(el);
      walkElement(el, 0, inf ? inf.ctx : ROOT_CTX, out, run);
      flush(out, 0, run);
      return JSON.stringify({
        status: "ok", lines: out.map(lineText), elements: out.filter((r) => r.e).map((r) => r.e),
      });
    } finally {
      for (const k of keys) state[k] = saved[k];
      state.level = 0;
    }
  }

  // The widget a keyboard sink's line stands on (clicks go there), or null.
  function sinkHost(el) {
    const host = state.sinks.get(el);
    return host && host.isConnected ? host : null;
  }

  // A shadow root the page closed, found by the driver over CDP: walked like an open one.
  function adoptShadow(arg) {
    const host = arg && arg.host;
    const root = arg && arg.root;
    if (!host || !root || root.nodeType !== 11 || root.host !== host) return false;
    if (state.closedRoots.get(host) === root) return false;
    state.closedRoots.set(host, root);
    markDirty(host);
    return true;
  }

  // A yardstick for `bench extract`: visit every node and return n characters, the least
  // any serializer costs (it reads no style, box or text).
  function floor(n) {
    let k = 0;
    const w = document.createTreeWalker(document.documentElement);
    while (w.nextNode()) k += 1;
    return "x".repeat(Math.max(0, Math.min(n | 0, 1 << 24))) + k;
  }

  // `bench extract`'s second yardstick: the least a serializer in this format must do.
  // Each element's visibility, a ref and a box for each control, the text between them;
  // no names, values, states, clipping, cursors, frames, shadow roots or bookkeeping for
  // deltas. A full observation does all of this and more: this is a floor under it.
  const BARE_SKIP = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"]);
  const BARE_CONTROLS = new Set(["A", "BUTTON", "INPUT", "SELECT", "TEXTAREA", "SUMMARY"]);
  const SHOWN = { opacityProperty: true, visibilityProperty: true };
  const bareRefs = new WeakMap();
  let bareNext = 1;
  function bare() {
    const lines = [];
    let run = "";
    const flush = () => {
      const t = collapse(run);
      if (t) lines.push(t);
      run = "";
    };
    const walk = (el) => {
      for (let c = el.firstChild; c; c = c.nextSibling) {
        if (c.nodeType === 3) run += c.data;
        if (c.nodeType !== 1 || BARE_SKIP.has(c.tagName) || !c.checkVisibility(SHOWN)) continue;
        if (BARE_CONTROLS.has(c.tagName) || c.hasAttribute("role") || c.hasAttribute("tabindex")) {
          flush();
          let ref = bareRefs.get(c);
          if (!ref) bareRefs.set(c, (ref = bareNext++));
          const r = c.getBoundingClientRect();
          const box = [r.x, r.y, r.width, r.height].map(Math.round).join(",");
          lines.push(`[${ref}] ${c.tagName.toLowerCase()} ${box}`);
        } else walk(c);
      }
    };
    if (document.body) walk(document.body);
    flush();
    return lines.join("\n");
  }

  function init(opts) {
    if (opts && typeof opts.refBase === "number" && state.nextRef === 1) state.refBase = opts.refBase;
    return true;
  }

  return {
    observe, snapshot, describe, element, init, refFor, floor, bare, sinkHost, adoptShadow, region,
    shadowOf,
    version: () => state.version,
  };
})()
