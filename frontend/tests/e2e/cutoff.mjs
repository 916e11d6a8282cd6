// A model connection cut mid-answer: the error shows, and after a reload the part that arrived
// is still there, marked as cut off.
import { eventually, ok, ready } from "./expect.mjs";

export default async function ({ page }) {
  await page.goto("/ui/");
  await ready(page);
  const input = page.getByLabel("Message", { exact: true });
  await input.fill("Tell me everything");
  await input.press("Enter");
  await eventually("the error", async () => (await page.locator(".turn-error").count()) === 1);
  ok((await page.locator(".turn-error").textContent()).includes("model_unreachable"), "the error names its code");
  await page.reload();
  await ready(page);
  await eventually("the kept answer", async () => (await page.locator(".message.assistant .content").count()) === 1);
  const text = await page.locator(".message.assistant .content").textContent();
  ok(text.includes("The first half"), `the part that arrived, not "${text}"`);
  const note = page.locator(".cut-off");
  ok((await note.count()) === 1, "one cut-off note");
  ok((await note.textContent()).includes("cut off"), "the note says the answer was cut off");
}
