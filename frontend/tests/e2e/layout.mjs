// Layout and access: on a phone the sidebar and results fold into panels opened by buttons
// (Escape closes them); dark mode; every control has a name; the keyboard reaches Send. The
// page loads with no error and no failed request, and has its icon (also at /favicon.ico,
// which browsers ask for whatever the page links).
import { eventually, equal, loadCleanly, ok, ready } from "./expect.mjs";

export default async function ({ browser, baseUrl, screenshot }) {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, baseURL: baseUrl, hasTouch: true });
  const page = await phone.newPage();
  await loadCleanly(page);

  const icon = await page.locator('link[rel="icon"]').getAttribute("href");
  const svg = await page.request.get(new URL(icon, page.url()).href);
  const ico = await page.request.get("/favicon.ico");
  for (const [name, response] of [[icon, svg], ["/favicon.ico", ico]]) {
    equal(response.status(), 200, `${name}'s status`);
    equal(response.headers()["content-type"], "image/svg+xml", `${name}'s type`);
    equal(response.headers()["cache-control"], "no-cache", `${name}'s caching`);
    ok(response.headers().etag, `${name}'s ETag`);
  }
  equal((await ico.body()).equals(await svg.body()), true, "/favicon.ico is the linked icon");
  ok((await svg.text()).startsWith("<svg"), "the icon is an SVG");
  const inView = (selector) => page.locator(selector).evaluate((e) => {
    const box = e.getBoundingClientRect();
    return box.right > 1 && box.left < window.innerWidth - 1;
  });
  equal(await inView("#sidebar"), false, "the sidebar folded away on a phone");
  await page.getByRole("button", { name: "Show conversations" }).click();
  await eventually("the sidebar open", () => inView("#sidebar"));
  await screenshot("phone-sidebar", page);
  await page.keyboard.press("Escape");
  await eventually("the sidebar closed", async () => !(await inView("#sidebar")));
  await page.getByRole("button", { name: "Show results" }).click();
  await eventually("the results open", () => inView("#results"));
  await page.keyboard.press("Escape");

  // Settings, theme and sign-out live at the foot of the sidebar.
  await page.getByRole("button", { name: "Show conversations" }).click();
  await eventually("the sidebar open", () => inView("#sidebar"));
  await page.getByRole("button", { name: "Switch between light and dark" }).click();
  equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark", "dark mode");
  await page.keyboard.press("Escape");
  await eventually("the sidebar closed", async () => !(await inView("#sidebar")));
  await screenshot("phone-dark", page);
  await page.reload();
  await ready(page);
  equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark", "dark mode kept");

  const unnamed = await page.evaluate(() =>
    [...document.querySelectorAll("button, input, textarea, select, [role=tab]")]
      .filter((e) => !e.closest("[hidden]") && e.type !== "file")
      .filter((e) => {
        const labelled = e.getAttribute("aria-label") || e.labels?.length || e.getAttribute("aria-labelledby");
        return !labelled && !e.textContent.trim();
      })
      .map((e) => e.outerHTML.slice(0, 80)),
  );
  equal(unnamed, [], "controls without a name");

  await page.getByLabel("Message", { exact: true }).focus();
  await page.keyboard.press("Tab");
  equal(await page.evaluate(() => document.activeElement.id), "send", "Tab from the message reaches Send");
  ok(true, "");
  await phone.close();
}
