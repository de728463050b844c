// Responses items rendered readably: messages as text, tool calls and their results as
// collapsible items, anything unknown as its JSON. All data goes in as text (see dom.js).

import { details, h, jsonBlock, prettyJson } from "./dom.js";

/** The text of a message's content (a string or a list of parts). */
export function contentText(content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((part) => {
    if (part.text !== undefined) return part.text;
    if (part.refusal !== undefined) return `[refusal] ${part.refusal}`;
    if (part.type === "input_image") return "[image]";
    if (part.type === "input_file") return `[file ${part.filename || ""}]`;
    return `[${part.type}]`;
  }).join("");
}

function message(item) {
  const role = item.role || "assistant";
  return h("div", { class: `msg ${role}`, dataset: { itemType: "message" } },
    h("div", { class: "role" }, role),
    h("div", { class: "text" }, contentText(item.content)));
}

function labelled(pairs) {
  return h("dl", { class: "pairs" }, pairs.filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function toolCall(item) {
  const name = item.namespace ? `${item.namespace}.${item.name}` : item.name;
  return details(h("span", {}, h("b", {}, "Tool call "), h("code", {}, `${name}(…)`),
    item.status ? ` · ${item.status}` : ""), [
    labelled([["call id", item.call_id]]),
    h("div", { class: "sub" }, "Arguments"), jsonBlock(item.arguments ?? item.input ?? ""),
  ], { cls: "tool" });
}

function toolOutput(item) {
  const output = typeof item.output === "string" ? item.output : prettyJson(item.output);
  return details(h("span", {}, h("b", {}, "Tool result "), h("code", {}, item.call_id || "")),
    h("pre", { class: "json" }, output), { cls: "tool-result" });
}

function mcpCall(item) {
  return details(h("span", {}, h("b", {}, "MCP "), h("code", {}, `${item.server_label}.${item.name}`),
    item.error ? " · error" : ""), [
    h("div", { class: "sub" }, "Arguments"), jsonBlock(item.arguments || ""),
    h("div", { class: "sub" }, item.error ? "Error" : "Result"),
    h("pre", { class: "json" }, item.error ? prettyJson(item.error) : (item.output ?? "")),
  ], { cls: "tool" });
}

function mcpTools(item) {
  const tools = item.tools || [];
  return details(h("span", {}, h("b", {}, "MCP tools "), h("code", {}, item.server_label),
    ` · ${tools.length} listed`),
  h("ul", {}, tools.map((t) => h("li", {}, h("code", {}, t.name), t.description ? ` — ${t.description}` : ""))),
  { cls: "tool" });
}

function webSearch(item) {
  const action = item.action || {};
  const sources = action.sources || [];
  return details(h("span", {}, h("b", {}, "Web search "), action.query ? `“${action.query}”` : "",
    item.status ? ` · ${item.status}` : ""),
  sources.length ? h("ul", {}, sources.map((s) => h("li", {}, s.url || prettyJson(s))))
    : h("p", { class: "muted" }, "No sources listed."), { cls: "tool" });
}

function reasoning(item) {
  const parts = [...(item.summary || []), ...(item.content || [])];
  const text = parts.map((p) => p.text || "").join("\n\n");
  return details(h("b", {}, "Reasoning"), h("div", { class: "text" }, text || "(hidden)"),
    { cls: "reasoning" });
}

function approval(item) {
  return details(h("span", {}, h("b", {}, "MCP approval "), h("code", {}, item.name || item.approval_request_id || "")),
    jsonBlock(item), { cls: "tool" });
}

const RENDERERS = {
  message, function_call: toolCall, custom_tool_call: toolCall,
  function_call_output: toolOutput, custom_tool_call_output: toolOutput,
  mcp_call: mcpCall, mcp_list_tools: mcpTools, web_search_call: webSearch,
  reasoning, mcp_approval_request: approval, mcp_approval_response: approval,
};

/** One item as an element (`data-item-type` says which). */
export function renderItem(item) {
  const render = RENDERERS[item.type];
  if (render) {
    const el = render(item);
    el.dataset.itemType = item.type;
    return el;
  }
  if (item.role && item.content !== undefined) return message(item); // EasyInputMessage
  const el = details(h("span", {}, h("b", {}, item.type || "item")), jsonBlock(item));
  el.dataset.itemType = item.type || "unknown";
  return el;
}

/** Usage / latency line: "in 12 · out 34 tokens · 812 ms · first token 120 ms". */
export function statsLine(response, timing = {}) {
  const parts = [];
  if (response.model) parts.push(response.model);
  if (response.status) parts.push(response.status);
  const usage = response.usage;
  if (usage) parts.push(`in ${usage.input_tokens} · out ${usage.output_tokens} tokens`);
  if (timing.total !== undefined) parts.push(`${Math.round(timing.total)} ms`);
  if (timing.ttft !== undefined) parts.push(`first token ${Math.round(timing.ttft)} ms`);
  return h("div", { class: "stats" }, parts.join(" · "));
}
