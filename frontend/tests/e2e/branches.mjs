// Edit, regenerate and the `< 2/3 >` navigator: versions are kept on the server, and switching
// versions brings back that version's files.
import { eventually, equal, ok, ready } from "./expect.mjs";

async function fileText(page) {
  return page.evaluate(async () => {
    const id = new URLSearchParams(location.hash.slice(1)).get("c");
    const response = await fetch(`/api/session/workspace/files/output/a.txt?client_id=${id}`);
    return response.ok ? response.text() : `(${response.status})`;
  });
}

const finished = (page, count) => eventually(`${count} answers`, async () => (await page.locator(".facts").count()) === count && (await page.getByRole("button", { name: "Send" }).isVisible()), { timeout: 15_000 });

export default async function ({ page, screenshot }) {
  await page.goto("/ui/");
  const input = page.getByLabel("Message", { exact: true });
  await input.waitFor();
  await ready(page);
  await input.fill("Write the first version");
  await input.press("Enter");
  await finished(page, 1);
  equal(await fileText(page), "first", "the file after the first turn");

  // Edit the message: a second version of it, with its own files.
  const user = page.locator(".message.user").first();
  await user.getByRole("button", { name: "Edit message" }).click();
  const editor = page.getByRole("textbox", { name: "Edit message" });
  await editor.fill("Write the edited version");
  await page.getByRole("button", { name: "Save and send" }).click();
  await finished(page, 1);
  equal(await page.locator(".message.user .bubble").first().textContent(), "Write the edited version", "the edited message");
  const versions = page.getByRole("group", { name: "Versions of this message" });
  equal((await versions.textContent()).replace(/[<>]/g, ""), "2/2", "the navigator");
  equal(await fileText(page), "edited", "the edited version's file");
  await screenshot("branches");

  // Back to the first version: its text and its file.
  await versions.getByRole("button", { name: "Previous version" }).click();
  await eventually("the first version", async () => (await page.locator(".message.user .bubble").first().textContent()) === "Write the first version");
  equal((await versions.textContent()).replace(/[<>]/g, ""), "1/2", "the navigator");
  ok((await page.locator(".message.assistant").last().textContent()).includes("Wrote first"), "the first version's answer");
  equal(await fileText(page), "first", "the first version's file came back");

  // Regenerate the answer: a new version of the last message.
  await page.getByRole("button", { name: "Regenerate answer" }).click();
  await finished(page, 1);
  ok((await page.locator(".message.assistant").last().textContent()).includes("A regenerated answer"), "the new answer");
  equal((await page.getByRole("group", { name: "Versions of this message" }).textContent()).replace(/[<>]/g, ""), "3/3", "three versions now");

  // The choice survives a reload.
  await page.reload();
  await eventually("the regenerated answer after a reload", async () => (await page.locator(".message.assistant").last().textContent()).includes("A regenerated answer"));
}
