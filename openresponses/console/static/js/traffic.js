// Traffic: live charts fed by the gateway's own metrics (/console/api/traffic, polled while
// the view is open): requests per second by provider, latency percentiles, tokens in/out,
// errors and rate-limit refusals, active streams.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { LineChart, format } from "./chart.js";
import { bucketDelta, quantile, rate, rates } from "./stats.js";

const POLL_MS = 1500;
const POINTS = 60; // 90 s of history
const MIN_SLOTS = 20; // a fresh chart spreads its first points over 30 s, not a sliver
const history = { points: [], last: null };

/** One chart point from two snapshots. */
export function point(before, after) {
  const seconds = after.time - before.time;
  const request = bucketDelta(before.latency_buckets.request, after.latency_buckets.request);
  const ttft = bucketDelta(before.latency_buckets.ttft, after.latency_buckets.ttft);
  return {
    providers: rates(before.requests_by_provider, after.requests_by_provider, seconds),
    latency: { p50: quantile(request, 0.5), p90: quantile(request, 0.9),
      p99: quantile(request, 0.99), "first token p50": quantile(ttft, 0.5) },
    tokens: { input: rate(before.tokens.input, after.tokens.input, seconds),
      output: rate(before.tokens.output, after.tokens.output, seconds) },
    errors: { errors: rate(before.errors, after.errors, seconds),
      "rate-limited": rate(before.rate_limited, after.rate_limited, seconds) },
    streams: { active: after.active_streams },
  };
}

function seriesOf(key) {
  const names = new Set();
  for (const p of history.points) for (const name of Object.keys(p[key])) names.add(name);
  const series = {};
  for (const name of [...names].sort()) series[name] = history.points.map((p) => p[key][name] ?? 0);
  return series;
}

function card(title, key, unit) {
  const canvas = h("canvas", { role: "img", "aria-label": title, dataset: { series: key } });
  const legend = h("ul", { class: "legend" });
  const chart = new LineChart(canvas, unit);
  const view = h("figure", { class: "chart", dataset: { chart: key } },
    h("figcaption", {}, title), canvas, legend);
  const draw = () => {
    const series = seriesOf(key);
    chart.draw(series, Math.min(POINTS, Math.max(MIN_SLOTS, history.points.length)));
    replace(legend, Object.entries(series).map(([name, values], i) => {
      const latest = values[values.length - 1];
      return h("li", { dataset: { name } }, h("span", { class: "swatch", dataset: { color: i % 7 } }),
        `${name}: `, h("b", { class: "latest" }, Number.isFinite(latest) ? format(latest) : "—"));
    }));
    canvas.setAttribute("aria-label", `${title}: ${legend.textContent || "no data yet"}`);
  };
  return { view, draw };
}

function tile(label, value, name) {
  return h("div", { class: "tile", dataset: { tile: name } }, h("div", { class: "tile-label" }, label),
    h("div", { class: "tile-value" }, value));
}

function count(value) {
  return Math.round(value).toLocaleString("en-US");
}

function tiles(snapshot) {
  return [
    tile("Requests", count(snapshot.requests), "requests"),
    tile("Errors", count(snapshot.errors), "errors"),
    tile("Rate-limited", count(snapshot.rate_limited), "rate_limited"),
    tile("Tokens in / out", `${count(snapshot.tokens.input)} / ${count(snapshot.tokens.output)}`, "tokens"),
    tile("Active streams", count(snapshot.active_streams), "active_streams"),
  ];
}

/** Render the view; returns a function that stops polling. */
export function renderTraffic(main) {
  const cards = [card("Requests per second by provider", "providers", "req/s"),
    card("Latency of model requests (s)", "latency", "s"),
    card("Tokens per second", "tokens", "tok/s"),
    card("Errors and rate-limit refusals per second", "errors", "/s"),
    card("Active streams", "streams", "streams")];
  const summary = h("div", { class: "tiles", "aria-live": "polite" });
  const problem = h("div", { role: "alert" });
  replace(main, h("section", { class: "panel" }, h("h2", {}, "Traffic"),
    h("p", { class: "muted" }, `Live from this gateway's metrics, every ${POLL_MS / 1000} s (all keys).`),
    problem, summary, h("div", { class: "charts" }, cards.map((c) => c.view))));
  let timer = null;
  let stopped = false;
  const poll = async () => {
    try {
      const snapshot = await api("/console/api/traffic", { admin: true });
      if (stopped) return;
      if (history.last) history.points.push(point(history.last, snapshot));
      history.points = history.points.slice(-POINTS);
      history.last = snapshot;
      replace(summary, tiles(snapshot));
      replace(problem);
      for (const c of cards) c.draw();
    } catch (err) {
      replace(problem, h("div", { class: "error" }, err.message));
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  };
  poll();
  return () => { stopped = true; clearTimeout(timer); };
}

