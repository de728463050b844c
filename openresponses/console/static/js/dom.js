// Building the DOM safely: every piece of data becomes a text node or an attribute value,
// never markup: no module of the console parses HTML from strings.

/**
 * Create an element. `attrs`: `class`, `text`, `dataset`, `on` ({event: handler}), boolean
 * attributes (true/false), any other attribute as a string. Children: nodes, strings (text
 * nodes), arrays of them, null/undefined/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = String(value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (name === "value") el.value = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** Append children (see `h`) to `parent`. */
export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace every child of `parent`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A collapsible section: `<details><summary>…</summary>…</details>`. */
export function details(summary, body, { open = false, cls = "" } = {}) {
  return h("details", { class: `item ${cls}`.trim(), open }, h("summary", {}, summary), body);
}

/** JSON shown as preformatted text. */
export function jsonBlock(value) {
  return h("pre", { class: "json", tabindex: "0" }, prettyJson(value));
}

export function prettyJson(value) {
  if (typeof value === "string") {
    try { return JSON.stringify(JSON.parse(value), null, 2); } catch { return value; }
  }
  return JSON.stringify(value, null, 2);
}

/** Seconds since the epoch as a local date and time. */
export function when(seconds) {
  if (!seconds) return "—";
  return new Date(seconds * 1000).toLocaleString();
}

/** A short notice at the bottom of the screen. */
export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  const note = h("div", { class: `note ${kind}` }, message);
  box.append(note);
  setTimeout(() => note.remove(), 5000);
}

/** A labelled form field: `<label>` + control, with an optional hint. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h("div", { class: "field" },
    h("label", { for: id }, label), control, hint ? h("small", { class: "hint" }, hint) : null);
}
