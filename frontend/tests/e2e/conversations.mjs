// Conversations: titles from the first message, newest first, new, search, rename, delete with
// confirmation, and the open conversation surviving a reload.
import { eventually, equal, ok, say } from "./expect.mjs";

const titles = (page) => page.evaluate(() => [...document.querySelectorAll("#conversation-list .open span")].map((s) => s.textContent));


export default async function ({ page, screenshot }) {
  await page.goto("/ui/");
  await say(page, "Plan an alpine trip");
  await eventually("the first title", async () => (await titles(page))[0] === "Plan an alpine trip");

  await page.getByRole("button", { name: "New conversation" }).click();
  await eventually("an empty conversation", async () => (await page.locator(".empty").count()) === 1);
  await say(page, "Budget for 2027");
  await eventually("both conversations, newest first", async () => JSON.stringify(await titles(page)) === JSON.stringify(["Budget for 2027", "Plan an alpine trip"]));
  equal(await page.locator("#conversation-title").textContent(), "Budget for 2027", "the header");

  await page.getByLabel("Search conversations").fill("ALPINE");
  equal(await titles(page), ["Plan an alpine trip"], "the search result");
  await page.getByLabel("Search conversations").fill("");

  await page.getByRole("button", { name: "Rename Budget for 2027" }).click();
  const title = page.getByRole("textbox", { name: "New title" });
  await title.fill("Budget, revised");
  await title.press("Enter");
  await eventually("the new title", async () => (await titles(page)).includes("Budget, revised"));
  await screenshot("conversations");

  // The open conversation, its title and its messages survive a reload.
  await page.reload();
  await eventually("the open conversation after a reload", async () => (await page.locator(".message.user .bubble").count()) === 1);
  equal(await page.locator(".message.user .bubble").textContent(), "Budget for 2027", "the conversation kept open");
  equal(await titles(page), ["Budget, revised", "Plan an alpine trip"], "the list after a reload");

  // Switching shows the other conversation's own messages.
  await page.getByRole("button", { name: /Plan an alpine trip/ }).first().click();
  await eventually("the other conversation", async () => (await page.locator(".message.user .bubble").textContent()) === "Plan an alpine trip");

  // Deleting asks first; cancelling keeps it.
  await page.getByRole("button", { name: "Delete Plan an alpine trip" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete this conversation?" });
  await dialog.getByRole("button", { name: "Cancel" }).click();
  equal((await titles(page)).length, 2, "nothing deleted on cancel");
  await page.getByRole("button", { name: "Delete Plan an alpine trip" }).click();
  await dialog.getByRole("button", { name: "Delete" }).click();
  await eventually("one conversation left", async () => JSON.stringify(await titles(page)) === JSON.stringify(["Budget, revised"]));
  await eventually("the remaining conversation open", async () => (await page.locator(".message.user .bubble").textContent()) === "Budget for 2027");
  const stored = await page.evaluate(async () => (await (await fetch("/api/conversations")).json()).conversations.map((c) => c.title));
  equal(stored, ["Budget, revised"], "what the server keeps");
  ok(true, "");
}
