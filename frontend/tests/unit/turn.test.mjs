import { test } from "node:test";
import assert from "node:assert/strict";
import { applyEvent, isEnded, newTurn } from "../../js/turn.js";

const events = [
  { seq: 1, type: "reasoning", delta: "thinking" },
  { seq: 2, type: "tool_started", invocation_id: "a", tool_name: "mshtools-shell", input: '{"command":"ls"}' },
  { seq: 3, type: "tool_completed", invocation_id: "a", tool_name: "mshtools-shell", status: "success", duration_ms: 12, output: "x.txt" },
  { seq: 4, type: "token", delta: "Hello" },
  { seq: 5, type: "token", delta: " world" },
  { seq: 6, type: "final", payload: { reply: "Hello world", status: "completed" } },
  { seq: 7, type: "stop" },
];

test("a turn's events build its text, reasoning and tool cards", () => {
  const state = events.reduce(applyEvent, newTurn());
  assert.equal(state.text, "Hello world");
  assert.equal(state.reasoning, "thinking");
  assert.equal(state.tools.length, 1);
  assert.deepEqual(
    { status: state.tools[0].status, durationMs: state.tools[0].durationMs, output: state.tools[0].output },
    { status: "done", durationMs: 12, output: "x.txt" },
  );
  assert.equal(state.status, "completed");
  assert.ok(isEnded(state));
  assert.deepEqual(state.segments, [{ kind: "tool", id: "a" }, { kind: "text", text: "Hello world" }]);
});

test("replayed events after a reconnect are neither missing nor doubled", () => {
  const first = events.slice(0, 4).reduce(applyEvent, newTurn());
  // The resumed stream replays from the last event seen, possibly overlapping.
  const resumed = events.slice(2).reduce(applyEvent, first);
  assert.equal(resumed.text, "Hello world");
  assert.equal(resumed.tools.length, 1);
  assert.deepEqual(resumed, events.reduce(applyEvent, newTurn()));
});

test("failures and stops end the turn with what it was", () => {
  const failed = [
    { seq: 1, type: "tool_started", invocation_id: "b", tool_name: "x", input: "{}" },
    { seq: 2, type: "tool_completed", invocation_id: "b", tool_name: "x", status: "error", duration_ms: 3, error: "boom" },
    { seq: 3, type: "error", code: "model_unavailable", message: "down" },
    { seq: 4, type: "stop" },
  ].reduce(applyEvent, newTurn());
  assert.equal(failed.tools[0].status, "failed");
  assert.equal(failed.tools[0].error, "boom");
  assert.equal(failed.status, "failed");
  assert.deepEqual(failed.error, { code: "model_unavailable", message: "down" });
  const stopped = [
    { seq: 1, type: "token", delta: "par" },
    { seq: 2, type: "final", payload: { reply: "par", status: "stopped" } },
    { seq: 3, type: "stop" },
  ].reduce(applyEvent, newTurn());
  assert.equal(stopped.status, "stopped");
});
