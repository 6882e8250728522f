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

