import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobEventType, JobEventTypeSchema, JobStatus, enumText, type Job } from "@taskflow/proto";
import type { Page } from "playwright-core";
import { PHONE, expectAccessible, expectNoPageOverflow, screenshot, startDashboardFixture, type DashboardFixture } from "./dashboard-fixture.js";

let f: DashboardFixture;
const s = {} as { done: Job; failed: Job; parent: Job; child: Job; toCancel: Job; refused: Job };
const ERROR = "printer on fire 451";

beforeAll(async () => {
  f = await startDashboardFixture();
  s.done = await f.admin.submit({ type: "echo", queue: "emails", payload: { invoice: 1001, to: "ada@example.com" }, priority: 7, idempotencyKey: "invoice-1001" });
  s.failed = await f.admin.submit({ type: "fail", queue: "reports", payload: { message: ERROR }, maxAttempts: 1 });
  const flow = await f.admin.submitFlow({ type: "echo", queue: "default", payload: { step: "parent" }, children: [{ type: "echo", queue: "default", payload: { step: "child" } }] });
  [s.parent, s.child] = [flow[0]!, flow[1]!];
  s.toCancel = await f.admin.submit({ type: "echo", queue: "emails", delayMs: 3_600_000 });
  s.refused = await f.admin.submit({ type: "echo", queue: "emails", delayMs: 3_600_000 });
  for (const j of [s.done, s.failed, s.parent, s.child]) await f.admin.waitFor(j.id, { timeoutMs: 20_000 });
}, 60_000);

afterAll(async () => {
  await f?.close();
});

const fact = (page: Page, name: string) => page.locator(`[data-fact="${name}"]`).textContent();
const block = (page: Page, name: string) => page.locator(`[data-block="${name}"]`).textContent();
/** The shown trail, oldest first: each event's type, actor, reason and attempt. */
const timeline = (page: Page) =>
  page.locator("ol.timeline > li").evaluateAll((items) =>
    items.map((li) => {
      const cell = (c: string) => li.querySelector(`[data-cell="${c}"]`)?.textContent ?? "";
      return { type: (li as HTMLElement).dataset["type"], actor: cell("actor"), reason: cell("reason"), attempt: cell("attempt") };
    }),
  );
/** The trail as history holds it, in the shape of {@link timeline}. */
const trailOf = async (id: string) =>
  (await f.admin.events(id)).map((e) => ({ type: enumText(JobEventTypeSchema, e.type), actor: e.actor, reason: e.reason, attempt: String(e.attempt) }));
const statusOf = (page: Page) => page.locator(".toolbar .badge").first().textContent();

describe("job page", () => {
  it("shows a job's facts, payload, result and its audit trail in order", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto(`/jobs/${s.done.id}`);
      await page.getByRole("heading", { name: `Job ${s.done.id}` }).waitFor();
      await expect.poll(() => statusOf(page)).toBe("completed");
      expect(await fact(page, "type")).toBe("echo");
      expect(await fact(page, "queue")).toBe("emails");
      expect(await fact(page, "attempts")).toBe("1 / 3");
      expect(await fact(page, "priority")).toBe("7");
      expect(await fact(page, "idempotency-key")).toBe("invoice-1001");
      expect(await fact(page, "worker")).toBe("dash-worker");
      expect(await page.locator('[data-fact="worker"] a').getAttribute("href")).toBe("/workers?worker=dash-worker");
      expect(JSON.parse((await block(page, "payload")) ?? "")).toEqual({ invoice: 1001, to: "ada@example.com" });
      expect(JSON.parse((await block(page, "result")) ?? "")).toEqual({ invoice: 1001, to: "ada@example.com" });
      expect(await block(page, "error")).toBe("none");
      expect(await page.locator("progress").count()).toBe(0);

      const trail = await trailOf(s.done.id);
      expect(trail.map((e) => e.type)).toEqual(["submitted", "started", "completed"]);
      expect(trail[0]!.actor).toBe("api:ops");
      expect(trail[1]!.actor).toBe("worker:fleet"); // the verified name of the worker token
      await expect.poll(() => timeline(page)).toEqual(trail);
      await expectAccessible(page);
      await screenshot(page, "job");
    } finally {
      await context.close();
    }
  });

  it("follows a running job's progress and transitions live until it completes", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      const job = await f.admin.submit({ type: "slow", queue: "default", payload: { ms: 6_000 } });
      await page.goto(`/jobs/${job.id}`);
      await page.locator('[data-live="live"]').waitFor();
      await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
      // Some report between the first and the last, as a <progress> with its percent and details.
      await expect.poll(() => page.locator("progress").getAttribute("value"), { timeout: 10_000, interval: 100 }).toMatch(/^(25|50|75)$/);
      expect(await fact(page, "progress")).toMatch(/^(25|50|75) %$/);
      expect(await block(page, "progress-details")).toMatch(/"step": [123]/);
      await expect.poll(() => statusOf(page), { timeout: 15_000 }).toBe("completed");
      await expect.poll(() => fact(page, "progress")).toBe("100 %");
      await expect.poll(() => timeline(page)).toEqual(await trailOf(job.id));
      expect(JSON.parse((await block(page, "result")) ?? "")).toEqual({ waited: 6_000 });
      expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
    } finally {
      await context.close();
    }
  });

  it("links a flow's parent and child with their statuses", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto(`/jobs/${s.parent.id}`);
      const children = page.getByRole("list", { name: "Children" });
      await children.locator(`li[data-link-id="${s.child.id}"]`).getByText("completed").waitFor();
      expect(await page.getByText("None.").count()).toBe(1); // no parents
      await children.getByRole("link", { name: s.child.id }).click();
      await page.getByRole("heading", { name: `Job ${s.child.id}` }).waitFor();
      const parents = page.getByRole("list", { name: "Parents" });
      await parents.locator(`li[data-link-id="${s.parent.id}"]`).getByText("completed").waitFor();
      expect(await fact(page, "on-parent-failure")).toBe("fail");
      await parents.getByRole("link", { name: s.parent.id }).click();
      await page.getByRole("heading", { name: `Job ${s.parent.id}` }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("cancels a delayed job and retries a failed one, as the API then shows", async () => {
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      page.on("dialog", (d) => void d.accept());
      await page.goto(`/jobs/${s.toCancel.id}`);
      await expect.poll(() => statusOf(page)).toBe("pending");
      expect(await page.getByRole("button", { name: "Retry job" }).count()).toBe(0);
      await page.getByRole("button", { name: "Cancel job" }).click();
      await expect.poll(async () => (await f.admin.get(s.toCancel.id)).status).toBe(JobStatus.CANCELLED);
      await expect.poll(() => statusOf(page)).toBe("cancelled");
      await expect.poll(async () => (await timeline(page)).at(-1)).toEqual({ type: "cancelled", actor: "api:ops", reason: "cancel_requested", attempt: "0" });

      await page.goto(`/jobs/${s.failed.id}`);
      await expect.poll(() => statusOf(page)).toBe("failed");
      expect(await block(page, "error")).toBe(ERROR);
      expect(await page.getByRole("button", { name: "Cancel job" }).count()).toBe(0);
      await page.getByRole("button", { name: "Retry job" }).click();
      await expect.poll(async () => (await f.admin.events(s.failed.id)).some((e) => e.type === JobEventType.RETRIED)).toBe(true);
      // The page follows the job again: the retry and the attempt after it arrive without a reload.
      await expect.poll(async () => (await timeline(page)).map((e) => e.type), { timeout: 15_000 }).toEqual(["submitted", "started", "failed", "retried", "started", "failed"]);
      expect((await f.admin.get(s.failed.id)).status).toBe(JobStatus.FAILED);
    } finally {
      await context.close();
    }
  });

  it("shows a reader's refused cancel in the service's words and changes nothing", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader, viewport: PHONE });
    try {
      page.on("dialog", (d) => void d.accept());
      await page.goto(`/jobs/${s.refused.id}`);
      await expect.poll(() => statusOf(page)).toBe("pending");
      const before = await f.admin.events(s.refused.id);
      await page.getByRole("button", { name: "Cancel job" }).click();
      await expect
        .poll(() => page.getByRole("alert").textContent())
        .toBe("Refused: viewer may not call taskflow.v1.SchedulerService/CancelJob: it needs the role submitter or admin");
      const after = await f.admin.get(s.refused.id);
      expect(after.status).toBe(JobStatus.PENDING);
      expect(await f.admin.events(s.refused.id)).toEqual(before);
      expect(await statusOf(page)).toBe("pending");
      await expectNoPageOverflow(page);
      await expectAccessible(page);
      await screenshot(page, "job-phone");
    } finally {
      await context.close();
    }
  });
});
