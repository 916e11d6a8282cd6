// Tenants: with token auth on, a sign-in page takes a token (a wrong one is refused), the
// console then works as that tenant, and signing out returns to the sign-in page.
import { eventually, equal, ok, ready } from "./expect.mjs";

export default async function ({ page, env, screenshot }) {
  await page.goto("/ui/");
  const token = page.getByLabel("API token");
  await token.waitFor();
  await screenshot("signin");
  await token.fill("okcvm_not-a-real-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await eventually("the refusal", async () => (await page.locator("#signin-error").textContent()).includes("not valid"));

  await token.fill(env.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await ready(page);
  ok(await page.getByRole("button", { name: "Sign out" }).isVisible(), "a sign-out button");
  const me = await page.evaluate(async () => (await fetch("/api/auth/me")).json());
  equal([me.tenant, me.auth], ["team-a", "tokens"], "who the console is");
  // The cookie cannot be read by scripts.
  equal(await page.evaluate(() => document.cookie.includes("okc_token")), false, "the token hidden from scripts");

  await page.getByRole("button", { name: "Sign out" }).click();
  await token.waitFor();
  const status = await page.evaluate(async () => (await fetch("/api/auth/me")).status);
  equal(status, 401, "signed out");
}
