// Waiting assertions for scenarios: poll until true or fail with what was seen.

export async function eventually(what, check, { timeout = 10_000, interval = 50 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** Checks that `check` holds, and keeps holding for `period` ms (for what must not happen). */
export async function steadily(what, check, { period = 1_000, interval = 50 } = {}) {
  const until = Date.now() + period;
  for (;;) {
    const value = await check();
    if (!value) throw new Error(`expected ${what}`);
    if (Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

export function equal(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

export function ok(value, what) {
  if (!value) throw new Error(`expected ${what}`);
}

/** Waits until the open conversation is drawn and a message can be sent. */
export async function ready(page) {
  await page.locator("#send:enabled").waitFor();
}

/**
 * Opens the console and waits until it is drawn and the network is quiet; fails on anything
 * that went wrong meanwhile: a console error (a failed resource included), an uncaught
 * exception, a request that failed or was answered with an error status.
 */
export async function loadCleanly(page, path = "/ui/") {
  const problems = [];
  const listeners = {
    console: (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()} (${message.location().url})`);
    },
    pageerror: (error) => problems.push(`page error: ${error.message}`),
    requestfailed: (request) => problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`),
    response: (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} for ${response.request().method()} ${response.url()}`);
    },
  };
  for (const [name, listener] of Object.entries(listeners)) page.on(name, listener);
  try {
    await page.goto(path);
    await ready(page);
    await page.waitForLoadState("networkidle");
  } finally {
    for (const [name, listener] of Object.entries(listeners)) page.off(name, listener);
  }
  if (problems.length) throw new Error(`loading the console went wrong:\n${problems.join("\n")}`);
}

/** Sends a message from the composer. */
export async function send(page, text) {
  await ready(page);
  const input = page.getByLabel("Message", { exact: true });
  await input.fill(text);
  await input.press("Enter");
}

/** Sends a message and waits until its turn has ended. */
export async function say(page, text, { timeout = 20_000 } = {}) {
  await send(page, text);
  await eventually(
    `the answer to "${text}"`,
    async () => (await page.locator(".facts").count()) >= 1 && (await page.getByRole("button", { name: "Send" }).isVisible()),
    { timeout },
  );
}
