// Applies history's pending migrations and exits: 0 once the schema is at the newest version,
// 1 on a bad setting or a failed migration. Run it as a one-off (a Kubernetes Job) with a
// DATABASE_URL whose user may change the schema, so that the history service itself can run
// with HISTORY_MIGRATE_ON_START=false and a user without DDL rights.
import { ConfigError, createLogger } from "@taskflow/service-kit";
import { loadConfig } from "./config.js";
import { migrate } from "./db/migrate.js";

function main(): void {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  const logger = createLogger({ name: "history-migrate", level: config.logLevel });
  migrate(config.databaseUrl, { logger }).then(
    (ran) => logger.info({ applied: ran.length }, "schema is current"),
    (err: unknown) => {
      logger.fatal({ err }, "migration failed");
      process.exitCode = 1;
    },
  );
}

main();
