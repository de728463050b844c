// The gateway's HTTP API, with the session's bearer key. Errors arrive as OpenAI envelopes
// and are thrown as ApiError carrying the status and the envelope's message.

import { session } from "./session.js";
import { SseParser } from "./sse.js";

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(admin, json) {
  const key = admin ? session.adminKey : session.apiKey;
  const out = {};
  if (key) out.Authorization = `Bearer ${key}`;
  if (json) out["Content-Type"] = "application/json";
  return out;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  let code = null;
  try {
    const body = await response.json();
    if (body && body.error) { message = body.error.message || message; code = body.error.code; }
  } catch { /* not JSON: keep the status line */ }
  return new ApiError(response.status, message, code);
}

/** One JSON request; `admin` sends the admin key instead of the API key. */
export async function api(path, { method = "GET", body, admin = false, signal } = {}) {
  const response = await fetch(path, {
    method, signal, headers: headers(admin, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit", cache: "no-store",
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** A query string from an object, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.append(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * POST a streaming request and call `onEvent(event)` for each Server-Sent Event's JSON data
 * as it arrives. Resolves when the stream ends; `signal` aborts it.
 */
export async function stream(path, body, onEvent, { signal } = {}) {
  const response = await fetch(path, {
    method: "POST", signal, headers: headers(false, true), body: JSON.stringify(body),
    credentials: "omit", cache: "no-store",
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (const frame of parser.feed(value)) {
      if (!frame.data || frame.data === "[DONE]") continue;
      onEvent(JSON.parse(frame.data));
    }
  }
}
