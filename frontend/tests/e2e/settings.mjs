// Settings: with no chat model the console says so and opens Settings instead of failing;
// saving the endpoint makes chat work; a stored key is shown as stored, never displayed.
import { eventually, equal, ok, ready } from "./expect.mjs";

export default async function ({ page, env, screenshot }) {
  await page.goto("/ui/");
  const dialog = page.getByRole("dialog", { name: "Settings" });
  await dialog.waitFor();
  ok((await page.locator("#notice").textContent()).includes("No chat model is configured"), "the notice");
  await screenshot("settings");
  await dialog.getByLabel("Model").first().fill("fake-model");
  await dialog.getByLabel("Base URL").first().fill(env.model_url);
  await dialog.getByLabel("API key").first().fill("sk-secret-value");
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "hidden" });
  equal(await page.locator("#notice").isHidden(), true, "the notice gone");

  await ready(page);
  const input = page.getByLabel("Message", { exact: true });
  await input.fill("Hello there");
  await input.press("Enter");
  await eventually("the answer", async () => (await page.locator(".message.assistant .content").textContent()).includes("Configured and working"));

  await page.getByRole("button", { name: "Settings" }).click();
  await dialog.waitFor();
  equal(await dialog.getByLabel("API key").first().inputValue(), "", "the key field stays empty");
  ok((await dialog.locator("fieldset").first().textContent()).includes("A key is stored."), "the key shown as stored");
  ok(!(await page.content()).includes("sk-secret-value"), "the key is nowhere in the page");
  const config = await page.evaluate(async () => (await fetch("/api/config")).json());
  equal(config.chat.api_key_present, true, "the server keeps the key");
  equal(JSON.stringify(config).includes("sk-secret-value"), false, "the API never returns the key");
  await dialog.getByRole("button", { name: "Cancel" }).click();
}
