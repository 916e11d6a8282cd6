// Chat: Enter sends, tokens stream in, markdown with highlighted code and copy buttons,
// the reasoning folds away, nothing in a reply runs, measured facts show, the sidebar takes
// the title, and a reload draws the same conversation from the server.
import { eventually, equal, ok, ready } from "./expect.mjs";

export default async function ({ page, screenshot }) {
  await page.goto("/ui/");
  const input = page.getByLabel("Message", { exact: true });
  await input.waitFor();
  await ready(page);
  await input.fill("Show me some *markdown*");
  await input.press("Shift+Enter");
  await input.press("Backspace");
  await input.press("Enter");

  // Streaming: part of the answer shows before the turn ends.
  await eventually("streamed text", () => page.evaluate(() => (document.querySelector(".live")?.textContent || "").includes("Here is")));
  await eventually("the end of the turn", async () => (await page.locator(".facts").count()) === 1);

  const answer = page.locator(".message.assistant").last();
  ok(await answer.locator("strong", { hasText: "bold" }).count(), "bold text");
  ok(await answer.locator("pre code.hljs").count(), "highlighted code");
  ok(await answer.getByRole("button", { name: "Copy code" }).count(), "a copy button on the code");
  ok(await answer.locator("table td", { hasText: "2" }).count(), "a table");
  equal(await answer.locator("script").count(), 0, "script elements in the reply");
  equal(await answer.locator("img[onerror]").count(), 0, "event handlers in the reply");
  equal(await page.evaluate(() => window.__xss ?? null), null, "what the reply's script did");
  const reasoning = answer.locator("details.reasoning");
  equal(await reasoning.getAttribute("open"), null, "reasoning folded after the turn");
  ok((await reasoning.textContent()).includes("Let me think"), "the reasoning");
  const facts = await answer.locator(".facts").textContent();
  ok(facts.includes("42 tokens in") && facts.includes("17 tokens out"), `measured tokens in "${facts}"`);
  await page.getByRole("button", { name: "Send" }).waitFor();

  const sidebar = page.getByRole("navigation", { name: "Conversation list" });
  await eventually("the title in the sidebar", async () => (await sidebar.textContent()).includes("Show me some *markdown*"));
  await screenshot("chat");

  await page.reload();
  await eventually("the conversation after a reload", async () => (await page.locator(".message.assistant .content").count()) === 1);
  equal(await page.locator(".message.user .bubble").textContent(), "Show me some *markdown*", "the user message");
  ok(await page.locator(".message.assistant pre code.hljs").count(), "highlighted code after the reload");
  ok((await page.locator(".facts").textContent()).includes("42 tokens in"), "facts after the reload");
}
