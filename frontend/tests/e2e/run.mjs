// Runs one console scenario in headless Chromium against a running server:
//   node tests/e2e/run.mjs <scenario> <base-url>
// The Rust test that starts the server (and scripts its fake model) runs this and checks the
// exit status. A scenario may print `SIGNAL <name>` and wait for a line on stdin, so the test
// can act on the server side (cut connections, restart) at that moment. Screenshots go to
// $OKCVM_SCREENSHOTS (the failure state always, main screens when a scenario asks).

import { chromium } from "playwright-core";
import { createInterface } from "node:readline";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [scenario, baseUrl] = process.argv.slice(2);
if (!scenario || !baseUrl) {
  console.error("usage: node tests/e2e/run.mjs <scenario> <base-url>");
  process.exit(2);
}
const shots = process.env.OKCVM_SCREENSHOTS || null;
if (shots) mkdirSync(shots, { recursive: true });

const lines = createInterface({ input: process.stdin });
const waiting = [];
lines.on("line", (line) => waiting.shift()?.(line));

const browser = await chromium.launch({
  executablePath: process.env.OKCVM_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: baseUrl });
const page = await context.newPage();
const errors = [];
page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
page.on("console", (message) => {
  if (message.type() === "error" && !/Failed to load resource/.test(message.text())) {
    errors.push(`console error: ${message.text()}`);
  }
});

if (process.env.OKCVM_E2E_TRACE) {
  page.on("request", (request) => console.error(`> ${request.method()} ${request.url()}`));
  page.on("response", (response) => console.error(`< ${response.status()} ${response.url()}`));
}

const ctx = {
  baseUrl,
  /** Values the test passes in (OKCVM_E2E_* variables, without the prefix, lower-cased). */
  env: Object.fromEntries(
    Object.entries(process.env)
      .filter(([name]) => name.startsWith("OKCVM_E2E_"))
      .map(([name, value]) => [name.slice("OKCVM_E2E_".length).toLowerCase(), value]),
  ),
  browser,
  context,
  page,
  errors,
  async screenshot(name, target = page) {
    if (shots) await target.screenshot({ path: join(shots, `${scenario}-${name}.png`), fullPage: false });
  },
  /** Tells the test driving this run that `name` happened, and waits for its answer. */
  async signal(name) {
    const answer = new Promise((resolve) => waiting.push(resolve));
    console.log(`SIGNAL ${name}`);
    return answer;
  },
};

let failed = false;
try {
  const { default: run } = await import(`./${scenario}.mjs`);
  await run(ctx);
  if (errors.length) throw new Error(`the page reported errors:\n${errors.join("\n")}`);
  console.log(`PASS ${scenario}`);
} catch (error) {
  failed = true;
  console.error(`FAIL ${scenario}: ${error.stack || error}`);
  if (shots) await page.screenshot({ path: join(shots, `${scenario}-failure.png`), fullPage: true }).catch(() => {});
} finally {
  lines.close();
  await browser.close();
}
process.exit(failed ? 1 : 0);
