# TaskFlow images: one stage builds the whole monorepo, then one small runtime target per
# service. Build each with its target, e.g.
#   docker build --target scheduler -t taskflow/scheduler:0.1.0 .
# (likewise history, worker and dashboard). deploy/README.md tells how they run in Kubernetes.

FROM node:22-bookworm-slim AS build
ENV CI=true \
    TURBO_TELEMETRY_DISABLED=1
RUN npm install --global pnpm@10.34.9
WORKDIR /src

# The lockfile alone decides what is downloaded, so this layer is reused until it changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch

COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm exec turbo run build --filter=@taskflow/scheduler --filter=@taskflow/history --filter=@taskflow/worker \
      --filter=@taskflow/dashboard

# One self-contained folder per service: its dist, its production dependencies, and the
# workspace packages it uses copied in (not linked), so a runtime image needs nothing else.
# Sources, tests and build configs stay behind.
RUN set -e; \
    for name in scheduler history worker dashboard; do \
      pnpm deploy --filter "@taskflow/$name" --prod --legacy --offline "/out/$name"; \
      rm -rf "/out/$name/src" "/out/$name/test" /out/$name/tsconfig*.json "/out/$name/vitest.config.ts" \
        "/out/$name/vite.config.ts"; \
    done

# Files the services read at start-up, history's migration entry (the prod overlay's
# migration Job runs it in the history image), and the dashboard's built pages: fail here
# rather than at a pod's first start.
RUN ls /out/history/migrations/*.sql /out/history/dist/migrate-main.js \
       /out/scheduler/dist/redis/scripts/*.lua /out/dashboard/dist/app/index.html > /dev/null


FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Numeric, so Kubernetes' runAsNonRoot can verify it: the base image's `node` user. The app's
# files stay owned by root, so the process cannot change its own code.
USER 1000:1000


FROM runtime AS scheduler
COPY --from=build /out/scheduler /app/services/scheduler
# A container is reached from outside itself; the service's default bind is 127.0.0.1.
ENV SCHEDULER_HOST=0.0.0.0
EXPOSE 50051
ENTRYPOINT ["node", "services/scheduler/dist/main.js"]


FROM runtime AS history
# Holds services/history/migrations, which history applies at start-up, and
# dist/migrate-main.js, which applies them alone and exits (a Job overrides the command).
COPY --from=build /out/history /app/services/history
ENV HISTORY_HOST=0.0.0.0
EXPOSE 50052
ENTRYPOINT ["node", "services/history/dist/main.js"]


FROM runtime AS worker
COPY --from=build /out/worker /app/services/worker
ENV WORKER_HOST=0.0.0.0
# Health only: the worker serves no API.
EXPOSE 50053
ENTRYPOINT ["node", "services/worker/dist/main.js"]


FROM runtime AS dashboard
# The pages `vite build` made (dist/app) and the server (dist/server) that serves them and
# forwards the browser's calls to the scheduler and history.
COPY --from=build /out/dashboard /app/services/dashboard
ENV DASHBOARD_HOST=0.0.0.0
EXPOSE 8080
# The slim image has no curl: node asks the server's own /healthz.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.DASHBOARD_PORT || 8080}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "services/dashboard/dist/server/main.js"]
