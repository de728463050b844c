// Playground: pick a model, write instructions and a message, choose tools, send with
// streaming on. The answer streams in; tool calls and results are collapsible items; usage,
// latency and time to first token appear under each answer. Later messages continue the
// conversation with previous_response_id; calls to the user's own function tools get an output
// box each (toolcalls.js), whose answers continue it too.

import { api, stream } from "./api.js";
import { details, field, h, jsonBlock, replace, toast } from "./dom.js";
import { renderItem, statsLine } from "./items.js";
import { outputsForm, pendingCalls } from "./toolcalls.js";

const state = { previousId: null, transcript: null, form: null, models: null };

/** The request's tools from the form; throws Error with a message for bad JSON. */
export function buildTools({ functions, brave, mcpUrl, mcpLabel }) {
  const tools = [];
  if (functions.trim()) {
    let parsed;
    try { parsed = JSON.parse(functions); } catch (err) {
      throw new Error(`Function tools: not valid JSON (${err.message}).`);
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    for (const tool of list) {
      if (!tool || typeof tool !== "object" || !tool.name && !(tool.function && tool.function.name)) {
        throw new Error("Function tools: each tool needs a name.");
      }
      tools.push(tool.type ? tool : { type: "function", ...tool });
    }
  }
  if (brave) tools.push({ type: "brave_web_search" });
  if (mcpUrl.trim()) {
    tools.push({ type: "mcp", server_label: mcpLabel.trim() || "mcp",
      server_url: mcpUrl.trim(), require_approval: "never" });
  }
  return tools;
}

function controls() {
  const model = h("input", { list: "model-list", name: "model", required: true,
    autocomplete: "off", placeholder: "provider@model" });
  const datalist = h("datalist", { id: "model-list" });
  const instructions = h("textarea", { name: "instructions", rows: 3,
    placeholder: "You are a helpful assistant." });
  const functions = h("textarea", { name: "functions", rows: 4, spellcheck: "false",
    class: "mono", placeholder: '[{"name": "get_weather", "parameters": {"type": "object", "properties": {}}}]' });
  const brave = h("input", { type: "checkbox", name: "brave" });
  const mcpUrl = h("input", { type: "url", name: "mcp_url", placeholder: "https://mcp.example.com/mcp" });
  const mcpLabel = h("input", { name: "mcp_label", placeholder: "docs" });
  const message = h("textarea", { name: "message", rows: 3, required: true,
    placeholder: "Ask something… (Ctrl+Enter sends)" });
  return { model, datalist, instructions, functions, brave, mcpUrl, mcpLabel, message };
}

async function loadModels(c) {
  try {
    const listed = await api("/v1/models");
    state.models = listed.data.map((m) => m.id).sort();
  } catch (err) {
    toast(`Models: ${err.message}`, "error");
    state.models = [];
  }
  replace(c.datalist, state.models.map((id) => h("option", { value: id })));
  // The first model fills an empty field, unless the user is in it: typing has begun there.
  const typing = document.activeElement === c.model;
  if (!c.model.value && !typing && state.models.length) c.model.value = state.models[0];
}

function continuation(badge) {
  replace(badge, state.previousId
    ? ["Continuing ", h("code", {}, state.previousId)] : "New conversation");
}

/** A turn: what was sent (a message's text, or tool output items), the streamed answer, stats. */
function turnView(input) {
  const output = h("div", { class: "output", "aria-live": "polite" });
  const footer = h("div", { class: "turn-footer" });
  const sent = typeof input === "string"
    ? h("div", { class: "msg user" }, h("div", { class: "role" }, "you"), h("div", { class: "text" }, input))
    : h("div", { class: "sent-items" }, input.map((item) => renderItem(item)));
  const article = h("article", { class: "turn" }, sent, output, footer);
  return { article, output, footer };
}

/** Apply one stream event to the turn's view. */
function onEvent(event, view, run) {
  const slots = run.slots;
  if (event.type.endsWith(".delta") && run.ttft === undefined) run.ttft = performance.now() - run.start;
  switch (event.type) {
    case "response.created": run.id = event.response.id; break;
    case "response.output_item.added": {
      const item = event.item;
      const el = item.type === "message"
        ? h("div", { class: "msg assistant streaming", dataset: { itemType: "message" } },
          h("div", { class: "role" }, "assistant"), h("div", { class: "text" }))
        : renderItem(item);
      slots.set(event.output_index, el);
      view.output.append(el);
      break;
    }
    case "response.output_text.delta": {
      const el = slots.get(event.output_index);
      if (el) el.querySelector(".text").append(document.createTextNode(event.delta));
      break;
    }
    case "response.output_item.done": {
      const el = renderItem(event.item);
      const old = slots.get(event.output_index);
      if (old) old.replaceWith(el); else view.output.append(el);
      slots.set(event.output_index, el);
      break;
    }
    case "response.completed": case "response.incomplete": case "response.failed":
      run.response = event.response; break;
    case "error": run.error = event.message || "stream error"; break;
    default: break;
  }
}

/** The request body of a turn; throws Error for bad tool JSON. */
function requestBody(c, input, previousId) {
  const tools = buildTools({ functions: c.functions.value, brave: c.brave.checked,
    mcpUrl: c.mcpUrl.value, mcpLabel: c.mcpLabel.value });
  const body = { model: c.model.value.trim(), input, stream: true, store: true };
  if (c.instructions.value.trim()) body.instructions = c.instructions.value.trim();
  if (tools.length) body.tools = tools;
  if (previousId) body.previous_response_id = previousId;
  return body;
}

async function send(c, badge, button) {
  const text = c.message.value.trim();
  if (!text || !c.model.value.trim()) { toast("Pick a model and write a message.", "error"); return; }
  await converse(c, badge, button, text, state.previousId, () => { c.message.value = ""; });
}

/**
 * Send one turn (`input`: a message's text or tool output items) after `previousId`, and
 * stream the answer into a new turn; resolves to whether a response arrived without error.
 */
async function converse(c, badge, button, input, previousId, onSent = () => {}) {
  let body;
  try { body = requestBody(c, input, previousId); } catch (err) { toast(err.message, "error"); return false; }
  const view = turnView(input);
  state.transcript.append(view.article);
  onSent();
  button.disabled = true;
  const run = { start: performance.now(), slots: new Map() };
  try {
    await stream("/v1/responses", body, (event) => onEvent(event, view, run));
  } catch (err) {
    run.error = err.message;
  } finally {
    button.disabled = false;
  }
  finish(view, run, badge);
  const calls = pendingCalls(run.response);
  if (calls.length && !run.error) {
    const answer = outputsForm(calls, (items) => converse(c, badge, button, items, run.response.id));
    view.footer.prepend(answer.form);
    answer.focus();
    view.article.scrollIntoView({ block: "end" });
  }
  return Boolean(run.response) && !run.error;
}

function finish(view, run, badge) {
  for (const el of view.output.querySelectorAll(".streaming")) el.classList.remove("streaming");
  const total = performance.now() - run.start;
  if (run.response) {
    view.footer.append(statsLine(run.response, { total, ttft: run.ttft }));
    view.footer.append(details("Raw JSON", jsonBlock(run.response), { cls: "raw" }));
    if (run.response.error) run.error = run.response.error.message;
    state.previousId = run.response.id;
    continuation(badge);
  }
  if (run.error) view.footer.append(h("div", { class: "error", role: "alert" }, run.error));
  view.article.scrollIntoView({ block: "end" });
}

export function renderPlayground(main) {
  const c = state.form || controls();
  state.form = c;
  state.transcript = state.transcript || h("div", { class: "transcript", id: "transcript" });
  const badge = h("span", { class: "badge", id: "continuation" });
  continuation(badge);
  const button = h("button", { type: "submit", class: "primary" }, "Send");
  const reset = h("button", { type: "button", on: { click: () => {
    state.previousId = null; state.transcript.replaceChildren(); continuation(badge);
  } } }, "New conversation");
  const form = h("form", { class: "composer", on: { submit: (e) => { e.preventDefault(); send(c, badge, button); } } },
    field("Message", c.message), h("div", { class: "row" }, badge, h("span", { class: "grow" }), reset, button));
  c.message.onkeydown = (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit(); };
  const settings = h("section", { class: "panel settings", "aria-label": "Request settings" },
    h("h2", {}, "Request"), field("Model", c.model), c.datalist,
    field("Instructions", c.instructions),
    h("fieldset", {}, h("legend", {}, "Tools"),
      h("label", { class: "check" }, c.brave, " brave_web_search"),
      field("MCP server URL", c.mcpUrl), field("MCP server label", c.mcpLabel),
      field("Function tools (JSON)", c.functions, "One tool object or a list of them.")));
  replace(main, h("div", { class: "playground" }, settings,
    h("section", { class: "panel chat", "aria-label": "Conversation" }, state.transcript, form)));
  if (state.models === null) loadModels(c);
}
