import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareStackIdentities, STACK_SCHEDULER_NAME, STACK_WORKER_NAME } from "./stack-identities.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "taskflow-stack-identities-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const OPERATOR = `${"o".repeat(20)} submitter,reader ops\n`;

describe("prepareStackIdentities", () => {
  it("leaves authentication off without AUTH_TOKENS_FILE", () => {
    expect(prepareStackIdentities({})).toBeUndefined();
  });

  it("makes the scheduler's and the worker's tokens, enforced beside the operator's", async () => {
    const file = join(dir, "made");
    await writeFile(file, OPERATOR);
    const ids = prepareStackIdentities({ AUTH_TOKENS_FILE: file })!;
    try {
      const enforced = await readFile(ids.env.AUTH_TOKENS_FILE!, "utf8");
      const historyToken = (await readFile(ids.env.HISTORY_TOKEN_FILE!, "utf8")).trim();
      const workerToken = (await readFile(ids.env.SCHEDULER_TOKEN_FILE!, "utf8")).trim();
      expect(enforced).toContain(OPERATOR);
      expect(enforced).toContain(`${historyToken} service ${STACK_SCHEDULER_NAME}`);
      expect(enforced).toContain(`${workerToken} worker ${STACK_WORKER_NAME}`);
      expect(ids.summary).toContain(file);
    } finally {
      ids.close();
    }
  });

  it("follows the operator's file, and uses token files it is given as they are", async () => {
    const file = join(dir, "given");
    await writeFile(file, OPERATOR);
    const given = join(dir, "worker.token");
    const ids = prepareStackIdentities({ AUTH_TOKENS_FILE: file, SCHEDULER_TOKEN_FILE: given })!;
    try {
      expect(ids.env.SCHEDULER_TOKEN_FILE).toBe(given);
      expect(await readFile(ids.env.AUTH_TOKENS_FILE!, "utf8")).not.toContain(STACK_WORKER_NAME);
      const added = `${"n".repeat(20)} reader newcomer`;
      await writeFile(file, `${OPERATOR}${added}\n`);
      const deadline = Date.now() + 10_000;
      while (!(await readFile(ids.env.AUTH_TOKENS_FILE!, "utf8")).includes(added)) {
        if (Date.now() > deadline) throw new Error("the change did not reach the enforced file");
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      ids.close();
    }
  });

  it("refuses a tokens file it cannot read", () => {
    expect(() => prepareStackIdentities({ AUTH_TOKENS_FILE: join(dir, "missing") })).toThrow(/cannot read AUTH_TOKENS_FILE/);
  });
});
