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
//
// Layout: the files of js/serializer/ are fragments of this one closure, one concept
// each (this one: the constants and the per-document state; then helpers, the text a
// person reads, icons, pointer cursors, labels, roles and names, the walk, folding of
// link runs, change tracking, passes, entry points), joined in the order of
// SERIALIZER_FILES in extractors/driver.py; no bundler. The roles, name rules and word
// lists come in as VOCAB (js/vocabulary.json, also read by extractors/offline.py).
//
// Lifecycle: `state` is born with its document and dies with it. The closure runs once
// per document (every new document gets a fresh world, where the driver installs the
// script again), nothing outlives a navigation, and `init` only sets the ref base of a
// child frame's copy before its first pass.
(() => {
  "use strict";

  const SKIP_TAGS = new Set(VOCAB.skipTags.map((t) => t.toUpperCase()));
  const NAME_FROM_CONTENT = new Set(VOCAB.nameFromContent);
  const INTERACTIVE_ROLES = new Set(VOCAB.interactiveRoles);
  const COMPOSITE_ROLES = new Set(VOCAB.compositeRoles);
  const TEXTBOX_TYPES = new Set(VOCAB.textboxTypes);
  const PLAIN_INPUT_ROLES = VOCAB.plainInputRoles;
  const MAX_NAME = VOCAB.maxName;
  const MAX_VALUE = VOCAB.maxValue;
  const MAX_LINE = VOCAB.maxLine; // a longer run of text is broken into lines at word boundaries
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

