import { test } from "node:test";
import assert from "node:assert/strict";
import { argumentSummary, duration, relativeTime, size, titleFrom, toolName } from "../../js/format.js";

test("relative times read naturally", () => {
  const now = Date.UTC(2026, 10, 29, 12, 0, 0);
  assert.equal(relativeTime(now - 10_000, now), "just now");
  assert.equal(relativeTime(now - 5 * 60_000, now), "5 min ago");
  assert.equal(relativeTime(now - 3 * 3_600_000, now), "3 h ago");
  assert.equal(relativeTime(now - 26 * 3_600_000, now), "yesterday");
  assert.equal(relativeTime(now - 4 * 86_400_000, now), "4 d ago");
  assert.equal(relativeTime(now - 30 * 86_400_000, now), "2026-10-30");
});

test("titles come from the first message, one line, shortened", () => {
  assert.equal(titleFrom("  Plan a\n trip  "), "Plan a trip");
  assert.equal(titleFrom(""), "New conversation");
  const long = titleFrom("x".repeat(100));
  assert.equal(long.length, 58);
  assert.ok(long.endsWith("…"));
});

test("sizes, durations and tool names", () => {
  assert.equal(size(512), "512 B");
  assert.equal(size(1536), "1.5 KB");
  assert.equal(size(5 * 1024 * 1024), "5.0 MB");
  assert.equal(duration(250), "250 ms");
  assert.equal(duration(1500), "1.5 s");
  assert.equal(toolName("mshtools-shell"), "shell");
});

test("tool arguments are summarised by the argument that says the most", () => {
  assert.equal(argumentSummary('{"command":"ls -la /mnt"}'), "ls -la /mnt");
  assert.equal(argumentSummary({ file_path: "/mnt/okcomputer/a.md", content: "..." }), "/mnt/okcomputer/a.md");
  assert.equal(argumentSummary({ queries: ["a", "b"] }), "a, b");
  assert.equal(argumentSummary("not json"), "not json");
  assert.equal(argumentSummary({ code: "x".repeat(300) }).length, 120);
});
