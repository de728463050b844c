// Responses: the caller's stored responses, newest first, filtered by model, status and
// metadata, paged with `after`; each opens as its chain (every turn's input and output
// items), the raw JSON one click away, and can be deleted from there.

import { api, query } from "./api.js";
import { details, field, h, jsonBlock, replace, toast, when } from "./dom.js";
import { contentText, renderItem, statsLine } from "./items.js";

const PAGE = 20;
const MAX_TURNS = 50;
const STATUSES = ["", "completed", "incomplete", "failed", "in_progress", "queued", "cancelled"];
const filters = { model: "", status: "", metadata: "", cursors: [] };

/** `k=v, k2=v2` → {"metadata[k]": "v", …}; throws for a pair without "=". */
export function metadataParams(text) {
  const params = {};
  for (const pair of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new Error(`Metadata filter "${pair}": write key=value.`);
    params[`metadata[${pair.slice(0, eq).trim()}]`] = pair.slice(eq + 1).trim();
  }
  return params;
}

function preview(response) {
  const text = response.output_text || (response.output || [])
    .filter((i) => i.type === "message").map((i) => contentText(i.content)).join(" ");
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

function row(response) {
  const link = h("a", { href: `#/responses/${encodeURIComponent(response.id)}` }, response.id);
  const usage = response.usage ? `${response.usage.input_tokens} / ${response.usage.output_tokens}` : "—";
  return h("tr", {}, h("td", {}, when(response.created_at)), h("td", {}, link),
    h("td", {}, response.model), h("td", {}, h("span", { class: `status ${response.status}` }, response.status)),
    h("td", { class: "num" }, usage), h("td", { class: "preview" }, preview(response)));
}

async function loadPage(table, pager) {
  let params;
  try { params = metadataParams(filters.metadata); } catch (err) { toast(err.message, "error"); return; }
  const after = filters.cursors[filters.cursors.length - 1];
  const path = `/v1/responses${query({ limit: PAGE, order: "desc", after, model: filters.model,
    status: filters.status, ...params })}`;
  try {
    const page = await api(path);
    replace(table, page.data.length ? page.data.map(row)
      : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No stored responses match.")));
    const previous = h("button", { type: "button", disabled: !filters.cursors.length,
      on: { click: () => { filters.cursors.pop(); loadPage(table, pager); } } }, "← Newer");
    const next = h("button", { type: "button", disabled: !page.has_more,
      on: { click: () => { filters.cursors.push(page.last_id); loadPage(table, pager); } } }, "Older →");
    replace(pager, previous, h("span", { class: "muted" }, `page ${filters.cursors.length + 1}`), next);
  } catch (err) {
    replace(table, h("tr", {}, h("td", { colspan: 6, class: "error" }, err.message)));
  }
}

export function renderResponses(main) {
  const model = h("input", { name: "model", value: filters.model, placeholder: "provider@model" });
  const status = h("select", { name: "status" },
    STATUSES.map((s) => h("option", { value: s, selected: s === filters.status }, s || "any")));
  const metadata = h("input", { name: "metadata", value: filters.metadata, placeholder: "key=value, …" });
  const table = h("tbody");
  const pager = h("div", { class: "pager" });
  const form = h("form", { class: "filters", on: { submit: (e) => {
    e.preventDefault();
    Object.assign(filters, { model: model.value.trim(), status: status.value,
      metadata: metadata.value, cursors: [] });
    loadPage(table, pager);
  } } }, field("Model", model), field("Status", status), field("Metadata", metadata),
  h("button", { type: "submit", class: "primary" }, "Filter"));
  replace(main, h("section", { class: "panel" }, h("h2", {}, "Stored responses"), form,
    h("table", { class: "list" }, h("thead", {}, h("tr", {},
      ["Created", "ID", "Model", "Status", "Tokens in / out", "Output"].map((t) => h("th", { scope: "col" }, t)))),
    table), pager));
  loadPage(table, pager);
}

async function inputItems(id) {
  const items = [];
  let after;
  for (;;) {
    const page = await api(`/v1/responses/${encodeURIComponent(id)}/input_items${query({ order: "asc", limit: 100, after })}`);
    items.push(...page.data);
    if (!page.has_more || !page.last_id) return items;
    after = page.last_id;
  }
}

/** The chain ending at `id`, oldest first: [{response, input}]. */
async function loadChain(id) {
  const turns = [];
  let next = id;
  while (next && turns.length < MAX_TURNS) {
    let response;
    try {
      response = await api(`/v1/responses/${encodeURIComponent(next)}`);
    } catch (err) {
      if (turns.length && err.status === 404) break; // an ancestor was deleted
      throw err;
    }
    turns.unshift({ response, input: await inputItems(next) });
    next = response.previous_response_id;
  }
  return turns;
}

function turnView(turn, index, reload) {
  const r = turn.response;
  const remove = h("button", { type: "button", class: "danger", on: { click: async () => {
    if (!window.confirm(`Delete ${r.id}? This cannot be undone.`)) return;
    try {
      await api(`/v1/responses/${encodeURIComponent(r.id)}`, { method: "DELETE" });
      toast(`Deleted ${r.id}.`);
      reload();
    } catch (err) { toast(err.message, "error"); }
  } } }, "Delete");
  return h("article", { class: "turn", dataset: { responseId: r.id } },
    h("header", { class: "turn-head" }, h("h3", {}, `Turn ${index + 1}`), h("code", {}, r.id),
      h("span", { class: "muted" }, when(r.created_at)), h("span", { class: "grow" }), remove),
    r.instructions ? details("Instructions", h("div", { class: "text" }, r.instructions)) : null,
    h("div", { class: "sub" }, "Input"), h("div", { class: "output" }, turn.input.map(renderItem)),
    h("div", { class: "sub" }, "Output"), h("div", { class: "output" }, (r.output || []).map(renderItem)),
    r.error ? h("div", { class: "error" }, r.error.message) : null,
    h("div", { class: "turn-footer" }, statsLine(r), details("Raw JSON", jsonBlock(r), { cls: "raw" })));
}

export async function renderChain(main, id) {
  const body = h("div", { class: "chain" }, h("p", { class: "muted" }, "Loading…"));
  replace(main, h("section", { class: "panel" },
    h("p", {}, h("a", { href: "#/responses" }, "← All responses")),
    h("h2", {}, "Chain of ", h("code", {}, id)), body));
  const reload = () => { window.location.hash = "#/responses"; };
  try {
    const turns = await loadChain(id);
    replace(body, turns.map((t, i) => turnView(t, i, reload)));
  } catch (err) {
    replace(body, h("div", { class: "error", role: "alert" }, err.message));
  }
}
