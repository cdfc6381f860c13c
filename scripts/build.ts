// npm run build: the production build of every service (or those named) into build/<service>/.
//   node scripts/build.ts [service …] [--out <dir>]
// Run `npm run generate` first (npm run build does): the bundles include the generated Prisma clients.
import { buildAll } from "@pooya/system";

const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const outDir = outIndex >= 0 ? args[outIndex + 1] : undefined;
const names = args.filter((arg, i) => (arg !== "--out" && i !== outIndex + 1) || (outIndex < 0 && arg !== "--out"));

const started = Date.now();
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
for (const service of await buildAll({ names: names.filter((n) => !n.startsWith("-")), outDir })) {
  console.log(
    `${service.name.padEnd(14)} ${service.dir}  (node ${service.entry})  bundle ${mb(service.bundleBytes)}, ${service.files} files, ${mb(service.bytes)} in all`,
  );
}
console.log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
