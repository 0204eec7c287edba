import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "@taskflow/testkit";
import { JobStatus } from "@taskflow/proto";
import { DESKTOP, PHONE, expectAccessible, expectNoPageOverflow, screenshot, startDashboardFixture, type DashboardFixture } from "./dashboard-fixture.js";

let f: DashboardFixture;

beforeAll(async () => {
  f = await startDashboardFixture();
  const done = await f.admin.submitMany([
    ...Array.from({ length: 6 }, (_, i) => ({ type: "echo", queue: "emails", payload: { to: `user${i}@example.com` } })),
    { type: "fail", queue: "emails", payload: { message: "smtp refused the message" }, maxAttempts: 1 },
  ]);
  for (const j of done) await f.admin.waitFor(j.id, { timeoutMs: 15_000 });
  // Waiting work the worker does not take: a queue nobody serves, and a delayed job.
  await f.admin.submitMany(Array.from({ length: 3 }, () => ({ type: "echo", queue: "unserved" })));
  await f.admin.submit({ type: "echo", queue: "emails", delayMs: 3_600_000 });
  await f.admin.pauseQueue("unserved");
});

afterAll(async () => {
  await f?.close();
});

describe("sign-in", () => {
  it("asks for a token, refuses a wrong one with the services' reason, and lets a reader in", async () => {
    const { context, page } = await f.open();
    try {
      await page.goto("/");
      await page.getByLabel("Token").fill("not-a-token-of-this-stack");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/^Refused: /);
      await expectAccessible(page);
      await screenshot(page, "sign-in");
      await page.getByLabel("Token").fill(f.tokens.reader);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Overview" }).waitFor();
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.getByLabel("Token").waitFor();
    } finally {
      await context.close();
    }
  });
});

describe("overview", () => {
  it("shows every queue's counts, the window's totals and charts, and follows new work without a reload", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto("/?window=1h");
      const emails = page.locator('tr[data-queue="emails"]');
      await expect.poll(() => emails.locator("td").allTextContents()).toEqual(["0", "1", "0", "no", "0", expect.any(String), "14.3 %", "—"]);
      const unserved = page.locator('tr[data-queue="unserved"]');
      await expect.poll(() => unserved.locator("td").nth(0).textContent()).toBe("3");
      await expect.poll(() => unserved.locator("td").nth(3).textContent()).toBe("paused");
      // Totals of the window from GetStats: 11 jobs submitted, 6 completed, 1 failed.
      await expect.poll(() => page.locator(".totals").textContent()).toMatch(/Submitted11Completed6Failed1/);
      await page.getByRole("img", { name: /^Throughput per bucket: 11 submitted, 6 completed, 1 failed/ }).waitFor();
      await page.getByRole("img", { name: /^Wait and run time percentiles/ }).waitFor();
      await page.getByRole("link", { name: "smtp refused the message" }).waitFor();
      await expectAccessible(page);
      await screenshot(page, "overview");

      // Live: a job submitted now shows up in the ready count without a reload.
      const job = await f.admin.submit({ type: "echo", queue: "unserved" });
      await expect.poll(() => unserved.locator("td").nth(0).textContent(), { timeout: 10_000 }).toBe("4");
      await f.admin.cancel(job.id);
      await eventually(async () => ((await f.admin.get(job.id)).status === JobStatus.CANCELLED ? true : undefined));

      await page.getByLabel("Window").selectOption("24h");
      await expect.poll(() => new URL(page.url()).searchParams.get("window")).toBe("24h");
      await page.getByRole("columnheader", { name: "Failure rate (24 hours)" }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("is readable on a phone-sized screen and usable by keyboard", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader, viewport: PHONE });
    try {
      await page.goto("/");
      await page.locator('tr[data-queue="emails"]').waitFor();
      await expectNoPageOverflow(page);
      await screenshot(page, "overview-phone");
      // The first Tab reaches the skip link, which moves focus to the content.
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
      await page.keyboard.press("Enter");
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.closest("main") !== null)).toBe(true);
      await page.setViewportSize(DESKTOP);
    } finally {
      await context.close();
    }
  });
});
