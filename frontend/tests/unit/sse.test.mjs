import { test } from "node:test";
import assert from "node:assert/strict";
import { SseParser, decodeFrame } from "../../js/sse.js";

test("frames split across chunks and line endings come out whole", () => {
  const parser = new SseParser();
  const text = 'id: 7\nevent: token\ndata: {"type":"token","delta":"Hel"}\n\n: keep-alive\n\r\nid: 8\r\nevent: token\r\ndata: {"type":"token","delta":"lo"}\r\n\r\n';
  const frames = [];
  for (let i = 0; i < text.length; i += 3) frames.push(...parser.push(text.slice(i, i + 3)));
  assert.deepEqual(frames, [
    { id: "7", event: "token", data: '{"type":"token","delta":"Hel"}' },
    { id: "8", event: "token", data: '{"type":"token","delta":"lo"}' },
  ]);
});

test("multi-line data joins with newlines and a comment alone makes no frame", () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push(": ping\n\n"), []);
  assert.deepEqual(parser.push("data: a\ndata: b\n\n"), [{ id: null, event: "message", data: "a\nb" }]);
});

test("decoding keeps the sequence number and the type, and refuses bad JSON", () => {
  assert.deepEqual(decodeFrame({ id: "12", event: "stop", data: '{"type":"stop"}' }), { type: "stop", seq: 12 });
  assert.deepEqual(decodeFrame({ id: null, event: "token", data: '{"delta":"x"}' }), { delta: "x", type: "token", seq: null });
  assert.equal(decodeFrame({ id: "1", event: "x", data: "{oops" }), null);
});
