// CPU time a process has used, from /proc/<pid>/stat (Linux): utime + stime, in milliseconds.
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // CLK_TCK on Linux

export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1000;
}
