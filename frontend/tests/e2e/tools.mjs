// Tool activity: a card per call with its name, a readable summary of the arguments and its
// state (running, done in N s, failed); the output on expand, shell output as monospace, images
// inline; a second tab opened mid-turn shows the running turn live; after a reload the cards
// are rebuilt from the server.
import { eventually, equal, ok, ready } from "./expect.mjs";

const cards = (page) =>
  page.evaluate(() =>
    [...document.querySelectorAll(".message.assistant details.tool")].map((card) => ({
      name: card.querySelector(".name").textContent,
      args: card.querySelector(".args").textContent,
      status: card.dataset.status,
      state: card.querySelector(".state").textContent,
    })),
  );

export default async function ({ page, context, screenshot }) {
  await page.goto("/ui/");
  const input = page.getByLabel("Message", { exact: true });
  await input.waitFor();
  await ready(page);
  await input.fill("List the workspace");
  await input.press("Enter");

  await eventually("a running card", async () => (await cards(page)).some((c) => c.status === "running"));
  const running = (await cards(page)).find((c) => c.status === "running");
  equal(running.name, "shell", "the running tool");
  equal(running.state, "running…", "its state");
  equal(running.args, "sleep 1.5; echo hello from the sandbox", "its arguments, summarised");

  // A second tab on the same conversation shows the running turn as it goes.
  const second = await context.newPage();
  await second.goto(page.url());
  await eventually("the running card in the second tab", async () => (await cards(second)).some((c) => c.name === "shell"));

  await eventually("the end of the turn", async () => (await page.locator(".facts").count()) === 1, { timeout: 15_000 });
  const done = await cards(page);
  equal(done.map((c) => [c.name, c.status]), [["shell", "done"], ["read_file", "failed"], ["ipython", "done"]], "the cards after the turn");
  ok(/^done in \d/.test(done[0].state), `a duration in "${done[0].state}"`);
  const shell = page.locator("details.tool").first();
  await shell.locator("summary").click();
  const output = shell.locator(".body pre").last();
  ok((await output.textContent()).includes("hello from the sandbox"), "the shell output");
  equal(await output.evaluate((e) => getComputedStyle(e).fontFamily.includes("mono")), true, "monospace output");
  const failed = page.locator("details.tool").nth(1);
  await failed.locator("summary").click();
  ok((await failed.locator(".body").textContent()).includes("missing.txt"), "the failure says what failed");
  const python = page.locator("details.tool").nth(2);
  await python.locator("summary").click();
  const image = python.locator(".body img");
  await eventually("the image the cell returned", () => image.evaluate((img) => img.complete && img.naturalWidth === 8));
  await screenshot("tool-cards");

  await eventually("the second tab at the end", async () => (await second.locator(".facts").count()) === 1, { timeout: 15_000 });
  equal((await cards(second)).map((c) => c.status), ["done", "failed", "done"], "the second tab's cards");

  await page.reload();
  await eventually("cards after a reload", async () => (await cards(page)).length === 3);
  const rebuilt = await cards(page);
  equal(rebuilt.map((c) => [c.name, c.status, c.args]), done.map((c) => [c.name, c.status, c.args]), "cards rebuilt from the server");
  ok(/^done in \d/.test(rebuilt[0].state), "the duration kept");
}
