// Uploads: the button and drag-and-drop, the server's limits shown, a file over the limit
// refused with a clear message, and uploaded files announced to the agent with the message.
import { eventually, equal, ok, ready } from "./expect.mjs";

export default async function ({ page, screenshot }) {
  await page.goto("/ui/");
  await ready(page);
  await eventually("the limits", async () => (await page.locator("#limits").textContent()).includes("0 of 3 files, up to 1 MB each"));

  await page.locator("#file-input").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello upload") });
  await eventually("the uploaded file", async () => (await page.locator("#upload-list").textContent()).includes("notes.txt (12 B)"));

  await page.locator("#file-input").setInputFiles({ name: "big.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(2 * 1024 * 1024, 1) });
  const refusal = page.locator("#upload-list li.failed");
  await refusal.waitFor();
  ok((await refusal.textContent()).includes("big.bin is 2.0 MB: the limit is 1 MB per file"), "the refusal says why");
  await screenshot("upload-refused");
  await refusal.getByRole("button", { name: "Dismiss" }).click();

  // Drag and drop onto the chat.
  await page.evaluate(() => {
    const transfer = new DataTransfer();
    transfer.items.add(new File(["a,b\n1,2\n"], "table.csv", { type: "text/csv" }));
    const chat = document.querySelector("#chat");
    chat.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true }));
    window.__zoneShown = !document.querySelector("#drop-zone").hidden;
    chat.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  equal(await page.evaluate(() => window.__zoneShown), true, "the drop zone while dragging");
  await eventually("the dropped file", async () => (await page.locator("#upload-list").textContent()).includes("table.csv"));
  equal(await page.locator("#drop-zone").isHidden(), true, "the drop zone after the drop");
  ok((await page.locator("#limits").textContent()).includes("2 of 3 files"), "the count");

  const input = page.getByLabel("Message", { exact: true });
  await input.fill("Read my files");
  await input.press("Enter");
  await eventually("the answer", async () => (await page.locator(".facts").count()) === 1);
  ok((await page.locator(".message.user").textContent()).includes("Attached: notes.txt, table.csv"), "the attachments under the message");
}
