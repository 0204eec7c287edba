import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobStatus } from "@taskflow/proto";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DESKTOP, PHONE, expectAccessible, expectNoPageOverflow, screenshot, startDashboardFixture, type DashboardFixture } from "./dashboard-fixture.js";

let f: DashboardFixture;
const HOUR_MS = 3_600_000;

beforeAll(async () => {
  f = await startDashboardFixture();
  // An hour apart, so neither fires by itself during the test; runs come from Trigger only.
  await f.admin.createSchedule({ id: "hourly-report", intervalMs: HOUR_MS, template: { type: "echo", queue: "reports", payload: { report: "hourly" } }, overlap: "allow" });
  await f.admin.createSchedule({ id: "berlin-digest", cron: "0 9 * * 1-5", timeZone: "Europe/Berlin", template: { type: "echo", queue: "emails" } });
  await f.admin.createSchedule({ id: "old-cleanup", intervalMs: 24 * HOUR_MS, template: { type: "echo" }, overlap: "cancel_previous" });
});

afterAll(async () => {
  await f?.close();
});

const row = (page: Page, id: string) => page.locator(`tr[data-schedule="${id}"]`);
const cell = (page: Page, id: string, field: string) => row(page, id).locator(`td[data-field="${field}"]`);
/** The ISO times of a schedule's next firings, as the page shows them. */
const firings = (page: Page, id: string) => cell(page, id, "next").locator("time").evaluateAll((ts) => ts.map((t) => t.getAttribute("datetime") ?? ""));
const notFound = (err: unknown) => ConnectError.from(err).code === Code.NotFound;

/** Hour, minute and weekday of `iso` on Berlin's clock. */
function berlinClock(iso: string): { hm: string; weekday: string } {
  const d = new Date(iso);
  const hm = d.toLocaleTimeString("en-GB", { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit" });
  return { hm, weekday: d.toLocaleDateString("en-GB", { timeZone: "Europe/Berlin", weekday: "short" }) };
}

describe("schedules", () => {
  it("lists every schedule with its spec, job template, overlap policy, state, next firings and last run", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto("/schedules");
      await row(page, "hourly-report").waitFor();
      expect(await page.locator("tr[data-schedule]").evaluateAll((rs) => rs.map((r) => r.getAttribute("data-schedule")))).toEqual([
        "berlin-digest",
        "hourly-report",
        "old-cleanup",
      ]);
      expect(await cell(page, "hourly-report", "spec").textContent()).toBe("every 1 h");
      expect(await cell(page, "hourly-report", "template").textContent()).toBe("echo on reports");
      expect(await cell(page, "hourly-report", "overlap").textContent()).toBe("allow");
      expect(await cell(page, "hourly-report", "state").textContent()).toBe("active");
      expect(await cell(page, "hourly-report", "last").textContent()).toBe("not yet");
      expect(await cell(page, "berlin-digest", "spec").textContent()).toBe("cron 0 9 * * 1-5 (Europe/Berlin)");
      expect(await cell(page, "berlin-digest", "template").textContent()).toBe("echo on emails");
      expect(await cell(page, "berlin-digest", "overlap").textContent()).toBe("skip");
      expect(await cell(page, "old-cleanup", "overlap").textContent()).toBe("cancel_previous");
      expect(await cell(page, "old-cleanup", "template").textContent()).toBe("echo on default");

      // The first firing is the scheduler's next run; an interval's next ones follow an hour apart.
      const hourly = await f.admin.schedule("hourly-report");
      const first = timestampMs(hourly.nextRunAt!);
      expect(await firings(page, "hourly-report")).toEqual([0, 1, 2].map((i) => new Date(first + i * HOUR_MS).toISOString()));
      // A cron's: weekdays at 09:00 on Berlin's clock, in order, from the scheduler's next run.
      const digest = await f.admin.schedule("berlin-digest");
      const cron = await firings(page, "berlin-digest");
      expect(cron).toHaveLength(3);
      expect(cron[0]).toBe(new Date(timestampMs(digest.nextRunAt!)).toISOString());
      for (const iso of cron) {
        expect(berlinClock(iso).hm).toBe("09:00");
        expect(["Mon", "Tue", "Wed", "Thu", "Fri"]).toContain(berlinClock(iso).weekday);
      }
      expect([...cron].sort()).toEqual(cron);
      expect(new Set(cron).size).toBe(3);
    } finally {
      await context.close();
    }
  });

  it("triggers a run from the page: the job, with the schedule's id, shows in its recent runs live", async () => {
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      await page.goto("/schedules");
      await row(page, "hourly-report").getByRole("button", { name: "Trigger" }).click();
      // Triggering opens the schedule's runs.
      // The page opens them once the scheduler answered the trigger (seconds on a loaded machine).
      await expect.poll(() => new URL(page.url()).searchParams.get("schedule"), { timeout: 15_000 }).toBe("hourly-report");
      await expect.poll(async () => (await f.admin.list({ scheduleId: "hourly-report" })).jobs.length, { timeout: 10_000 }).toBe(1);
      const job = (await f.admin.list({ scheduleId: "hourly-report" })).jobs[0]!;
      expect(job.scheduleId).toBe("hourly-report");
      expect(job.type).toBe("echo");
      expect(job.queue).toBe("reports");
      const runRow = page.locator(`table[data-runs="hourly-report"] tr[data-job="${job.id}"]`);
      await runRow.waitFor();
      expect(await runRow.getByRole("link", { name: job.id }).getAttribute("href")).toBe(`/jobs/${job.id}`);
      // Live: the run's status follows the worker without a reload.
      await f.admin.waitFor(job.id, { timeoutMs: 15_000 });
      await expect.poll(() => runRow.locator(".badge").textContent(), { timeout: 10_000 }).toBe("completed");
      expect(await page.getByRole("link", { name: "All runs" }).getAttribute("href")).toBe("/jobs?schedule=hourly-report");
      await page.getByRole("heading", { name: "Schedule hourly-report" }).waitFor();
      await expect.poll(() => page.locator(".facts").textContent()).toContain('{"report":"hourly"}');

      // A second trigger: newest first.
      await row(page, "hourly-report").getByRole("button", { name: "Trigger" }).click();
      await expect.poll(async () => (await f.admin.list({ scheduleId: "hourly-report" })).jobs.length, { timeout: 10_000 }).toBe(2);
      const newest = (await f.admin.list({ scheduleId: "hourly-report" })).jobs[0]!;
      await expect.poll(() => page.locator('table[data-runs="hourly-report"] tbody tr').first().getAttribute("data-job")).toBe(newest.id);
      await f.admin.waitFor(newest.id, { timeoutMs: 15_000 });
      await expect.poll(() => page.locator('table[data-runs="hourly-report"] .badge').allTextContents(), { timeout: 10_000 }).toEqual(["completed", "completed"]);
      await expectAccessible(page);
      await screenshot(page, "schedules");
    } finally {
      await context.close();
    }
  });

  it("pauses and resumes a schedule from the page, and follows changes made elsewhere", async () => {
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      await page.goto("/schedules");
      await row(page, "berlin-digest").getByRole("button", { name: "Pause" }).click();
      await expect.poll(async () => (await f.admin.schedule("berlin-digest")).paused).toBe(true);
      await expect.poll(() => cell(page, "berlin-digest", "state").textContent()).toBe("paused");
      expect(await cell(page, "berlin-digest", "next").textContent()).toBe("none while paused");
      expect((await f.admin.schedule("hourly-report")).paused).toBe(false);

      await row(page, "berlin-digest").getByRole("button", { name: "Resume" }).click();
      await expect.poll(async () => (await f.admin.schedule("berlin-digest")).paused).toBe(false);
      await expect.poll(() => cell(page, "berlin-digest", "state").textContent()).toBe("active");
      const resumed = await f.admin.schedule("berlin-digest");
      await expect.poll(() => firings(page, "berlin-digest").then((t) => t[0])).toBe(new Date(timestampMs(resumed.nextRunAt!)).toISOString());
      const actions = await f.admin.operatorActions({ target: "schedule:berlin-digest" });
      expect(actions.slice(0, 2).map((a) => [a.action, a.actor])).toEqual([
        ["schedule.resume", "api:ops"],
        ["schedule.pause", "api:ops"],
      ]);

      // Live: a pause through the API shows without a reload, and so does the resume.
      await f.admin.pauseSchedule("hourly-report");
      await expect.poll(() => cell(page, "hourly-report", "state").textContent(), { timeout: 10_000 }).toBe("paused");
      await f.admin.resumeSchedule("hourly-report");
      await expect.poll(() => cell(page, "hourly-report", "state").textContent(), { timeout: 10_000 }).toBe("active");
    } finally {
      await context.close();
    }
  });

  it("deletes a schedule only once the operator confirms", async () => {
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      await page.goto("/schedules");
      const del = row(page, "old-cleanup").getByRole("button", { name: "Delete" });
      page.once("dialog", (d) => void d.dismiss());
      await del.click();
      await expect.poll(() => f.admin.operatorActions({ target: "schedule:old-cleanup" }).then((a) => a.map((x) => x.action))).toEqual(["schedule.create"]);
      expect((await f.admin.schedule("old-cleanup")).id).toBe("old-cleanup");

      page.once("dialog", (d) => void d.accept());
      await del.click();
      await expect.poll(() => f.admin.schedule("old-cleanup").then(() => "exists", (err: unknown) => (notFound(err) ? "gone" : String(err)))).toBe("gone");
      await row(page, "old-cleanup").waitFor({ state: "detached" });
      expect((await f.admin.schedules()).map((s) => s.id)).toEqual(["berlin-digest", "hourly-report"]);
    } finally {
      await context.close();
    }
  });

  it("refuses a reader's pause in the service's words and changes nothing", async () => {
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      const before = await f.admin.operatorActions({ target: "schedule:hourly-report" });
      await page.goto("/schedules");
      await row(page, "hourly-report").getByRole("button", { name: "Pause" }).click();
      const alert = row(page, "hourly-report").getByRole("alert");
      await expect
        .poll(() => alert.textContent())
        .toBe("Refused: viewer may not call taskflow.v1.ScheduleService/PauseSchedule: it needs the role admin");
      expect((await f.admin.schedule("hourly-report")).paused).toBe(false);
      expect(await cell(page, "hourly-report", "state").textContent()).toBe("active");
      expect(await f.admin.operatorActions({ target: "schedule:hourly-report" })).toEqual(before);
      await expectAccessible(page);
    } finally {
      await context.close();
    }
  });

  it("is readable on a phone-sized screen and usable by keyboard", async () => {
    const { context, page } = await f.open({ token: f.tokens.admin, viewport: PHONE });
    try {
      await page.goto("/schedules?schedule=hourly-report");
      await row(page, "hourly-report").waitFor();
      await page.locator('table[data-runs="hourly-report"] tbody tr').first().waitFor();
      await expectNoPageOverflow(page);
      await expectAccessible(page);
      await screenshot(page, "schedules-phone");
      // The schedule's id is a link: Enter on it opens its runs.
      await row(page, "berlin-digest").getByRole("link", { name: "berlin-digest" }).focus();
      await page.keyboard.press("Enter");
      await expect.poll(() => new URL(page.url()).searchParams.get("schedule")).toBe("berlin-digest");
      await page.getByRole("heading", { name: "Schedule berlin-digest" }).waitFor();
      await page.getByText("No runs yet.").waitFor();
      await page.setViewportSize(DESKTOP);
    } finally {
      await context.close();
    }
  });
});

// A finished run stays a run after its schedule goes: history keeps the jobs.
describe("runs of a deleted schedule", () => {
  it("stay listed by schedule id", async () => {
    const made = await f.admin.createSchedule({ id: "short-lived", intervalMs: HOUR_MS, template: { type: "echo" } });
    const { job } = await f.admin.triggerSchedule(made.id);
    await f.admin.waitFor(job!.id, { timeoutMs: 15_000 });
    await f.admin.deleteSchedule(made.id);
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto("/schedules?schedule=short-lived");
      await page.locator(`tr[data-job="${job!.id}"]`).waitFor();
      await expect.poll(() => page.locator(`tr[data-job="${job!.id}"] .badge`).textContent()).toBe("completed");
      await expect.poll(() => page.getByRole("alert").first().textContent()).toMatch(/^not_found: /);
      expect((await f.admin.get(job!.id)).status).toBe(JobStatus.COMPLETED);
    } finally {
      await context.close();
    }
  });
});
