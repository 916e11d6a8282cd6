// Measures the console in headless Chromium against a running server (started and seeded by
// `cargo bench --bench console`): first paint, opening and scrolling a 500-message
// conversation, and the page's responsiveness while a reply streams at 100 tokens/s.
// Prints one JSON object per measurement.
import { chromium } from "playwright-core";

const [baseUrl, longConversation] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.OKCVM_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))];
};
const round = (n) => Math.round(n * 10) / 10;

/** Frame intervals and long tasks in the page from now on. */
const watch = (page) =>
  page.evaluate(() => {
    window.__frames = [];
    window.__longTasks = [];
    let last = performance.now();
    const tick = (now) => {
      window.__frames.push(now - last);
      last = now;
      if (!window.__stopFrames) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
    }).observe({ type: "longtask", buffered: false });
  });
const collect = async (page) => {
  const { frames, longTasks } = await page.evaluate(() => {
    window.__stopFrames = true;
    return { frames: window.__frames.slice(1), longTasks: window.__longTasks };
  });
  return {
    frames: frames.length,
    frame_p50_ms: round(percentile(frames, 0.5)),
    frame_p95_ms: round(percentile(frames, 0.95)),
    frame_max_ms: round(Math.max(...frames)),
    long_tasks: longTasks.length,
    longest_task_ms: round(Math.max(0, ...longTasks)),
  };
};

// 1. First paint of the console, each load in a fresh context (nothing cached).
const paints = [];
for (let i = 0; i < 10; i += 1) {
  const context = await browser.newContext({ baseURL: baseUrl });
  const page = await context.newPage();
  await page.goto("/ui/", { waitUntil: "load" });
  await page.locator("#send:enabled").waitFor();
  const paint = await page.evaluate(() => {
    const entry = performance.getEntriesByName("first-contentful-paint")[0] || performance.getEntriesByName("first-paint")[0];
    return entry ? entry.startTime : null;
  });
  const ready = await page.evaluate(() => performance.now());
  paints.push({ paint, ready });
  await context.close();
}
console.log(JSON.stringify({
  measure: "first_paint",
  loads: paints.length,
  first_contentful_paint_p50_ms: round(percentile(paints.map((p) => p.paint), 0.5)),
  first_contentful_paint_max_ms: round(Math.max(...paints.map((p) => p.paint))),
  conversation_ready_p50_ms: round(percentile(paints.map((p) => p.ready), 0.5)),
}));

// 2. A 500-message conversation: open it, then scroll from top to bottom.
{
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const started = Date.now();
  await page.goto(`/ui/#c=${longConversation}`);
  await page.locator("#send:enabled").waitFor();
  const opened = Date.now() - started;
  const messages = await page.locator(".message").count();
  await page.evaluate(() => { document.querySelector("#messages").scrollTop = 0; });
  await watch(page);
  await page.evaluate(async () => {
    const list = document.querySelector("#messages");
    const steps = 120;
    for (let i = 1; i <= steps; i += 1) {
      list.scrollTop = (list.scrollHeight * i) / steps;
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
  });
  console.log(JSON.stringify({ measure: "long_conversation", messages, open_ms: opened, ...(await collect(page)) }));
  await context.close();
}

// 3. Streaming at 100 tokens/s (the fake model's next reply): frames while it streams.
{
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto("/ui/");
  await page.locator("#send:enabled").waitFor();
  await page.getByRole("button", { name: "New conversation" }).click();
  await page.locator(".empty").waitFor();
  await page.locator("#send:enabled").waitFor();
  const input = page.getByLabel("Message", { exact: true });
  await input.fill("Stream a long answer");
  await watch(page);
  const started = Date.now();
  await input.press("Enter");
  await page.locator(".facts").waitFor({ timeout: 60_000 });
  const took = Date.now() - started;
  const tokens = await page.evaluate(() => document.querySelector(".message.assistant .content").textContent.split(/\s+/).filter(Boolean).length);
  console.log(JSON.stringify({ measure: "streaming", tokens, seconds: round(took / 1000), ...(await collect(page)) }));
  await context.close();
}

await browser.close();
