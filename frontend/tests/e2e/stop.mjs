// Stop: a Stop button while a turn runs; stopping keeps what was written so far.
import { eventually, ok, ready } from "./expect.mjs";

export default async function ({ page }) {
  await page.goto("/ui/");
  await ready(page);
  const input = page.getByLabel("Message", { exact: true });
  await input.fill("Write a long story");
  await input.press("Enter");
  await eventually("the first words", () => page.evaluate(() => (document.querySelector(".live")?.textContent || "").includes("Once")));
  await page.getByRole("button", { name: "Stop" }).click();
  await page.getByRole("button", { name: "Send" }).waitFor();
  await eventually("the partial answer kept", async () => (await page.locator(".message.assistant .content").count()) === 1);
  const text = await page.locator(".message.assistant .content").textContent();
  ok(text.startsWith("Once") && !text.includes("The end"), `a partial answer, not "${text}"`);
}
