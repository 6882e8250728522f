// In-page half of acting on refs. Loaded as a function expression that takes the
// serializer's api and runs in the same world (the CDP isolated world on Chromium),
// so refs resolve to the very elements the model saw and page scripts can neither
// see nor patch any of this.
//
// Python calls only the entry points returned at the bottom:
//   prepare(o)      resolve a ref, check it is still what the model saw, make it
//                   actionable (scrolled into view in every box that clips it, visible,
//                   enabled, stable, hit at the centre of what shows of it) and return
//                   the point for trusted input, in this frame's top accessible viewport
//                   (same-origin frame offsets included); with o.opens, note whether
//                   the target announces a popup (settle waits for it) or likely opens
//                   one unannounced (`late`)
//   frameOffset(o)  map a point inside a child iframe (given by its ref) to this frame
//   begin()         mark the start of an action (for settle's background detection)
//   settle(o)       resolve once the DOM has been quiet for o.quietMs and, within o.uiMs
//                   of the action, UI it set on its way has shown (or o.timeoutMs), or at
//                   once with `navigating` when the document is being replaced
//   changed(o)      resolve on the next counted mutation (or o.timeoutMs)
//   focus, setValue, selectOptions, findOption, checked, scroll, fileInput, focusElement, setFiles,
//   hasText, state, element
//
// Nothing here sleeps for a fixed time: every wait is a poll on animation frames, a
// timer to the next moment something can change, or a wake-up from the MutationObserver,
// bounded by a deadline the caller passes in.
(api) => {
  "use strict";

  const now = () => performance.now();
  const SPECIAL_INPUTS = new Set(["color", "date", "time", "datetime-local", "month", "range", "week"]);
  const TEXT_INPUTS = new Set(["", "text", "email", "number", "password", "search", "tel", "url"]);
  const CARET_INPUTS = new Set(["", "text", "search", "tel", "url", "password"]);
  const ROLES = new Set([...api.vocab.interactiveRoles, ...api.vocab.actionableRoles]);
  const semantic = (d) => !!d.role && (d.role !== d.tag || ROLES.has(d.role));
  const collapse = (s) => (s || "").replace(/\s+/g, " ").trim();

  // One animation frame, or 50 ms where frames stall (hidden tabs): never unbounded.
  function nextFrame() {
    return new Promise((resolve) => {
      let done = false;
      const fin = () => {
        if (!done) {
          done = true;
          resolve();
        }
      };
      requestAnimationFrame(fin);
      setTimeout(fin, 50);
    });
  }

