// CPU time processes have used, from /proc/<pid>/stat (Linux): utime + stime, in milliseconds.
import { readFileSync, readdirSync } from "node:fs";

const TICKS_PER_SECOND = 100; // CLK_TCK on Linux
const ticksToMs = (ticks: number) => (ticks / TICKS_PER_SECOND) * 1000;

/** A process's name (its stat's comm) and the stat fields after it, field 3 (state) first. */
function stat(pid: number | string): { name: string; fields: string[] } {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const end = text.lastIndexOf(")");
  return { name: text.slice(text.indexOf("(") + 1, end), fields: text.slice(end + 2).split(" ") };
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
  const processes: { pid: number; ppid: number; fields: string[] }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { name, fields } = stat(entry);
      if (name === "postgres") processes.push({ pid: Number(entry), ppid: Number(fields[1]), fields });
    } catch {
      // ended meanwhile: counted with its parent's children from now on
    }
  }
  const pids = new Set(processes.map((p) => p.pid));
  let ticks = 0;
  for (const { ppid, fields } of processes) {
    ticks += Number(fields[11]) + Number(fields[12]); // its own utime + stime
    if (!pids.has(ppid)) ticks += Number(fields[13]) + Number(fields[14]); // a postmaster: + its reaped children's
  }
  return ticksToMs(ticks);
}
