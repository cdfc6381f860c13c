// Summarizes V8 CPU profiles (.cpuprofile, as `node --cpu-prof` or BENCH_PROFILE_DIR write them):
// where the sampled time went by package (self time), and the functions with the most self time.
//   npm run profile:summary -- <file.cpuprofile> [more files …] [--top 25] [--inclusive <name> …]
// --inclusive: also the time spent in (and under) functions of that name, each counted once per
// sample however deep it recurses.
// Several files are summed (a gateway's profiles from several runs, say).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "25" }, inclusive: { type: "string", multiple: true } },
});
if (!positionals.length) {
  console.error("usage: npm run profile:summary -- <file.cpuprofile> … [--top N]");
  process.exit(2);
}

/** The package a script belongs to: node_modules/<name>, our workspace folder, or node itself. */
function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const rest = url.slice(modules + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const ours = /\/(gateway|platform\/[^/]+|subgraphs\/[^/]+|system)\//.exec(url);
  return ours ? `ours: ${ours[1]}` : url.replace(/^file:\/\//, "");
}

const selfByPackage = new Map<string, number>();
const selfByFunction = new Map<string, number>();
const inclusiveNames = values.inclusive ?? [];
const inclusive = new Map<string, number>(inclusiveNames.map((name) => [name, 0]));
let total = 0;
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  // Each sample's time is the delta that follows it (V8's convention: timeDeltas[i] precedes samples[i]).
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const micros = profile.timeDeltas[i + 1] ?? 0;
    if (node.callFrame.functionName === "(idle)") continue;
    total += micros;
    const { functionName, url, lineNumber } = node.callFrame;
    const pkg = packageOf(url, functionName);
    selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + micros);
    const where = url
      ? `${url.replace(/^.*\/node_modules\//, "").replace(/^file:\/\/.*?\/main\//, "")}:${lineNumber + 1}`
      : "";
    const key = `${functionName || "(anonymous)"} ${where}`.trim();
    selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + micros);
    if (inclusiveNames.length) {
      const seen = new Set<string>();
      for (let id: number | undefined = node.id; id !== undefined; id = parentOf.get(id)) {
        const name = byId.get(id)!.callFrame.functionName;
        if (inclusive.has(name) && !seen.has(name)) {
          seen.add(name);
          inclusive.set(name, inclusive.get(name)! + micros);
        }
      }
    }
  }
}

const top = Number(values.top);
const percent = (micros: number) => `${((100 * micros) / total).toFixed(1).padStart(5)} %`;
console.log(`${positionals.length} profile(s), ${(total / 1000).toFixed(0)} ms sampled (idle excluded)\n`);
console.log("self time by package:");
for (const [pkg, micros] of [...selfByPackage].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${percent(micros)}  ${pkg}`);
console.log("\nfunctions with the most self time:");
for (const [fn, micros] of [...selfByFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${percent(micros)}  ${fn}`);
if (inclusiveNames.length) {
  console.log("\ntime in and under:");
  for (const [name, micros] of inclusive) console.log(`  ${percent(micros)}  ${name}`);
}
