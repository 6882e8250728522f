  // ---------- icons ----------
  // A text-less icon is named by aria-label, title, alt or an SVG <title>; failing those,
  // by the words of its class ("fa fa-trash" -> "trash").
  const ICON_WORDS = new Set(VOCAB.iconWords);
  const CLASS_NOISE = new Set(VOCAB.classNoise);

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
  const ACTION_WORDS = new Set(VOCAB.actionWords);

  // Tag names as the DOM spells them: upper case in HTML, but an inline <svg> is "svg".
  const ICON_TAGS = new Set(VOCAB.iconTags.map((t) => (t === "svg" ? t : t.toUpperCase())));

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

