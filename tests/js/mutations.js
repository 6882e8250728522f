// Random DOM edits for the incremental-vs-full tests. Evaluated as an expression:
// (name, r) => applies mutation `name` using the random number r in [0, 1).
(name, r) => {
  // querySelectorAll over the light DOM and every open shadow root.
  const Q = (sel) => {
    const out = [...document.querySelectorAll(sel)];
    const walk = (root) => {
      for (const e of root.querySelectorAll("*")) {
        if (e.shadowRoot) {
          out.push(...e.shadowRoot.querySelectorAll(sel));
          walk(e.shadowRoot);
        }
      }
    };
    walk(document);
    return out;
  };
  const pick = (sel, x = r) => {
    const l = Q(sel);
    return l.length ? l[Math.floor(x * l.length) % l.length] : null;
  };
  const n = Math.floor(r * 1e6);
  const edits = {
    append() {
      const b = document.createElement("button");
      b.textContent = "New " + n;
      (pick("ul,ol,div") || document.body).appendChild(b);
    },
    remove() {
      const t = pick("body *:not(script):not(style)");
      if (t && t !== document.body) t.remove();
    },
    text() {
      const t = pick("p,li,span,button,h2,div");
      if (t) t.textContent = "T" + n;
    },
    hide() {
      const t = pick("body *");
      if (t && t !== document.body) t.style.display = t.style.display === "none" ? "" : "none";
    },
    attr() {
      const t = pick("button,a,input");
      if (t) t.setAttribute("aria-label", "L" + n);
    },
    hiddenAttr() {
      const t = pick("section,li,p");
      if (t) t.hidden = !t.hidden;
    },
    move() {
      const a = pick("li,p,button");
      const b = pick("li,p,button", 1 - r);
      if (a && b && !a.contains(b) && !b.contains(a)) b.parentNode.insertBefore(a, b);
    },
    input() {
      const t = pick("input[type=text],input:not([type]),textarea");
      if (t) {
        t.value = "v" + n;
        t.dispatchEvent(new Event("input", { bubbles: true }));
      }
    },
    check() {
      const t = pick("input[type=checkbox]");
      if (t) t.click();
    },
    wrap() {
      const t = pick("p,li");
      if (t) {
        const s = document.createElement("section");
        t.parentNode.insertBefore(s, t);
        s.appendChild(t);
      }
    },
    inline() {
      const t = pick("p,li");
      if (t) t.insertAdjacentHTML("beforeend", ` <b>bold ${n % 100}</b> <a href="#x">more</a>`);
    },
  };
  edits[name]();
  return Object.keys(edits);
}
