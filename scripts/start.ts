// npm start: runs scripts/start-system.ts (the whole system in one process, zero setup), on
// Linux with glibc's malloc told to give memory back. The first start's demo seed drives the
// process to ≈ 1.2–1.3 GB; glibc kept much of what was freed then as fragments of its heaps and
// arenas (malloc_trim could return ≈ 190 MB of an idle process). With two arenas and every
// block of 128 KiB or more mapped on its own (so freeing it returns it), the idle process
// settles lower (`npm run bench:memory`; docs/operations.md#memory-of-npm-start). glibc reads
// these settings only when a process starts, hence this one extra process; malloc settings of
// your own (MALLOC_*, GLIBC_TUNABLES) are used as they are.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { MALLOC_SETTINGS, mallocChosen } from "./lib/malloc.ts";

if (process.platform !== "linux" || mallocChosen(process.env)) {
  await import("./start-system.ts");
} else {
  const child = spawn(
    process.execPath,
    [...process.execArgv, new URL("./start-system.ts", import.meta.url).pathname, ...process.argv.slice(2)],
    {
      stdio: "inherit",
      env: { ...process.env, ...MALLOC_SETTINGS },
    },
  );
  // Ctrl-C reaches both processes (one process group); a supervisor's SIGTERM reaches this one
  // only. Either way the system stops in order, and this process exits when it has.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  child.once("exit", (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
}
