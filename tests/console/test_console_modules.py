"""The console's pure modules, run in the real browser: the SSE parser across arbitrary chunk
boundaries, windowed latency quantiles from Prometheus buckets, rates across a restart, the
request bodies the forms build, and which function calls wait for the user's outputs."""

from __future__ import annotations

from typing import Any

import trio
from playwright.sync_api import Page

from tests.console.browser import in_browser, require_chromium

CHECKS = """async () => {
  const { SseParser } = await import('/console/static/js/sse.js');
  const { quantile, bucketDelta, rate } = await import('/console/static/js/stats.js');
  const { buildTools } = await import('/console/static/js/playground.js');
  const { keyRequest, keyUpdate } = await import('/console/static/js/keys.js');
  const { metadataParams } = await import('/console/static/js/responses.js');
  const { pendingCalls, toolOutputs } = await import('/console/static/js/toolcalls.js');
  const call = { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' };
  const output = [{ type: 'message', content: [] }, call, { type: 'mcp_call', call_id: 'm1' },
                  { type: 'custom_tool_call', call_id: 'c2', name: 'g' }];
  const text = 'event: a\\ndata: {"n":1}\\n\\n: comment\\r\\ndata: {"n":\\ndata: 2}\\r\\n\\r\\n';
  const frames = [];
  for (let size = 1; size <= text.length; size += 1) {
    const parser = new SseParser();
    const got = [];
    for (let i = 0; i < text.length; i += size) got.push(...parser.feed(text.slice(i, i + size)));
    frames.push(JSON.stringify(got));
  }
  const before = [[0.1, 0], [0.5, 0], [1, 0], [null, 0]];
  const after = [[0.1, 50], [0.5, 90], [1, 100], [null, 100]];
  const delta = bucketDelta(before, after);
  let toolError = null;
  try { buildTools({ functions: '{"parameters": {}}', brave: false, mcpUrl: '', mcpLabel: '' }); }
  catch (err) { toolError = err.message; }
  return {
    frames: [...new Set(frames)],
    p50: quantile(delta, 0.5), p90: quantile(delta, 0.9), p99: quantile(delta, 0.99),
    empty: String(quantile(bucketDelta(after, after), 0.5)),
    inf: quantile([[1, 0], [null, 4]], 0.5),
    restarted: rate(100, 30, 10),
    tools: buildTools({ functions: '{"name": "f", "parameters": {}}', brave: true,
                        mcpUrl: ' https://mcp.test/mcp ', mcpLabel: '' }),
    toolError,
    key: keyRequest({ name: ' ci ', allowed: 'groq@*, claude@*\\nopenai@gpt-4o',
                      limits: { requests_per_day: '5', tokens_per_minute: '' },
                      expiresDays: '2' }),
    update: keyUpdate({ name: 'ci ', allowed: ' ', limits: { requests_per_minute: '0',
                        requests_per_day: '', tokens_per_minute: '7' } }),
    updateError: (() => { try { keyUpdate({ name: 'x', allowed: '',
      limits: { requests_per_day: '1.5' } }); } catch (err) { return err.message; } })(),
    metadata: metadataParams('team=a, env = prod'),
    pending: pendingCalls({ status: 'completed', output }).map((item) => item.call_id),
    notPending: pendingCalls({ status: 'incomplete', output }).length,
    outputs: toolOutputs(pendingCalls({ status: 'completed', output }), ['21 C', 'ok']),
    outputError: (() => {
      try { toolOutputs([call], [' ']); } catch (err) { return err.message; }
    })(),
  };
}"""


def run_checks(page: Page) -> Any:
    page.goto("/console")
    return page.evaluate(CHECKS)


async def test_the_pure_modules_behave(base_url: str) -> None:
    require_chromium()
    got = await trio.to_thread.run_sync(in_browser, base_url, run_checks)
    assert got["frames"] == ['[{"event":"a","data":"{\\"n\\":1}"},'
                             '{"event":"message","data":"{\\"n\\":\\n2}"}]']
    assert got["p50"] == 0.1  # 50 of 100 observations at or below 0.1 s
    assert abs(got["p90"] - 0.5) < 1e-9
    assert abs(got["p99"] - 0.95) < 1e-9  # interpolated inside (0.5, 1]
    assert got["empty"] == "NaN"
    assert got["inf"] == 1  # in the +Inf bucket: its lower bound
    assert got["restarted"] == 3  # a counter that went down counts from zero
    assert got["tools"] == [
        {"type": "function", "name": "f", "parameters": {}},
        {"type": "brave_web_search"},
        {"type": "mcp", "server_label": "mcp", "server_url": "https://mcp.test/mcp",
         "require_approval": "never"},
    ]
    assert got["toolError"] == "Function tools: each tool needs a name."
    assert got["key"] == {"name": "ci", "allowed": ["groq@*", "claude@*", "openai@gpt-4o"],
                          "limits": {"requests_per_day": 5}, "expires_in": 172800}
    assert got["update"] == {"name": "ci", "allowed": [],
                             "limits": {"requests_per_minute": 0, "requests_per_day": None,
                                        "tokens_per_minute": 7}}
    assert got["updateError"] == "requests_per_day: a whole number ≥ 0."
    assert got["pending"] == ["c1", "c2"]
    assert got["notPending"] == 0
    assert got["outputs"] == [
        {"type": "function_call_output", "call_id": "c1", "output": "21 C"},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": "ok"},
    ]
    assert got["outputError"] == "Write an output for f (c1)."
    assert got["metadata"] == {"metadata[team]": "a", "metadata[env]": "prod"}
