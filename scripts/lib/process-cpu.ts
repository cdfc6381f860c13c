// CPU time processes have used, from /proc/<pid>/stat (Linux): utime + stime, in milliseconds.
// Also what else the benchmarks read there: whether a process still runs, and its children.
import { readFileSync, readdirSync } from "node:fs";

const TICKS_PER_SECOND = 100; // CLK_TCK on Linux
const ticksToMs = (ticks: number) => (ticks / TICKS_PER_SECOND) * 1000;

/** A process's name (its stat's comm) and the stat fields after it, field 3 (state) first. */
function stat(pid: number | string): { name: string; fields: string[] } {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const end = text.lastIndexOf(")");
  return { name: text.slice(text.indexOf("(") + 1, end), fields: text.slice(end + 2).split(" ") };
}

/** Every process now, with its stat (one that ends while being read is left out). */
function allProcesses(): { pid: number; name: string; ppid: number; fields: string[] }[] {
  const processes = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { name, fields } = stat(entry);
      processes.push({ pid: Number(entry), name, ppid: Number(fields[1]), fields });
    } catch {
      // ended meanwhile
    }
  }
  return processes;
}

/** Whether a process still runs (not a zombie its parent has yet to reap). */
export function running(pid: number): boolean {
  try {
    return stat(pid).fields[0] !== "Z";
  } catch {
    return false;
  }
}

/** A process and the processes it started (a node:cluster primary's workers). */
export function withChildren(pid: number): number[] {
  return [
    pid,
    ...allProcesses()
      .filter((p) => p.ppid === pid)
      .map((p) => p.pid),
  ];
}

export function cpuMs(pid: number): number {
  const { fields } = stat(pid);
  return ticksToMs(Number(fields[11]) + Number(fields[12]));
}

/**
 * CPU ms the machine's Postgres has used so far: its postmaster, its live backends, and the
 * backends that have ended (the postmaster reaped them, so their time is its children's time).
 * The difference over a run is Postgres's share of it, whichever backends came and went.
 */
export function postgresCpuMs(): number {
  // A backend that ends meanwhile is counted with its parent's children from now on.
  const processes = allProcesses().filter((p) => p.name === "postgres");
  const pids = new Set(processes.map((p) => p.pid));
  let ticks = 0;
  for (const { ppid, fields } of processes) {
    ticks += Number(fields[11]) + Number(fields[12]); // its own utime + stime
    if (!pids.has(ppid)) ticks += Number(fields[13]) + Number(fields[14]); // a postmaster: + its reaped children's
  }
  return ticksToMs(ticks);
}

/**
 * CPU ms each live Postgres backend serving one of `databases` has used so far, by pid. A
 * backend's command line is its process title, "postgres: <user> <database> <client> <state>"
 * (after "<cluster_name>: " when the server has one).
 * The machine's other databases (other programs' work) are left out, and so are the server's
 * own processes (checkpointer, WAL writer, autovacuum), which no one request can be charged for.
 */
export function postgresBackendsCpuMs(databases: ReadonlySet<string>): Map<number, number> {
  const found = new Map<number, number>();
  for (const p of allProcesses()) {
    if (p.name !== "postgres") continue;
    let title: string;
    try {
      title = readFileSync(`/proc/${p.pid}/cmdline`, "utf8");
    } catch {
      continue; // ended meanwhile
    }
    // "postgres: [<cluster_name>: ]<user> <database> <client> <state>": a word of it names the database.
    const words = title.split("\0")[0]!.split(" ");
    if (words[0] === "postgres:" && words.some((word) => databases.has(word)))
      found.set(p.pid, ticksToMs(Number(p.fields[11]) + Number(p.fields[12])));
  }
  return found;
}

/**
 * Samples `postgresBackendsCpuMs` every `everyMs` from `start()` to `stop()`, which gives the
 * CPU the backends of `databases` used in between: a backend that was there at the start counts
 * from its value then, one that connected later from zero (its connection's cost is part of the
 * run), and one that ended before `stop()` with its last sample (at most `everyMs` of its work
 * is lost; pooled connections rarely end under load).
 */
export function postgresBackendsMeter(databases: ReadonlySet<string>, everyMs = 500) {
  let first = new Map<number, number>();
  let last = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;
  const sample = () => {
    for (const [pid, ms] of postgresBackendsCpuMs(databases)) {
      if (!first.has(pid)) first.set(pid, 0);
      last.set(pid, ms);
    }
  };
  return {
    start() {
      first = postgresBackendsCpuMs(databases);
      last = new Map(first);
      timer = setInterval(sample, everyMs);
    },
    /** CPU ms used since start(). */
    stop(): number {
      clearInterval(timer);
      sample();
      let ms = 0;
      for (const [pid, value] of last) ms += value - (first.get(pid) ?? 0);
      return ms;
    },
  };
}
