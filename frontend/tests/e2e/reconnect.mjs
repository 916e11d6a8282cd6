// Reconnection: the connection drops in the middle of a streamed turn; the console says so,
// reconnects by itself, resumes from the last event it saw, and ends with the whole answer,
// nothing missing and nothing doubled.
import { eventually, equal, ok, ready } from "./expect.mjs";

const EXPECTED = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");

export default async function ({ page, signal, screenshot }) {
  await page.goto("/ui/");
  const input = page.getByLabel("Message", { exact: true });
  await input.waitFor();
  await ready(page);
  // Record every state the connection indicator shows.
  await page.evaluate(() => {
    window.__states = [];
    const status = document.querySelector("#connection");
    new MutationObserver(() => window.__states.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
  });
  await input.fill("Count for me");
  await input.press("Enter");
  await eventually("the first words", () => page.evaluate(() => (document.querySelector(".live")?.textContent || "").includes("word5")));
  await signal("cut");
  await eventually("the reconnecting notice", async () => (await page.evaluate(() => window.__states)).some((s) => s.includes("reconnecting")));
  await screenshot("reconnecting");
  await eventually("the end of the turn", async () => (await page.locator(".facts").count()) === 1, { timeout: 20_000 });
  const text = (await page.locator(".message.assistant .content").last().textContent()).trim();
  equal(text, EXPECTED, "the answer after the reconnect");
  ok(!(await page.locator("#connection").textContent()).includes("reconnecting"), "the notice gone");
}
