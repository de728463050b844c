// The console's shell: the key panel (keys live in sessionStorage only), the tabs and a
// hash router (#/playground, #/responses, #/responses/<id>, #/keys, #/traffic).

import { field, h, replace } from "./dom.js";
import { renderKeys } from "./keys.js";
import { renderPlayground } from "./playground.js";
import { renderChain, renderResponses } from "./responses.js";
import { masked, session } from "./session.js";
import { renderTraffic } from "./traffic.js";

let stopView = null;

function connectForm(main) {
  const apiKey = h("input", { type: "password", name: "api_key", autocomplete: "off", value: session.apiKey });
  const adminKey = h("input", { type: "password", name: "admin_key", autocomplete: "off", value: session.adminKey });
  const form = h("form", { class: "panel connect", on: { submit: (e) => {
    e.preventDefault();
    session.set(apiKey.value.trim(), adminKey.value.trim());
    window.location.reload(); // start clean: no view keeps data fetched with the old key
  } } },
  h("h2", {}, "Connect to this gateway"),
  h("p", {}, "Keys stay in this browser tab's session storage and are sent only to this gateway."),
  field("API key", apiKey, "A gateway key (keys mode) or your provider key (passthrough)."),
  field("Admin key (optional)", adminKey, "OPENRESPONSES_ADMIN_KEY: for Keys and Traffic."),
  h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Connect"),
    session.apiKey || session.adminKey ? h("button", { type: "button", on: { click: () => route() } }, "Cancel") : null));
  replace(main, form);
  apiKey.focus();
}

function sessionBar(main) {
  const bar = document.getElementById("session");
  if (!session.apiKey && !session.adminKey) { replace(bar); return; }
  replace(bar, h("span", {}, "Key ", h("code", {}, masked(session.apiKey)),
    session.adminKey ? " · admin ✓" : ""),
  h("button", { type: "button", class: "link", on: { click: () => connectForm(main) } }, "Change keys"),
  h("button", { type: "button", class: "link", on: { click: () => { session.clear(); window.location.reload(); } } }, "Sign out"));
}

function route() {
  const main = document.getElementById("main");
  if (stopView) { stopView(); stopView = null; }
  sessionBar(main);
  const [name, id] = window.location.hash.replace(/^#\/?/, "").split("/");
  const view = name || "playground";
  for (const tab of document.querySelectorAll("[data-view]")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  if (!session.apiKey && !session.adminKey) { connectForm(main); return; }
  if (view === "responses" && id) renderChain(main, decodeURIComponent(id));
  else if (view === "responses") renderResponses(main);
  else if (view === "keys") renderKeys(main);
  else if (view === "traffic") stopView = renderTraffic(main);
  else renderPlayground(main);
}

window.addEventListener("hashchange", route);
route();
