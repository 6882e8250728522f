  // ---------- scroll ----------

  const SCROLLS = /auto|scroll|overlay/;

  function scrollsOn(n, horizontal) {
    const s = getComputedStyle(n);
    return horizontal
      ? SCROLLS.test(s.overflowX) && n.scrollWidth > n.clientWidth
      : SCROLLS.test(s.overflowY) && n.scrollHeight > n.clientHeight;
  }

  // The area a scroll on `el` moves, along the direction asked: el itself; else a
  // scrolling box inside it that fills most of it (a widget whose ref is its frame);
  // else the nearest scrolling ancestor. null: the page.
  function scroller(el, horizontal) {
    const doc = el.ownerDocument;
    if (el !== doc.body && el !== doc.documentElement && scrollsOn(el, horizontal)) return el;
    const outer = el.getBoundingClientRect();
    const area = outer.width * outer.height;
    const queue = [el];
    for (let i = 0; i < queue.length && i < 400; i++) {
      for (const c of queue[i].children) {
        const r = c.getBoundingClientRect();
        if (r.width < 1 || r.height < 1) continue;
        if (r.width * r.height * 2 >= area && scrollsOn(c, horizontal)) return c;
        queue.push(c);
      }
    }
    for (let n = up(el); n; n = up(n)) {
      if (n === doc.body || n === doc.documentElement) return null;
      if (scrollsOn(n, horizontal)) return n;
    }
    return null;
  }

  // About one screen of the area: its size less a little overlap, so the line that was
  // last in view is still in view (a person's Page Down).
  function pageOf(size) {
    return Math.max(1, Math.round(size - Math.min(40, size * 0.1)));
  }

  function scroll(o) {
    begin();
    let box = null;
    let doc = document;
    const horizontal = o.direction === "left" || o.direction === "right";
    if (o.ref !== null && o.ref !== undefined) {
      const el = api.element(o.ref);
      if (!el) return { status: "stale" };
      let inner = null;
      if (el.tagName === "IFRAME" || el.tagName === "FRAME") {
        try {
          inner = el.contentDocument;
        } catch (e) {
          inner = null;
        }
      }
      if (inner) doc = inner; // a same-origin frame: scroll its document
      else {
        box = scroller(el, horizontal);
        doc = el.ownerDocument;
      }
    }
    const win = doc.defaultView;
    const se = doc.scrollingElement || doc.documentElement;
    const area = box || se;
    const size = box ? (horizontal ? box.clientWidth : box.clientHeight) : horizontal ? win.innerWidth : win.innerHeight;
    const amount = o.amount ?? pageOf(size);
    let dx = 0;
    let dy = 0;
    if (o.direction === "down") dy = amount;
    else if (o.direction === "up") dy = -amount;
    else if (o.direction === "right") dx = amount;
    else if (o.direction === "left") dx = -amount;
    else if (o.direction === "top") dy = -area.scrollTop;
    else if (o.direction === "bottom") dy = area.scrollHeight;
    const before = [area.scrollLeft, area.scrollTop];
    (box || win).scrollBy({ left: dx, top: dy, behavior: "instant" });
    const moved = [area.scrollLeft - before[0], area.scrollTop - before[1]];
    const atEnd = horizontal
      ? area.scrollLeft + area.clientWidth >= area.scrollWidth - 1
      : area.scrollTop + area.clientHeight >= area.scrollHeight - 1;
    return { status: "ok", moved, atEnd, atTop: area.scrollTop <= 0, container: box ? who(box) : null };
  }

