import type { SubmitInput } from "@taskflow/client";

/** What the end-to-end test expects of one submitted job once it is terminal. */
export interface Expectation {
  status: "completed" | "failed";
  attempts: number;
  result?: unknown;
  error?: string;
  /** Earliest start, in ms after submit. */
  notBeforeMs?: number;
  /** Event types of the audit trail, in order. */
  trail: string[];
}

export interface PlannedJob {
  input: SubmitInput;
  expect: Expectation;
}

const run = (failures: number, last: "completed" | "failed"): string[] => [
  "submitted",
  ...Array.from({ length: failures }, () => ["started", "retry_scheduled"]).flat(),
  "started",
  last,
];

/**
 * 1,000 jobs of every built-in kind the lifecycle covers: plain, slow, retried then
 * successful, failing for good, delayed, and prioritised, interleaved.
 */
export function planMixedJobs(count = 1000): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  for (let i = 0; i < count; i++) {
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
      case 3: {
        const payload = { n: i, text: `echo ${i}` };
        jobs.push({ input: { type: "echo", payload }, expect: { status: "completed", attempts: 1, result: payload, trail: run(0, "completed") } });
        break;
      }
      case 4: {
        const ms = 5 + (i % 25);
        jobs.push({ input: { type: "sleep", payload: { ms } }, expect: { status: "completed", attempts: 1, result: { slept_ms: ms }, trail: run(0, "completed") } });
        break;
      }
      case 5: {
        const failures = 1 + (i % 2);
        jobs.push({
          input: { type: "flaky", payload: { failures }, maxAttempts: 3 },
          expect: { status: "completed", attempts: failures + 1, result: { attempt: failures + 1 }, trail: run(failures, "completed") },
        });
        break;
      }
      case 6: {
        const message = `boom ${i}`;
        jobs.push({
          input: { type: "fail", payload: { message }, maxAttempts: 2 },
          expect: { status: "failed", attempts: 2, error: message, trail: run(1, "failed") },
        });
        break;
      }
      case 7: {
        const delayMs = 500 + (i % 1000);
        const payload = { delayed: i };
        jobs.push({
          input: { type: "echo", payload, delayMs },
          expect: { status: "completed", attempts: 1, result: payload, notBeforeMs: delayMs, trail: run(0, "completed") },
        });
        break;
      }
      default: {
        const payload = { prioritised: i };
        jobs.push({
          input: { type: "echo", payload, priority: (i * 37) % 1001 },
          expect: { status: "completed", attempts: 1, result: payload, trail: run(0, "completed") },
        });
      }
    }
  }
  return jobs;
}
