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
