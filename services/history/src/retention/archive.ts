import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { toJson } from "@bufbuild/protobuf";
import { JobEventSchema, JobSchema } from "@taskflow/proto";
import type { ArchivedJob } from "../db/queries/retention.js";
import { eventToProto, jobToProto } from "../mapping/to-proto.js";

/** What an archive file holds: the jobs of one dropped day partition, or of one row batch. */
export type ArchiveKind = "partition" | "batch";

/** A complete archive file, renamed to its final name and flushed to disk. */
export interface ArchiveFile {
  path: string;
  jobs: number;
  events: number;
}

/**
 * Writing an archive failed (directory missing or not writable, disk full...). Nothing was
 * removed on its account; the temporary file is gone.
 */
export class ArchiveError extends Error {
  constructor(cause: unknown) {
    super(`retention archive could not be written: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "ArchiveError";
  }
}

/** `2026-11-01T10:15:00.123Z` → `20261101T101500123Z`: sortable, and safe in any file system. */
const compactTime = (at: Date): string => at.toISOString().replace(/[-:.]/g, "");

/**
 * `jobs-<YYYYMMDD>-<kind>-<written at>-<random>.ndjson.gz`. Names sort by the day of the jobs,
 * then by when they were written; the random part keeps two replicas writing in the same
 * millisecond from colliding.
 * @param day UTC day of the (first) job, `YYYY-MM-DD`.
 */
export function archiveFileName(day: string, kind: ArchiveKind, at: Date): string {
  return `jobs-${day.replaceAll("-", "")}-${kind}-${compactTime(at)}-${randomBytes(4).toString("hex")}.ndjson.gz`;
}

/**
 * One archive line: the job as taskflow.v1.Job proto3 JSON with an `events` array of
 * taskflow.v1.JobEvent proto3 JSON, oldest first. `fromJson(JobSchema, …)` reads it back once
 * `events` is taken off.
 */
export function archiveLine(a: ArchivedJob): string {
  const job = toJson(JobSchema, jobToProto(a.job)) as Record<string, unknown>;
  const events = a.events.map((e) => toJson(JobEventSchema, eventToProto(e)));
  return `${JSON.stringify({ ...job, events })}\n`;
}

/**
 * Writes `jobs` as gzipped NDJSON to `dir/name`: first to a hidden temporary name, then fsync,
 * rename, and fsync of the directory, so the final name only ever shows a complete file that
 * survives a crash. `jobs` is consumed as it is written, so a cursor streams through in bounded
 * memory. The directory must exist (a missing mount must not silently fill the container's disk).
 * @throws ArchiveError when anything fails; the temporary file is removed, `jobs` is not drained.
 */
export async function writeArchive(dir: string, name: string, jobs: AsyncIterable<ArchivedJob> | Iterable<ArchivedJob>): Promise<ArchiveFile> {
  const tmp = join(dir, `.${name}.tmp`);
  const path = join(dir, name);
  const counts = { jobs: 0, events: 0 };
  async function* lines(): AsyncGenerator<string> {
    for await (const a of jobs) {
      counts.jobs += 1;
      counts.events += a.events.length;
      yield archiveLine(a);
    }
  }
  let file: FileHandle;
  try {
    file = await open(tmp, "wx");
  } catch (err) {
    throw new ArchiveError(err);
  }
  try {
    try {
      await pipeline(Readable.from(lines()), createGzip(), async (gzipped: AsyncIterable<Buffer>) => {
        for await (const chunk of gzipped) await file.write(chunk);
      });
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new ArchiveError(err);
  }
  try {
    await syncDirectory(dir);
  } catch (err) {
    // The file is complete under its final name; only its rename may not survive a crash.
    throw new ArchiveError(err);
  }
  return { path, ...counts };
}

/** Makes a rename in `dir` durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Removes an archive whose rows were not removed after all (the drop gave up on its lock), so
 * the next run's archive of the same jobs is the only one. Best effort: a file left behind only
 * duplicates jobs, it never loses one.
 */
export async function discardArchive(file: ArchiveFile): Promise<void> {
  await unlink(file.path).catch(() => undefined);
}
