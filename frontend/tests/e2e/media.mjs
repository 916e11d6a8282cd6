// Generated media: the image shows and the speech plays in their tool cards and in the
// results panel's Media tab.
import { eventually, ok, say } from "./expect.mjs";

export default async function ({ page, screenshot }) {
  await page.goto("/ui/");
  await say(page, "Make a picture and say hello");
  const cards = page.locator("details.tool");
  await cards.nth(0).locator("summary").click();
  await cards.nth(1).locator("summary").click();
  const image = cards.nth(0).locator(".body img");
  await eventually("the image in its card", () => image.evaluate((img) => img.complete && img.naturalWidth === 1));
  const audio = cards.nth(1).locator(".body audio");
  await eventually("the speech playable in its card", () => audio.evaluate((a) => a.readyState >= 1 && a.duration > 0.3));
  await screenshot("tool-cards");

  await page.getByRole("tab", { name: "Media" }).click();
  const panel = page.locator("#panel-media");
  await eventually("both files in the Media tab", async () => (await panel.locator("img").count()) === 1 && (await panel.locator("audio").count()) === 1);
  const player = panel.locator("audio");
  await eventually("the speech playable in the panel", () => player.evaluate((a) => a.readyState >= 1 && a.duration > 0.3));
  ok((await panel.textContent()).includes("hello.wav"), "the file's name");
  await screenshot("media");
}
