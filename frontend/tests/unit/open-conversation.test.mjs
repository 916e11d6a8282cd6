import { test } from "node:test";
import assert from "node:assert/strict";
import { OpenConversation } from "../../js/open-conversation.js";

test("an answer may draw while its conversation is open and no newer request of its kind started", () => {
  const conversation = new OpenConversation("c-1");
  const results = conversation.ticket("results");
  const messages = conversation.ticket("messages");
  assert.equal(results(), true);
  const newer = conversation.ticket("results");
  assert.equal(results(), false, "an older results answer after a newer request");
  assert.equal(newer(), true);
  assert.equal(messages(), true, "other kinds are not affected");
});

test("leaving a conversation makes every answer for it stale, aborts its reads and stops its turn", () => {
  const conversation = new OpenConversation("c-1");
  const results = conversation.ticket("results");
  const closed = [];
  conversation.follower = { close: () => closed.push("follower") };
  conversation.live = { state: {}, view: { discard: () => closed.push("live view") } };
  conversation.running = true;
  conversation.ready = true;
  assert.equal(conversation.signal.aborted, false);

  conversation.close();
  assert.equal(conversation.closed, true);
  assert.equal(conversation.signal.aborted, true);
  assert.equal(results(), false);
  assert.equal(conversation.ticket("results")(), false, "nor does a request started afterwards");
  assert.deepEqual(closed, ["follower", "live view"]);
  assert.deepEqual([conversation.follower, conversation.live, conversation.running, conversation.ready], [null, null, false, false]);
});

test("each opening is its own: reopening a conversation does not revive the old opening's answers", () => {
  const first = new OpenConversation("c-1");
  const stale = first.ticket("results");
  first.close();
  const again = new OpenConversation("c-1");
  assert.equal(stale(), false);
  assert.equal(again.ticket("results")(), true);
});
