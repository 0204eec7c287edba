import { readdirSync, readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import type pg from "pg";

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

/** CPU time of one process from /proc/<pid>/stat, in ms: its own, and that of its children it has reaped. */
export function processCpuMs(pid: number): { own: number; reaped: number; ppid: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // Fields after the command name, which is in parentheses and may hold spaces: state is [0].
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ms = (i: number) => (Number(f[i]) * 1000) / TICKS_PER_S;
  return { ppid: Number(f[1]), own: ms(11) + ms(12), reaped: ms(13) + ms(14) };
}

/**
 * CPU time of a PostgreSQL server on this machine, in ms: the postmaster, every live child
 * (backends, writers, walwriter, autovacuum) and the children that have exited (which the
 * postmaster reaped). Undefined when the server is not a process here.
 */
export function postgresCpuMs(postmasterPid: number): number | undefined {
  const postmaster = processCpuMs(postmasterPid);
  if (postmaster === undefined) return undefined;
  let total = postmaster.own + postmaster.reaped;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = processCpuMs(Number(name));
    if (p?.ppid === postmasterPid) total += p.own;
  }
  return total;
}

/** The pid of the postmaster serving `db`, if it runs on this machine. */
export async function postmasterPid(db: pg.Client): Promise<number | undefined> {
  const { rows } = await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  return processCpuMs(rows[0]!.pid)?.ppid;
}

/** CPU time Redis reports for itself (INFO cpu), in ms. */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  return (field("used_cpu_sys") + field("used_cpu_user")) * 1000;
}

/** Where a phase's CPU goes: node processes by component, Redis and PostgreSQL. */
export interface CpuSources {
  /** Component name → pid of a live process (scheduler, history, worker). */
  processes: Record<string, number>;
  redis: Redis;
  postmasterPid: number | undefined;
}

/** CPU ms per component so far. */
export async function sampleCpu(s: CpuSources): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(s.processes)) out[name] = processCpuMs(pid)?.own ?? 0;
  out.redis = await redisCpuMs(s.redis);
  const pgMs = s.postmasterPid === undefined ? undefined : postgresCpuMs(s.postmasterPid);
  if (pgMs !== undefined) out.postgres = pgMs;
  return out;
}

/** CPU ms spent per component between two samples. */
export function cpuSpent(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, ms] of Object.entries(after)) out[name] = Math.max(0, ms - (before[name] ?? 0));
  return out;
}
