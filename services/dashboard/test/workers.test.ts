import { WorkerStatus } from "@taskflow/proto";
import { createWorker } from "@taskflow/worker-sdk";
import type { Page } from "playwright-core";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PHONE, expectAccessible, expectNoPageOverflow, screenshot, startDashboardFixture, type DashboardFixture } from "./dashboard-fixture.js";

let f: DashboardFixture;

beforeAll(async () => {
  f = await startDashboardFixture();
  const done = await f.admin.submitMany([
    ...Array.from({ length: 3 }, (_, i) => ({ type: "echo", queue: "default", payload: { n: i } })),
    { type: "fail", queue: "emails", payload: { message: "smtp refused the message" }, maxAttempts: 1 },
  ]);
  for (const j of done) await f.admin.waitFor(j.id, { timeoutMs: 15_000 });
});

afterAll(async () => {
  await f?.close();
});

const row = (page: Page, id: string) => page.locator(`tr[data-worker="${id}"]`);
const cell = (page: Page, id: string, col: string) => row(page, id).locator(`td[data-col="${col}"]`);

describe("workers", () => {
  it("shows the fixture's worker as healthy with its types, queues and counts, and its current job live", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto("/workers");
      await expect.poll(() => cell(page, "dash-worker", "health").textContent()).toBe("healthy");
      expect(await cell(page, "dash-worker", "queues").textContent()).toBe("default, emails, reports");
      expect((await cell(page, "dash-worker", "types").textContent())?.split(", ").sort()).toEqual(["echo", "fail", "slow"]);
      await expect.poll(() => cell(page, "dash-worker", "completed").textContent(), { timeout: 10_000 }).toBe("3");
      await expect.poll(() => cell(page, "dash-worker", "failed").textContent()).toBe("1");
      expect(await cell(page, "dash-worker", "current").textContent()).toBe("none");

      // A slow job in progress shows as the worker's current job, linked to its page, without a reload.
      const slow = await f.admin.submit({ type: "slow", queue: "reports", payload: { ms: 8_000 } });
      const link = cell(page, "dash-worker", "current").getByRole("link", { name: slow.id });
      await link.waitFor({ timeout: 15_000 });
      expect(await link.getAttribute("href")).toBe(`/jobs/${slow.id}`);
      await expectAccessible(page);
      await screenshot(page, "workers");

      await f.admin.waitFor(slow.id, { timeoutMs: 20_000 });
      await expect.poll(() => cell(page, "dash-worker", "current").textContent(), { timeout: 10_000 }).toBe("none");
      await expect.poll(() => cell(page, "dash-worker", "completed").textContent(), { timeout: 10_000 }).toBe("4");

      // One worker in full (GetWorker), opened from the list.
      await row(page, "dash-worker").getByRole("link", { name: "dash-worker" }).click();
      await expect.poll(() => new URL(page.url()).searchParams.get("worker")).toBe("dash-worker");
      const detail = page.locator('[data-worker-detail="dash-worker"]');
      await expect.poll(() => detail.locator("dl").textContent()).toMatch(/Healthhealthy.*Concurrency10.*Completed4Failed1/);
      await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("Worker dash-worker");
    } finally {
      await context.close();
    }
  });

  it("shows a worker that stopped as gone, and filters by health", async () => {
    const second = createWorker({
      scheduler: f.stack.schedulerUrl,
      token: f.tokens.worker,
      workerId: "dash-worker-2",
      queues: ["imports"],
      concurrency: 2,
      handlers: { import: () => Promise.resolve({ ok: true }) },
      logger: pino({ level: "silent" }),
    });
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await second.start();
      await page.goto("/workers");
      await expect.poll(() => cell(page, "dash-worker-2", "health").textContent(), { timeout: 10_000 }).toBe("healthy");
      expect(await cell(page, "dash-worker-2", "queues").textContent()).toBe("imports");
      expect(await cell(page, "dash-worker-2", "types").textContent()).toBe("import");

      // Deregistering marks it gone in history (a departure, not a late heartbeat).
      await second.stop();
      await expect.poll(() => cell(page, "dash-worker-2", "health").textContent(), { timeout: 10_000 }).toBe("gone");
      expect((await f.reader.worker("dash-worker-2")).status).toBe(WorkerStatus.GONE);

      await page.getByLabel("Health").selectOption("gone");
      await expect.poll(() => new URL(page.url()).searchParams.get("status")).toBe("gone");
      await expect.poll(() => page.locator("tr[data-worker]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-worker")))).toEqual(["dash-worker-2"]);
      await page.getByLabel("Health").selectOption("healthy");
      await expect.poll(() => page.locator("tr[data-worker]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-worker")))).toEqual(["dash-worker"]);
      await page.getByLabel("Health").selectOption("stale");
      await page.getByText("No worker has this health.").waitFor();
      await page.getByLabel("Health").selectOption("");
      await expect.poll(() => new URL(page.url()).searchParams.has("status")).toBe(false);
      await expect.poll(() => page.locator("tr[data-worker]").count()).toBe(2);
    } finally {
      await second.stop();
      await context.close();
    }
  });

  it("is readable on a phone-sized screen", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader, viewport: PHONE });
    try {
      await page.goto("/workers?worker=dash-worker");
      await row(page, "dash-worker").waitFor();
      await page.locator('[data-worker-detail="dash-worker"] dl').waitFor();
      await expectNoPageOverflow(page);
      await expectAccessible(page);
      await screenshot(page, "workers-phone");
    } finally {
      await context.close();
    }
  });
});
