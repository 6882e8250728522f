  // ---------- UI still on its way: animations the action started ----------

  function shown(el) {
    if (!el.isConnected) return false;
    if (el.checkVisibility && !el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
    const r = el.getBoundingClientRect();
    return r.width >= 1 && r.height >= 1;
  }

  // When the last CSS animation or transition that the action started and that is
  // still revealing something (its element not shown yet: in a show delay, fading in
  // from nothing, growing from zero size) will end, or 0. Ones on the target itself, its
  // ancestors or its content are the target's own feedback (hover, press, ripple);
  // endless ones are spinners.
  function revealingUntil(since) {
    let until = 0;
    const docs = [document];
    const own = watch.target && watch.target.ownerDocument;
    if (own && own !== document) docs.push(own);
    for (const doc of docs) {
      if (!doc.getAnimations) continue;
      for (const a of doc.getAnimations()) {
        if (a.playState !== "running" && !a.pending) continue;
        const e = a.effect;
        const el = e && e.target;
        if (!el || el.nodeType !== 1) continue;
        const start = a.startTime;
        // Started before the action (a frame's time may precede the input by a frame).
        if (start !== null && start < since - 34) continue;
        const timing = e.getComputedTiming();
        if (!Number.isFinite(timing.endTime)) continue;
        const t = watch.target;
        if (t && (el === t || within(el, t) || within(t, el))) continue;
        if (shown(el)) continue;
        const rate = Math.abs(a.playbackRate) || 1;
        until = Math.max(until, (start === null ? now() : start) + timing.endTime / rate);
        if (!mutatedAround(el, since)) watch.restyled = true;
      }
    }
    return until;
  }

  // Whether the DOM changed at el or above it since `since`: if not, what the animation
  // reveals is a change of style alone, which no MutationObserver reports.
  function mutatedAround(el, since) {
    for (let n = el; n && n.nodeType === 1; n = up(n)) {
      const e = watch.recent.get(n);
      if (e && e.last >= since) return true;
    }
    return false;
  }

  // Until when settle must hold for UI the action set on its way (0: it need not): a
  // popup the target announced, until it shows; an animation revealing something, until
  // it ends. Never past `uiMs` after the action.
  function uiHold(t, uiMs) {
    if (!uiMs || watch.acted < 0) return 0;
    const end = watch.acted + uiMs;
    if (t >= end) return 0;
    let until = watch.expect && !watch.appeared ? end : 0;
    const a = revealingUntil(watch.acted);
    if (a > t) until = Math.max(until, Math.min(a, end));
    return until > t ? until : 0;
  }

  // A cross-document navigation this document started (link, form, location=...) is
  // announced by the Navigation API as soon as it begins, often before its request
  // shows up on the network: settle reports it rather than time a quiet window on a
  // document about to go away. Times are on the wall clock, comparable across documents.
  const nav = { at: 0, count: 0, event: null, waiters: new Set() }; // count: navigate events seen
  const navigation = globalThis.navigation;
  const wallNow = () => performance.timeOrigin + performance.now();
  if (navigation && typeof navigation.addEventListener === "function") {
    navigation.addEventListener("navigate", (e) => {
      if (!e.isTrusted || !e.destination || e.destination.sameDocument || e.downloadRequest) return;
      nav.at = wallNow();
      nav.count += 1;
      nav.event = e;
      queueMicrotask(() => {
        for (const w of [...nav.waiters]) w(); // after the page's listeners: they may cancel it
      });
    });
    const over = () => {
      nav.at = 0;
      nav.event = null;
    };
    navigation.addEventListener("navigatesuccess", over);
    navigation.addEventListener("navigateerror", over);
  }

  // The event that will start one (a trusted link click or form submission) can come a
  // task earlier than the navigation itself: settle holds its quiet window for it a
  // little while (EXPECT_MS), so a navigation starting just after the action is not missed.
  const EXPECT_MS = 150;
  const expected = { at: 0, event: null };
  function expect(e) {
    expected.at = now();
    expected.event = e;
  }
  function navigatingLink(e) {
    for (const n of e.composedPath()) {
      if (n.nodeType !== 1 || (n.localName !== "a" && n.localName !== "area")) continue;
      if (!n.href || n.hasAttribute("download")) return false;
      const target = (n.getAttribute("target") || "").toLowerCase();
      if (target && target !== "_self" && target !== "_top" && target !== "_parent") return false;
      let url;
      try {
        url = new URL(n.href, document.baseURI);
      } catch (_) {
        return false;
      }
      if (url.protocol === "javascript:") return false;
      const here = new URL(location.href);
      return !(url.hash && url.origin === here.origin && url.pathname === here.pathname && url.search === here.search);
    }
    return false;
  }
  document.addEventListener("click", (e) => {
    if (e.isTrusted && navigatingLink(e)) expect(e);
  }, true);
  document.addEventListener("submit", (e) => {
    if (!e.isTrusted) return;
    const method = ((e.submitter && e.submitter.getAttribute("formmethod")) || e.target.method || "").toLowerCase();
    if (method !== "dialog") expect(e);
  }, true);
  function awaited() {
    const e = expected.event;
    if (!e || e.defaultPrevented || now() - expected.at >= EXPECT_MS) return false;
    return !(nav.at && nav.at >= performance.timeOrigin + expected.at); // not announced yet
  }

  // When a cross-document navigation announced after `since` is still on its way, or 0.
  function leaving(since) {
    if (!nav.at || nav.at <= since) return 0;
    if (nav.event && nav.event.defaultPrevented) return 0; // the page cancelled it
    if (navigation && navigation.transition) return 0; // intercepted: same-document work
    return nav.at;
  }

  // Focus `t`; where the document began to go meanwhile (its focus handler navigated and
  // the page did not cancel it), or "": keystrokes sent now would land in the next page.
  function focusStaying(t) {
    const count = nav.count;
    t.focus({ preventScroll: true });
    if (nav.count === count || !leaving(0)) return "";
    return (nav.event && nav.event.destination && nav.event.destination.url) || "another page";
  }

  function settle(o) {
    watchRoot(document);
    const quiet = o.quietMs ?? 50;
    const limit = o.timeoutMs ?? 5000;
    const uiMs = o.uiMs ?? 0;
    const t0 = now();
    // A document born after the action began (it navigated) lived wholly after it: its
    // calm counts from when the watch began, not from this call, which may come long
    // after its load. Otherwise the action may still be acting: calm starts now.
    const born = o.bornAfter && performance.timeOrigin >= o.bornAfter && watch.since >= 0;
    const from = born ? Math.min(watch.since, t0) : t0;
    const calmAt = (t) => t - Math.max(watch.last, from);
    const since = o.navSince ?? 0;
    const away = leaving(since);
    if (away) return Promise.resolve({ quiet: false, ms: 0, navigating: away });
    return new Promise((resolve_) => {
      const onNav = () => {
        const at = leaving(since);
        if (at) resolve({ quiet: false, ms: now() - t0, navigating: at });
      };
      const resolve = (v) => {
        nav.waiters.delete(onNav);
        resolve_(v);
      };
      nav.waiters.add(onNav);
      const tick = () => {
        const t = now();
        if (awaited() && t - t0 < limit) return void setTimeout(tick, 2);
        if (document.readyState === "loading" && t - t0 < limit) {
          // Still parsing (a script or stylesheet holds the parser): not quiet yet.
          document.addEventListener("DOMContentLoaded", tick, { once: true });
          return void setTimeout(tick, limit - (t - t0));
        }
        const calm = calmAt(t);
        const hold = uiHold(t, uiMs);
        const done = (ok) => resolve({ quiet: ok, ms: t - t0, churn: churnTexts(), restyled: watch.restyled });
        if (calm >= quiet && !hold) return done(true);
        if (t - t0 >= limit) return done(false);
        // Holding for UI: look again every few ms, so UI that shows ends the hold early.
        const wait = calm >= quiet ? Math.min(hold - t, 16) : quiet - calm;
        setTimeout(tick, Math.max(1, Math.min(wait, limit - (t - t0))));
      };
      setTimeout(tick, Math.min(Math.max(quiet - calmAt(t0), 0), limit));
    });
  }

  // Resolves on the next counted mutation, or after o.timeoutMs: woken by the
  // MutationObserver itself, so a long wait (the agent watching while the model
  // thinks) costs the page nothing, not a poll on every animation frame.
  function changed(o) {
    watchRoot(document);
    const t0 = now();
    const limit = o.timeoutMs ?? 1000;
    return new Promise((resolve) => {
      let timer = 0;
      const done = (v) => {
        watch.waiters.delete(wake);
        clearTimeout(timer);
        resolve(v);
      };
      const wake = () => {
        if (watch.last > t0) done(true);
      };
      watch.waiters.add(wake);
      timer = setTimeout(() => done(false), Math.max(limit, 0));
    });
  }

