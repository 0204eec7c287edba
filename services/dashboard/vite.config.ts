import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The pages, built into dist/app, which the dashboard server serves. `pnpm dev` serves them with
// hot reload and forwards the API calls to a stack on the default ports.
const api = ["SchedulerService", "QueueService", "ScheduleService", "AdminService"].map((s) => `/taskflow.v1.${s}`);

export default defineConfig({
  root: "src/app",
  plugins: [react()],
  build: { outDir: "../../dist/app", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: {
      ...Object.fromEntries(api.map((p) => [p, "http://127.0.0.1:50051"])),
      "/taskflow.v1.HistoryService": "http://127.0.0.1:50052",
    },
  },
});
