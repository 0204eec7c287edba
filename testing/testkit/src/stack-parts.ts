import { fileURLToPath } from "node:url";
import { spawnStackService, type StackService } from "./stack-service.js";
import { startTcpBalancer, type TcpBalancer } from "./start-tcp-balancer.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
/** The built entry of a service, e.g. `services/history/dist/main.js`. */
export const serviceEntry = (service: string): string => `${repoRoot}services/${service}/dist/main.js`;

/** Replicas of one service, each its own process, behind one balancer. */
export interface ReplicaGroup {
  replicas: StackService[];
  balancer: TcpBalancer;
}

/** How one process of a stack is started. */
export interface PartSpec {
  /** The service, e.g. "scheduler": names its default entry. */
  service: string;
  /** The variable that sets its port, e.g. SCHEDULER_PORT. */
  portVar: string;
  /** Its environment, laid over this process's own. */
  env: NodeJS.ProcessEnv;
  /** The script `node` runs (default the service's built entry). */
  entry?: string;
  /** Its name in errors and echoed output (default the service). */
  name?: string;
}

/**
 * The processes and balancers of one test stack. Each is kept as it starts, so that `stop` ends
 * whatever did start, even when a later start failed.
 */
export class StackParts {
  private readonly groups: StackService[][] = [];
  private readonly balancers: TcpBalancer[] = [];

  constructor(private readonly echo: boolean) {}

  /** Spawns one process on port 0. @throws Error when it does not log "listening". */
  spawn(spec: PartSpec): Promise<StackService> {
    return spawnStackService({
      name: spec.name ?? spec.service,
      entry: spec.entry ?? serviceEntry(spec.service),
      portVar: spec.portVar,
      env: { ...process.env, LOG_LEVEL: "info", ...spec.env },
      echo: this.echo,
      graceMs: 10_000,
    });
  }

  /**
   * Spawns `count` replicas at once, named "scheduler-1", "scheduler-2"... (history's
   * migrations take an advisory lock, so its replicas may start together), then a balancer in
   * front of them. @throws the first start's error, once every start has ended.
   */
  async startGroup(count: number, spec: PartSpec): Promise<ReplicaGroup> {
    const replica = (i: number) => this.spawn({ ...spec, name: `${spec.service}-${i + 1}` });
    const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => replica(i)));
    const replicas = this.newGroup();
    replicas.push(...results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])));
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    const balancer = await startTcpBalancer(replicas.map((s) => s.url));
    this.balancers.push(balancer);
    return { replicas, balancer };
  }

  /** A group of processes to fill by hand (e.g. workers), stopped before the groups made earlier. */
  newGroup(): StackService[] {
    const group: StackService[] = [];
    this.groups.push(group);
    return group;
  }

  /**
   * Stops every process, the groups made last first (workers, then schedulers, then history:
   * each group stops while what it calls is up) and the replicas of a group at once, then the
   * balancers. Resolves with what failed, having tried everything.
   */
  async stop(): Promise<unknown[]> {
    const errors: unknown[] = [];
    const settle = async (work: Promise<unknown>[]): Promise<void> => {
      for (const r of await Promise.allSettled(work)) if (r.status === "rejected") errors.push(r.reason);
    };
    for (const group of this.groups.splice(0).reverse()) await settle(group.map((s) => s.stop()));
    await settle(this.balancers.splice(0).map((b) => b.close()));
    return errors;
  }
}
