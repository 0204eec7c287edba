export { ensurePostgres, type EnsurePostgresOptions, type PostgresHandle } from "./ensure-postgres.js";
export { ensureRedis, type EnsureRedisOptions, type RedisHandle } from "./ensure-redis.js";
export { freePort } from "./free-port.js";
export { spawnService, type RunningService, type SpawnServiceOptions } from "./spawn-service.js";
export { startRedisServer, type RedisServer, type RedisServerOptions } from "./start-redis-server.js";
export {
  startStack,
  type Front,
  type LaunchOptions,
  type ReplicatedService,
  type ServiceGroup,
  type ServiceName,
  type Stack,
  type StackOptions,
} from "./start-stack.js";
export { prepareStackIdentities, STACK_SCHEDULER_NAME, STACK_WORKER_NAME, type StackIdentities } from "./stack-identities.js";
