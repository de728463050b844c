// Answering the user's own function tools in the Playground. The gateway runs its built-in
// tools itself; a call to a function tool the user defined ends the response and waits for the
// client. Under such an answer the Playground shows one output box per call; sending them
// continues the conversation with `function_call_output` items and `previous_response_id`,
// exactly as a client application would.

import { field, h, toast } from "./dom.js";

const OUTPUT_TYPE = { function_call: "function_call_output", custom_tool_call: "custom_tool_call_output" };

/** The calls a completed response left for the client to answer (none for other statuses). */
export function pendingCalls(response) {
  if (!response || response.status !== "completed") return [];
  return (response.output || []).filter((item) => OUTPUT_TYPE[item.type] && item.call_id);
}

/** The input items answering `calls` with `outputs` (texts, same order); throws Error naming
 * the call whose output is empty (the model needs an answer for every call). */
export function toolOutputs(calls, outputs) {
  return calls.map((call, i) => {
    if (!(outputs[i] || "").trim()) throw new Error(`Write an output for ${call.name} (${call.call_id}).`);
    return { type: OUTPUT_TYPE[call.type], call_id: call.call_id, output: outputs[i] };
  });
}

/**
 * The form under an answer that stopped at `calls`: one output per call. `onSend(items)`
 * continues the conversation and resolves to whether the response arrived; the form goes away
 * once it has, and stays (to try again) otherwise.
 */
export function outputsForm(calls, onSend) {
  const boxes = calls.map(() => h("textarea", { rows: 2, class: "mono", spellcheck: "false",
    placeholder: '{"result": "…"}' }));
  const button = h("button", { type: "submit", class: "primary" },
    calls.length > 1 ? "Send outputs" : "Send output");
  const form = h("form", { class: "tool-outputs", "aria-label": "Function call outputs", on: { submit: async (e) => {
    e.preventDefault();
    let items;
    try {
      items = toolOutputs(calls, boxes.map((box) => box.value));
    } catch (err) { toast(err.message, "error"); return; }
    button.disabled = true;
    if (await onSend(items)) form.remove();
    else button.disabled = false;
  } } },
  h("div", { class: "sub" }, calls.length > 1 ? "The model waits for these calls' outputs"
    : "The model waits for this call's output"),
  calls.map((call, i) => field(`Output of ${call.name} (${call.call_id})`, boxes[i])),
  h("div", { class: "row" }, h("span", { class: "grow" }), button));
  return { form, focus: () => boxes[0].focus({ preventScroll: true }) };
}
