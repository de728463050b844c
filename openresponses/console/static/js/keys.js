// Keys (keys mode, admin key): create a gateway key with its allowed models and limits (the
// key is shown once, with a copy button), list keys, change a key's name, allowed models and
// limits (POST /v1/admin/keys/{id}), revoke one.

import { api } from "./api.js";
import { field, h, replace, toast, when } from "./dom.js";
import { session } from "./session.js";

const LIMITS = [["requests_per_minute", "Requests / minute"], ["requests_per_day", "Requests / day"],
  ["tokens_per_minute", "Tokens / minute"]];

const globs = (text) => text.split(/[\s,]+/).filter(Boolean);

/** Limits from the form's text values; an empty one is left out, or set to `empty` if given. */
function parsedLimits(limits, empty) {
  const out = {};
  for (const [field, value] of Object.entries(limits)) {
    if (value === "") {
      if (empty !== undefined) out[field] = empty;
      continue;
    }
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0) throw new Error(`${field}: a whole number ≥ 0.`);
    out[field] = number;
  }
  return out;
}

function named(name) {
  const trimmed = name.trim();
  if (!trimmed) throw new Error("Name the key.");
  return trimmed;
}

/** The create body from the form's values; throws Error naming a bad field. */
export function keyRequest({ name, allowed, limits, expiresDays }) {
  const body = { name: named(name), allowed: globs(allowed), limits: parsedLimits(limits) };
  if (expiresDays !== "") {
    const days = Number(expiresDays);
    if (!(days > 0)) throw new Error("Expires in: a number of days > 0.");
    body.expires_in = Math.round(days * 86400);
  }
  return body;
}

function state(key) {
  if (key.revoked) return h("span", { class: "status failed" }, "revoked");
  if (key.expires_at && key.expires_at * 1000 < Date.now()) return h("span", { class: "status incomplete" }, "expired");
  return h("span", { class: "status completed" }, "active");
}

function limitsText(limits) {
  const set = LIMITS.filter(([k]) => limits[k] !== null && limits[k] !== undefined)
    .map(([k, label]) => `${limits[k]} ${label.toLowerCase()}`);
  return set.length ? set.join(", ") : "defaults";
}

function shownOnce(created) {
  const value = h("input", { readonly: true, value: created.key, class: "mono", "aria-label": "New key",
    on: { focus: (e) => e.target.select() } });
  const copy = h("button", { type: "button", on: { click: async () => {
    try { await navigator.clipboard.writeText(created.key); toast("Key copied."); } catch {
      value.select(); toast("Select and copy the key (clipboard unavailable).", "error");
    }
  } } }, "Copy");
  return h("div", { class: "once", role: "alert" },
    h("p", {}, h("b", {}, `Key “${created.name}” created. `), "It is shown now and never again."),
    h("div", { class: "row" }, value, copy));
}

async function loadKeys(tbody) {
  try {
    const listed = await api("/v1/admin/keys", { admin: true });
    const keys = [...listed.data].reverse();
    replace(tbody, keys.length ? keys.map((key) => keyRow(key, tbody))
      : h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No keys yet.")));
  } catch (err) {
    replace(tbody, h("tr", {}, h("td", { colspan: 8, class: "error" }, err.message)));
  }
}

/** The update body from the edit form's values: the whole form, so an emptied limit goes back
 * to the gateway's default (null) and emptied models mean every model. Throws Error. */
export function keyUpdate({ name, allowed, limits }) {
  return { name: named(name), allowed: globs(allowed), limits: parsedLimits(limits, null) };
}

function editRow(key, tbody, close) {
  const name = h("input", { name: "name", required: true, value: key.name });
  const allowed = h("input", { name: "allowed", value: key.allowed.join(", "), placeholder: "all models" });
  const limits = Object.fromEntries(LIMITS.map(([k]) => [k, h("input", { name: k, type: "number", min: 0,
    inputmode: "numeric", placeholder: "default", value: key.limits[k] ?? "" })]));
  const form = h("form", { class: "grid-form", "aria-label": `Edit ${key.name}`, on: { submit: async (e) => {
    e.preventDefault();
    let body;
    try {
      body = keyUpdate({ name: name.value, allowed: allowed.value,
        limits: Object.fromEntries(Object.entries(limits).map(([k, el]) => [k, el.value])) });
    } catch (err) { toast(err.message, "error"); return; }
    try {
      const updated = await api(`/v1/admin/keys/${encodeURIComponent(key.id)}`, { method: "POST", body, admin: true });
      toast(`Saved ${updated.name}: it applies from the key's next request.`);
      loadKeys(tbody);
    } catch (err) { toast(err.message, "error"); }
  } } }, field("Name", name), field("Allowed models", allowed, "Globs, comma-separated; empty: all."),
  LIMITS.map(([k, label]) => field(label, limits[k], "Empty: the gateway's default; 0: no limit.")),
  h("div", { class: "actions row" }, h("button", { type: "submit", class: "primary" }, "Save changes"),
    h("button", { type: "button", on: { click: close } }, "Cancel")));
  return { row: h("tr", { class: "editing" }, h("td", { colspan: 8 }, form)), focus: () => name.focus() };
}

function keyRow(key, tbody) {
  const revoke = h("button", { type: "button", class: "danger", disabled: key.revoked,
    "aria-label": `Revoke ${key.name}`, on: { click: async () => {
      if (!window.confirm(`Revoke key “${key.name}” (${key.id})? Requests with it fail at once.`)) return;
      try {
        await api(`/v1/admin/keys/${encodeURIComponent(key.id)}/revoke`, { method: "POST", admin: true });
        toast(`Revoked ${key.name}.`);
      } catch (err) { toast(err.message, "error"); }
      loadKeys(tbody);
    } } }, "Revoke");
  let editing = null;
  const edit = h("button", { type: "button", disabled: key.revoked, "aria-label": `Edit ${key.name}`,
    "aria-expanded": "false", on: { click: () => {
      if (editing) { close(); return; }
      editing = editRow(key, tbody, close);
      row.after(editing.row);
      edit.setAttribute("aria-expanded", "true");
      editing.focus();
    } } }, "Edit");
  function close() {
    if (editing) editing.row.remove();
    editing = null;
    edit.setAttribute("aria-expanded", "false");
    edit.focus();
  }
  const row = h("tr", { dataset: { keyId: key.id } }, h("td", {}, key.name), h("td", {}, h("code", {}, `${key.prefix}…`)),
    h("td", {}, key.allowed.length ? key.allowed.join(", ") : "all models"), h("td", {}, limitsText(key.limits)),
    h("td", {}, when(key.created_at)), h("td", {}, key.expires_at ? when(key.expires_at) : "never"),
    h("td", {}, state(key)), h("td", {}, h("div", { class: "row" }, edit, revoke)));
  return row;
}

export function renderKeys(main) {
  if (!session.adminKey) {
    replace(main, h("section", { class: "panel" }, h("h2", {}, "Keys"),
      h("p", {}, "Managing keys needs the gateway's admin key (OPENRESPONSES_ADMIN_KEY). ",
        "Add it with “Change keys” at the top right.")));
    return;
  }
  const name = h("input", { name: "name", required: true, placeholder: "ci-pipeline" });
  const allowed = h("input", { name: "allowed", placeholder: "groq@*, openai@gpt-4o*" });
  const limits = Object.fromEntries(LIMITS.map(([k]) => [k, h("input", { name: k, type: "number", min: 0, inputmode: "numeric" })]));
  const expires = h("input", { name: "expires_days", type: "number", min: 0, step: "any", placeholder: "never" });
  const once = h("div");
  const tbody = h("tbody");
  const form = h("form", { class: "grid-form", on: { submit: async (e) => {
    e.preventDefault();
    let body;
    try {
      body = keyRequest({ name: name.value, allowed: allowed.value, expiresDays: expires.value,
        limits: Object.fromEntries(Object.entries(limits).map(([k, el]) => [k, el.value])) });
    } catch (err) { toast(err.message, "error"); return; }
    try {
      const created = await api("/v1/admin/keys", { method: "POST", body, admin: true });
      replace(once, shownOnce(created));
      form.reset();
      loadKeys(tbody);
    } catch (err) { toast(err.message, "error"); }
  } } }, field("Name", name), field("Allowed models", allowed, "Globs, comma-separated; empty: all."),
  LIMITS.map(([k, label]) => field(label, limits[k])), field("Expires in (days)", expires),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create key")));
  replace(main, h("section", { class: "panel" }, h("h2", {}, "Create a key"), form, once),
    h("section", { class: "panel" }, h("h2", {}, "Keys"), h("table", { class: "list" },
      h("thead", {}, h("tr", {}, ["Name", "Prefix", "Allowed", "Limits", "Created", "Expires", "State", ""]
        .map((t) => h("th", { scope: "col" }, t)))), tbody)));
  loadKeys(tbody);
}
