import { randomBytes } from "node:crypto";
import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { JobStatus, OverlapPolicy } from "@taskflow/proto";
import type { Locator, Page } from "playwright-core";
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

/** Hour, minute and weekday of `iso` on the clock of `timeZone` (Berlin's unless named). */
function berlinClock(iso: string, timeZone = "Europe/Berlin"): { hm: string; weekday: string } {
  const d = new Date(iso);
  const hm = d.toLocaleTimeString("en-GB", { timeZone, hour: "2-digit", minute: "2-digit" });
  return { hm, weekday: d.toLocaleDateString("en-GB", { timeZone, weekday: "short" }) };
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

// Each test here makes schedules of its own, under ids no other test uses, and deletes them.
describe("the schedule form", () => {
  /** A schedule id no other test uses. */
  const uniqueId = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;
  const gone = (id: string) => f.admin.schedule(id).then(() => "exists", (err: unknown) => (notFound(err) ? "gone" : String(err)));
  const newForm = (page: Page) => page.getByRole("form", { name: "New schedule" });
  const cronField = (form: Locator) => form.getByRole("textbox", { name: "Cron expression" });
  /** The ISO times the form's preview lists. */
  const preview = (form: Locator) => form.locator("[data-preview] time").evaluateAll((ts) => ts.map((t) => t.getAttribute("datetime") ?? ""));
  /** The value of `term` in the selected schedule's definition. */
  const fact = (page: Page, term: string) => page.locator(".schedule-detail .facts > div").filter({ has: page.locator("dt", { hasText: new RegExp(`^${term}$`) }) }).locator("dd");
  const selectedId = (page: Page) => new URL(page.url()).searchParams.get("schedule");
  const formParam = (page: Page) => new URL(page.url()).searchParams.get("form");
  /** Calls of `method` the page sends to ScheduleService, counted from now. */
  function countCalls(page: Page, method: string): () => number {
    let n = 0;
    page.on("request", (r) => {
      if (r.url().endsWith(`/taskflow.v1.ScheduleService/${method}`)) n += 1;
    });
    return () => n;
  }

  it("creates a cron schedule in a time zone with a full job template: the API holds every field as typed, and the page shows it", async () => {
    const id = uniqueId("form-cron");
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      await page.goto("/schedules");
      await page.getByRole("link", { name: "New schedule" }).click();
      expect(formParam(page)).toBe("new");
      const form = newForm(page);
      // The form's heading takes the focus, so a keyboard or screen reader user lands on it.
      await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe("New schedule");
      expect(await form.getByLabel("Queue").inputValue()).toBe("default");
      expect(await form.getByLabel("Time zone").inputValue()).toBe("UTC");
      await form.getByLabel("Id", { exact: true }).fill(id);
      await cronField(form).fill("30 6 * * 1-5");
      await form.getByLabel("Time zone").fill("America/New_York");
      await form.getByLabel("Job type").fill("echo");
      await form.getByLabel("Queue").fill("reports");
      await form.getByLabel("Payload (JSON object)").fill('{"report": "weekly", "depth": 2, "tags": ["a", "b"]}');
      await form.getByLabel("Priority").fill("7");
      await form.getByLabel("Max attempts").fill("5");
      await form.getByLabel("Timeout (seconds)").fill("90");
      await form.getByLabel("While the previous run is unfinished").selectOption("cancel_previous");
      await form.getByLabel("Catch-up").fill("3");

      // Before saving: the next three firings of what is typed, weekdays at 06:30 on New York's clock.
      const typed = await preview(form);
      expect(typed).toHaveLength(3);
      for (const iso of typed) {
        expect(berlinClock(iso, "America/New_York").hm).toBe("06:30");
        expect(["Mon", "Tue", "Wed", "Thu", "Fri"]).toContain(berlinClock(iso, "America/New_York").weekday);
      }
      expect([...typed].sort()).toEqual(typed);
      expect(new Set(typed).size).toBe(3);
      expect(Date.parse(typed[0]!)).toBeGreaterThan(Date.now() - 60_000);
      await expectAccessible(page);
      await screenshot(page, "schedule-form");

      await form.getByRole("button", { name: "Create schedule" }).click();
      await expect.poll(() => selectedId(page), { timeout: 15_000 }).toBe(id);
      expect(formParam(page)).toBeNull();
      await expect.poll(() => page.getByRole("status").filter({ hasText: `Schedule ${id} created` }).count()).toBe(1);

      const s = await f.admin.schedule(id);
      expect(s.spec).toEqual({ case: "cron", value: "30 6 * * 1-5" });
      expect(s.timeZone).toBe("America/New_York");
      expect(s.template?.type).toBe("echo");
      expect(s.template?.queue).toBe("reports");
      expect(s.template?.payload).toEqual({ report: "weekly", depth: 2, tags: ["a", "b"] });
      expect(s.template?.priority).toBe(7);
      expect(s.template?.maxAttempts).toBe(5);
      expect(durationMs(s.template!.timeout!)).toBe(90_000);
      expect(s.overlapPolicy).toBe(OverlapPolicy.CANCEL_PREVIOUS);
      expect(s.catchUp).toBe(3);
      expect(s.paused).toBe(false);
      expect(s.createdBy).toBe("api:ops");
      // The scheduler's first tick is the one the form showed first.
      expect(new Date(timestampMs(s.nextRunAt!)).toISOString()).toBe(typed[0]);

      await expect.poll(() => cell(page, id, "spec").textContent()).toBe("cron 30 6 * * 1-5 (America/New_York)");
      expect(await cell(page, id, "template").textContent()).toBe("echo on reports");
      expect(await cell(page, id, "overlap").textContent()).toBe("cancel_previous");
      expect(await cell(page, id, "state").textContent()).toBe("active");
      await page.getByRole("heading", { name: `Schedule ${id}` }).waitFor();
      await expect.poll(async () => JSON.parse((await fact(page, "Payload").textContent()) ?? "null") as unknown).toEqual({ report: "weekly", depth: 2, tags: ["a", "b"] });
      expect(await fact(page, "Priority").textContent()).toBe("7");
      expect(await fact(page, "Max attempts").textContent()).toBe("5");
      expect(await fact(page, "Timeout").textContent()).toBe("1 min 30 s");
      expect(await fact(page, "Catch-up").textContent()).toBe("3");
    } finally {
      await context.close();
      await f.admin.deleteSchedule(id).catch(() => undefined);
    }
  });

  it("creates an interval schedule that really fires: its runs show through ListJobs and on the page", async () => {
    const id = uniqueId("form-every");
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      await page.goto("/schedules?form=new");
      const form = newForm(page);
      await form.getByLabel("Id", { exact: true }).fill(id);
      await form.getByRole("radio", { name: "Interval" }).check();
      await form.getByLabel("Every").fill("2");
      await form.getByLabel("Unit", { exact: true }).selectOption("s");
      await form.getByLabel("Job type").fill("echo");
      await form.getByLabel("Payload (JSON object)").fill('{"run": "interval"}');
      // An interval's ticks: 2 s apart, the first 2 s after saving.
      const typed = (await preview(form)).map((iso) => Date.parse(iso));
      expect(typed).toHaveLength(3);
      expect([typed[1]! - typed[0]!, typed[2]! - typed[1]!]).toEqual([2_000, 2_000]);
      await form.getByRole("button", { name: "Create schedule" }).click();
      await expect.poll(() => selectedId(page), { timeout: 15_000 }).toBe(id);

      const s = await f.admin.schedule(id);
      expect(s.spec.case).toBe("interval");
      expect(s.spec.case === "interval" ? durationMs(s.spec.value) : 0).toBe(2_000);
      expect(s.template?.queue).toBe("default");
      expect(s.template?.payload).toEqual({ run: "interval" });
      // Left empty: the service's defaults.
      expect(s.template?.maxAttempts).toBe(3);
      expect(s.catchUp).toBe(1);
      expect(s.overlapPolicy).toBe(OverlapPolicy.SKIP);

      // It fires by itself: a run with the schedule's id, its template's job, in history and on the page.
      await expect.poll(async () => (await f.admin.list({ scheduleId: id })).jobs.length, { timeout: 45_000 }).toBeGreaterThan(0);
      const run = (await f.admin.list({ scheduleId: id })).jobs[0]!;
      expect([run.scheduleId, run.type, run.queue]).toEqual([id, "echo", "default"]);
      expect(run.payload).toEqual({ run: "interval" });
      const shown = page.locator(`table[data-runs="${id}"] tbody tr`).first();
      await shown.waitFor({ timeout: 30_000 });
      const shownId = (await shown.getAttribute("data-job")) ?? "";
      expect((await f.admin.list({ scheduleId: id })).jobs.map((j) => j.id)).toContain(shownId);
    } finally {
      await context.close();
      await f.admin.deleteSchedule(id).catch(() => undefined);
    }
  });

  it("edits a schedule's spec and template, filled from what is stored; the API holds the new definition", async () => {
    const id = uniqueId("form-edit");
    const before = await f.admin.createSchedule({ id, intervalMs: HOUR_MS, template: { type: "echo", payload: { a: 1 } }, catchUp: 2 });
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      await page.goto("/schedules");
      await row(page, id).getByRole("link", { name: "Edit", exact: true }).click();
      expect([selectedId(page), formParam(page)]).toEqual([id, "edit"]);
      const form = page.getByRole("form", { name: `Edit schedule ${id}` });
      const idField = form.getByLabel("Id", { exact: true });
      await expect.poll(() => idField.inputValue()).toBe(id);
      expect(await idField.isEditable()).toBe(false);
      expect(await form.getByRole("radio", { name: "Interval" }).isChecked()).toBe(true);
      expect(await form.getByLabel("Every").inputValue()).toBe("1");
      expect(await form.getByLabel("Unit", { exact: true }).inputValue()).toBe("h");
      expect(await form.getByLabel("Job type").inputValue()).toBe("echo");
      expect(await form.getByLabel("Queue").inputValue()).toBe("default");
      expect(JSON.parse(await form.getByLabel("Payload (JSON object)").inputValue())).toEqual({ a: 1 });
      expect(await form.getByLabel("Max attempts").inputValue()).toBe("3");
      expect(await form.getByLabel("Catch-up").inputValue()).toBe("2");
      expect(await form.getByLabel("While the previous run is unfinished").inputValue()).toBe("skip");

      await form.getByRole("radio", { name: "Cron expression" }).check();
      await cronField(form).fill("*/15 * * * *");
      await form.getByLabel("Time zone").fill("Europe/Berlin");
      await form.getByLabel("Queue").fill("emails");
      await form.getByLabel("Payload (JSON object)").fill('{"b": 2}');
      await form.getByLabel("Priority").fill("3");
      await form.getByLabel("Max attempts").fill("4");
      await form.getByLabel("Timeout (seconds)").fill("30");
      await form.getByLabel("While the previous run is unfinished").selectOption("allow");
      await form.getByLabel("Catch-up").fill("0");
      const typed = await preview(form);
      expect(typed).toHaveLength(3);
      for (const iso of typed) expect(new Date(iso).getUTCMinutes() % 15).toBe(0);
      expect([Date.parse(typed[1]!) - Date.parse(typed[0]!), Date.parse(typed[2]!) - Date.parse(typed[1]!)]).toEqual([900_000, 900_000]);
      await form.getByRole("button", { name: "Save changes" }).click();
      await expect.poll(() => formParam(page), { timeout: 15_000 }).toBeNull();
      expect(selectedId(page)).toBe(id);

      const after = await f.admin.schedule(id);
      expect(after.spec).toEqual({ case: "cron", value: "*/15 * * * *" });
      expect(after.timeZone).toBe("Europe/Berlin");
      expect(after.template?.type).toBe("echo");
      expect(after.template?.queue).toBe("emails");
      expect(after.template?.payload).toEqual({ b: 2 });
      expect([after.template?.priority, after.template?.maxAttempts, durationMs(after.template!.timeout!)]).toEqual([3, 4, 30_000]);
      expect(after.overlapPolicy).toBe(OverlapPolicy.ALLOW);
      expect(after.catchUp).toBe(0);
      expect(after.version).toBeGreaterThan(before.version);
      expect(timestampMs(after.createdAt!)).toBe(timestampMs(before.createdAt!));
      expect(after.updatedBy).toBe("api:ops");
      const actions = await f.admin.operatorActions({ target: `schedule:${id}` });
      expect(actions.map((a) => a.action)).toEqual(["schedule.update", "schedule.create"]);

      await expect.poll(() => cell(page, id, "spec").textContent()).toBe("cron */15 * * * * (Europe/Berlin)");
      expect(await cell(page, id, "template").textContent()).toBe("echo on emails");
      expect(await cell(page, id, "overlap").textContent()).toBe("allow");
      await expect.poll(() => page.getByRole("status").filter({ hasText: `Schedule ${id} saved (version ${after.version.toString()}).` }).count()).toBe(1);
      await expect.poll(() => fact(page, "Payload").textContent()).toBe('{"b":2}');
    } finally {
      await context.close();
      await f.admin.deleteSchedule(id).catch(() => undefined);
    }
  });

  it("refuses to save an edit over a change made since the form was filled, and reloads on request", async () => {
    const id = uniqueId("form-stale");
    const created = await f.admin.createSchedule({ id, intervalMs: HOUR_MS, template: { type: "echo" } });
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      const updates = countCalls(page, "UpdateSchedule");
      await page.goto(`/schedules?schedule=${id}&form=edit`);
      const form = page.getByRole("form", { name: `Edit schedule ${id}` });
      await expect.poll(() => form.getByLabel("Every").inputValue()).toBe("1");
      await form.getByLabel("Queue").fill("reports");
      // Meanwhile someone else changes it.
      const theirs = await f.admin.updateSchedule({ id, intervalMs: 2 * HOUR_MS, template: { type: "echo", queue: "emails" } });
      await form.getByRole("button", { name: "Save changes" }).click();
      await expect
        .poll(() => form.getByRole("alert").textContent())
        .toBe(`failed_precondition: schedule ${id} is at version ${theirs.version.toString()}, not ${created.version.toString()}: it changed since it was read; read it again`);
      // Sent with the version the form was filled from, and refused by the scheduler.
      expect(updates()).toBe(1);
      const kept = await f.admin.schedule(id);
      expect([kept.template?.queue, kept.version]).toEqual(["emails", theirs.version]);

      await form.getByRole("button", { name: "Reload schedule" }).click();
      await expect.poll(() => form.getByLabel("Every").inputValue()).toBe("2");
      expect(await form.getByLabel("Queue").inputValue()).toBe("emails");
      expect(await form.getByRole("alert").count()).toBe(0);
      await form.getByLabel("Queue").fill("reports");
      await form.getByRole("button", { name: "Save changes" }).click();
      await expect.poll(async () => (await f.admin.schedule(id)).template?.queue, { timeout: 15_000 }).toBe("reports");
      expect(updates()).toBe(2);
    } finally {
      await context.close();
      await f.admin.deleteSchedule(id).catch(() => undefined);
    }
  });

  it("refuses a payload that is not a JSON object before sending, shows the service's refusal of a bad cron, and stores nothing", async () => {
    const id = uniqueId("form-bad");
    const { context, page } = await f.open({ token: f.tokens.admin });
    try {
      const creates = countCalls(page, "CreateSchedule");
      await page.goto("/schedules?form=new");
      const form = newForm(page);
      const payload = form.getByLabel("Payload (JSON object)");
      await form.getByLabel("Id", { exact: true }).fill(id);
      await cronField(form).fill("0 * * * *");
      await form.getByLabel("Job type").fill("echo");
      await payload.fill('{"report": "daily",}');
      await form.getByRole("button", { name: "Create schedule" }).click();
      const alert = form.getByRole("alert");
      await expect.poll(() => alert.textContent()).toMatch(/^Payload not valid JSON \(.+\)\.$/);
      expect(await payload.getAttribute("aria-invalid")).toBe("true");
      expect(await payload.evaluate((el) => el === document.activeElement)).toBe(true);
      await payload.fill('["daily"]');
      await form.getByRole("button", { name: "Create schedule" }).click();
      await expect.poll(() => alert.textContent()).toBe('Payload must be a JSON object, like {"customer": {"id": 42}}.');
      expect(creates()).toBe(0);

      // Hour 25: croner cannot read it, so the preview shows nothing, and the service refuses it, naming the field.
      await payload.fill('{"report": "daily"}');
      await cronField(form).fill("0 25 * * *");
      expect(await form.locator("[data-preview]").textContent()).toContain("cannot read this expression and time zone");
      await form.getByRole("button", { name: "Create schedule" }).click();
      await expect.poll(() => alert.textContent()).toMatch(/^invalid_argument: schedule\.cron: must be a cron expression of 5 or 6 fields \(.+\)$/);
      expect(await cronField(form).getAttribute("aria-invalid")).toBe("true");
      expect(await payload.getAttribute("aria-invalid")).toBeNull();
      expect(creates()).toBe(1);
      expect(formParam(page)).toBe("new");
      expect(await gone(id)).toBe("gone");
      expect(await f.admin.operatorActions({ target: `schedule:${id}` })).toEqual([]);
      await expectAccessible(page);
    } finally {
      await context.close();
    }
  });

  it("refuses a reader's create in the service's words and stores nothing", async () => {
    const id = uniqueId("form-reader");
    const { context, page } = await f.open({ token: f.tokens.reader });
    try {
      await page.goto("/schedules?form=new");
      const form = newForm(page);
      await form.getByLabel("Id", { exact: true }).fill(id);
      await form.getByRole("radio", { name: "Interval" }).check();
      await form.getByLabel("Every").fill("5");
      await form.getByLabel("Job type").fill("echo");
      await form.getByRole("button", { name: "Create schedule" }).click();
      await expect
        .poll(() => form.getByRole("alert").textContent())
        .toBe("Refused: viewer may not call taskflow.v1.ScheduleService/CreateSchedule: it needs the role admin");
      expect(await gone(id)).toBe("gone");
      expect(await f.admin.operatorActions({ target: `schedule:${id}` })).toEqual([]);
      expect(formParam(page)).toBe("new");
    } finally {
      await context.close();
    }
  });

  it("fits a phone's screen, passes axe with a problem shown, and closes on Cancel", async () => {
    const { context, page } = await f.open({ token: f.tokens.admin, viewport: PHONE });
    try {
      const creates = countCalls(page, "CreateSchedule");
      await page.goto("/schedules?form=new");
      const form = newForm(page);
      await form.getByLabel("Id", { exact: true }).fill("phone-digest");
      await cronField(form).fill("0 9 * * 1-5");
      await form.getByLabel("Time zone").fill("Europe/Berlin");
      await form.getByLabel("Payload (JSON object)").fill('{"digest": true}');
      await expect.poll(async () => (await preview(form)).length).toBe(3);
      await expectNoPageOverflow(page);
      await expectAccessible(page);
      await screenshot(page, "schedule-form-phone");
      // No job type: refused here, the field named and marked.
      await form.getByRole("button", { name: "Create schedule" }).click();
      await expect.poll(() => form.getByRole("alert").textContent()).toBe("Job type is required: the handler the job runs.");
      expect(await form.getByLabel("Job type").getAttribute("aria-invalid")).toBe("true");
      await expectNoPageOverflow(page);
      await expectAccessible(page);
      await form.getByRole("button", { name: "Cancel" }).click();
      await expect.poll(() => formParam(page)).toBeNull();
      expect(await newForm(page).count()).toBe(0);
      expect(creates()).toBe(0);
      expect(await gone("phone-digest")).toBe("gone");
    } finally {
      await context.close();
    }
  });
});
