// The results panel: a deployed site in a sandboxed frame with "open in new tab", a deck's
// outline and download, generated images, a workspace file browser with previews, and the
// snapshot list whose restore brings files back; a refresh answered after a switch to another
// conversation draws nothing there.
import { eventually, equal, ok, say, steadily } from "./expect.mjs";

const notes = (page) =>
  page.evaluate(async () => {
    const id = new URLSearchParams(location.hash.slice(1)).get("c");
    return (await fetch(`/api/session/workspace/files/output/notes.txt?client_id=${id}`)).text();
  });

const openId = (page) => page.evaluate(() => new URLSearchParams(location.hash.slice(1)).get("c"));

const listed = (page, id) => page.locator(`#conversation-list li[data-id="${id}"] button.open`);

export default async function ({ page, screenshot }) {
  await page.goto("/ui/");
  await say(page, "Build everything");

  // The site, framed in a sandbox.
  const frame = page.locator("#panel-preview iframe");
  await frame.waitFor();
  equal(await frame.getAttribute("sandbox"), "allow-scripts allow-forms allow-popups allow-modals", "the frame's sandbox");
  ok((await frame.getAttribute("src")).startsWith("/sites/") || (await frame.getAttribute("src")).includes("/sites/"), "the site's address");
  await eventually("the site's page", async () => (await page.frameLocator("#panel-preview iframe").locator("h1").textContent()) === "Welcome aboard");
  const open = page.getByRole("link", { name: "Open in new tab" });
  equal(await open.getAttribute("target"), "_blank", "opens in a new tab");
  await screenshot("preview");

  // The deck.
  await page.getByRole("tab", { name: "Slides" }).click();
  const slides = page.locator("#panel-slides");
  await eventually("the outline", async () => (await slides.textContent()).includes("Launch plan"));
  ok((await slides.textContent()).includes("Beta in May"), "the bullets");
  const href = await slides.getByRole("link", { name: "Download .pptx" }).getAttribute("href");
  const deck = await page.evaluate(async (url) => {
    const response = await fetch(url);
    return [response.status, response.headers.get("content-type")];
  }, href);
  equal(deck, [200, "application/vnd.openxmlformats-officedocument.presentationml.presentation"], "the deck download");
  await screenshot("slides");

  // Generated media.
  await page.getByRole("tab", { name: "Media" }).click();
  const image = page.locator("#panel-media img");
  await image.waitFor();
  await eventually("the image loaded", () => image.evaluate((img) => img.complete && img.naturalWidth === 1));

  // The file browser: folders, a text preview.
  await page.getByRole("tab", { name: "Files" }).click();
  await page.getByRole("button", { name: "📁 output" }).click();
  await page.getByRole("button", { name: "notes.txt" }).click();
  await eventually("the preview", async () => (await page.locator("#file-preview pre").textContent()) === "v1");
  await screenshot("files");

  // Snapshots: take one now, change the file, restore the snapshot.
  await page.getByRole("tab", { name: "Snapshots" }).click();
  await page.getByRole("button", { name: "Take a snapshot now" }).click();
  await eventually("the snapshot listed", async () => (await page.locator("#panel-snapshots").textContent()).includes("Taken from the console"));
  await say(page, "Change the notes");
  equal(await notes(page), "v2", "the file after the second turn");
  await page.getByRole("tab", { name: "Snapshots" }).click();
  const row = page.locator(".snapshot-list li", { hasText: "Taken from the console" });
  await row.getByRole("button", { name: "Restore" }).click();
  await page.getByRole("dialog", { name: "Restore this snapshot?" }).getByRole("button", { name: "Restore" }).click();
  await eventually("the file restored", async () => (await notes(page)) === "v1");
  await screenshot("snapshots");

  // The first conversation's results refresh is held until the second conversation is open:
  // its late answer must not draw there.
  const first = await openId(page);
  await page.getByRole("button", { name: "New conversation", exact: true }).click();
  await eventually("a second conversation open", async () => (await openId(page)) !== first);
  const second = await openId(page);
  const ownResults = () =>
    page.evaluate(() => {
      const text = (id) => document.getElementById(id).textContent;
      return text("panel-preview").includes("Sites the agent deploys appear here.")
        && text("panel-slides").includes("Slide decks the agent makes appear here.")
        && !text("panel-snapshots").includes("Taken from the console");
    });
  await eventually("the second conversation's results", ownResults);

  let held = null;
  let ended = false;
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  const firstRefresh = (url) => url.pathname === "/api/session/boot" && url.searchParams.get("client_id") === first;
  await page.route(firstRefresh, async (route) => {
    held = route.request();
    const response = await route.fetch();
    await released;
    // The page may have given up on the request by now.
    await route.fulfill({ response }).catch(() => {});
  });
  const end = (request) => { if (request === held) ended = true; };
  page.on("requestfinished", end);
  page.on("requestfailed", end);
  await listed(page, first).click();
  await eventually("the first conversation's refresh, held", () => held !== null);
  await listed(page, second).click();
  await eventually("the second conversation drawn", async () => (await openId(page)) === second && (await page.locator(".empty").count()) === 1);
  await eventually("the second conversation's results", ownResults);
  release();
  await eventually("the held refresh over", () => ended);
  await steadily("the second conversation's own results, not the first's", ownResults);
  await page.unroute(firstRefresh);
  page.off("requestfinished", end);
  page.off("requestfailed", end);
}
