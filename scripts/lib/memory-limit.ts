// A memory limit for one process, as a container's: a memory cgroup of its own with that limit,
// joined before Node starts, so that V8 sizes its heap from the limit as it does in a pod (Node
// reads the cgroup's limit when it starts; a process moved into a cgroup later keeps the heap it
// sized from the machine). Linux only, and it needs a writable memory controller: cgroup v2 with
// `memory` in the root's cgroup.subtree_control, or v1's memory hierarchy — as root.
// Also the peak resident size of a process over a stretch of time (`/proc/<pid>/clear_refs`).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface MemoryLimit {
  /** Runs `command` inside the cgroup: the shell joins it, then becomes the command (same pid). */
  prefix: string[];
  /** Processes the kernel has killed in it for going over the limit, since it was set up. */
  oomKills(): number;
  remove(): void;
}

const V2_ROOT = "/sys/fs/cgroup";
const V1_ROOT = "/sys/fs/cgroup/memory";

function writable(root: string, controllerFile: string, wanted: string): boolean {
  try {
    return readFileSync(join(root, controllerFile), "utf8").split(/\s+/).includes(wanted);
  } catch {
    return false;
  }
}

/** A cgroup named `name` limited to `mb` MiB (swap included where the kernel counts it). */
export function createMemoryLimit(name: string, mb: number): MemoryLimit {
  const bytes = String(Math.round(mb * 1024 * 1024));
  let dir: string;
  let events: () => string;
  if (writable(V2_ROOT, "cgroup.subtree_control", "memory")) {
    dir = join(V2_ROOT, name);
    if (!existsSync(dir)) mkdirSync(dir);
    writeFileSync(join(dir, "memory.max"), bytes);
    if (existsSync(join(dir, "memory.swap.max"))) writeFileSync(join(dir, "memory.swap.max"), "0");
    events = () => readFileSync(join(dir, "memory.events"), "utf8");
  } else if (existsSync(join(V1_ROOT, "memory.limit_in_bytes"))) {
    dir = join(V1_ROOT, name);
    if (!existsSync(dir)) mkdirSync(dir);
    // Swap counts against the limit, as in a pod (kubelet runs without swap by default). The
    // kernel wants memory ≤ memory+swap at every step: for a cgroup reused with a higher limit,
    // memory+swap must go up first; with a lower one, memory must come down first.
    const memsw = join(dir, "memory.memsw.limit_in_bytes");
    if (existsSync(memsw)) {
      try {
        writeFileSync(memsw, bytes);
      } catch {
        // lower than the current memory limit: set after it, below
      }
    }
    writeFileSync(join(dir, "memory.limit_in_bytes"), bytes);
    if (existsSync(memsw)) writeFileSync(memsw, bytes);
    events = () => readFileSync(join(dir, "memory.oom_control"), "utf8");
  } else {
    throw new Error(
      "a memory limit needs a writable memory cgroup controller (Linux, as root): none found under /sys/fs/cgroup",
    );
  }
  const killed = () => Number(/oom_kill (\d+)/.exec(events())?.[1] ?? 0);
  const killedBefore = killed(); // a cgroup left by an earlier run keeps its count
  return {
    prefix: ["sh", "-c", 'echo $$ > "$0" && exec "$@"', join(dir, "cgroup.procs")],
    oomKills: () => killed() - killedBefore,
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        // still has a process in it; the kernel removes nothing, the next run reuses it
      }
    },
  };
}

/** Starts a new peak for a process's resident size (Linux: writes 5 to /proc/<pid>/clear_refs). */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

/** The process's peak resident size since it started or since resetPeakRss, in MiB. */
export function peakRssMb(pid: number): number {
  const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}
