import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTaskFlowClient } from "@taskflow/client";
import { prepareStackIdentities, STACK_WORKER_NAME, type StackIdentities } from "@taskflow/devstack";
import { JobEventType, JobStatus } from "@taskflow/proto";
import { spawnTestStack, type TestStack } from "@taskflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const OPERATOR_TOKEN = randomBytes(18).toString("base64url");

let dir: string;
let ids: StackIdentities;
let stack: TestStack;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskflow-stack-auth-e2e-"));
  await writeFile(join(dir, "tokens"), `${OPERATOR_TOKEN} submitter,reader operator\n`);
  ids = prepareStackIdentities({ AUTH_TOKENS_FILE: join(dir, "tokens") })!;
  // As `npm start` does with AUTH_TOKENS_FILE set: every service enforces it, the stack's own
  // scheduler and worker call with identities made for them.
  stack = await spawnTestStack({ schedulers: 1, histories: 1, history: ids.env, scheduler: ids.env, worker: { ...ids.env, WORKER_QUEUES: "default" } });
});

afterAll(async () => {
  await stack?.stop();
  ids?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("a stack started with AUTH_TOKENS_FILE", () => {
  it("enforces the operator's tokens and still runs its own worker, as the identity made for it", async () => {
    const anonymous = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl });
    const operator = createTaskFlowClient({ schedulerUrl: stack.schedulerUrl, historyUrl: stack.historyUrl, token: OPERATOR_TOKEN });
    try {
      await expect(anonymous.submit({ type: "echo", payload: {} })).rejects.toThrow(/credentials required/);
      const job = await operator.submit({ type: "echo", payload: { hello: "world" } });
      expect((await operator.waitFor(job.id, { timeoutMs: 20_000 })).status).toBe(JobStatus.COMPLETED);
      const events = await operator.events(job.id);
      expect(events.map((e) => [e.type, e.actor])).toEqual([
        [JobEventType.SUBMITTED, "api:operator"],
        [JobEventType.STARTED, `worker:${STACK_WORKER_NAME}`],
        [JobEventType.COMPLETED, `worker:${STACK_WORKER_NAME}`],
      ]);
    } finally {
      await anonymous.close();
      await operator.close();
    }
  });
});
