// The production build (npm run build): each service of the registry, and the gateway, bundled
// with esbuild into plain JavaScript (our code and the workspace packages in; npm packages left
// as imports), then traced with @vercel/nft so that `build/<service>/` holds exactly the files
// it runs with — its bundle, its schema, its migrations and the production node_modules files
// the bundle reaches — in the repository's layout, and nothing else (no TypeScript, no Prisma
// CLI, no test tools). `node <entry>` inside that folder starts it; images copy the folder.
import { build, type Plugin } from "esbuild";
import { nodeFileTrace } from "@vercel/nft";
import { cp, mkdir, readdir, rm, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { SUBGRAPHS } from "./registry.ts";
import { ensureWebBuilt } from "./web-client.ts";
import { PROJECT_ROOT } from "./prisma-cli.ts";

export interface BuildTarget {
  name: string;
  /** The package folder, relative to the project root. */
  dir: string;
  /** Files and folders it reads at run time, relative to the project root. */
  assets: string[];
}

export const BUILD_DIR = join(PROJECT_ROOT, "build");

/** Every service of the registry and the gateway. */
export function buildTargets(): BuildTarget[] {
  return [
    ...SUBGRAPHS.map((s) => ({
      name: s.name,
      dir: `subgraphs/${s.name}`,
      assets: [`subgraphs/${s.name}/schema.graphql`, `subgraphs/${s.name}/prisma/migrations`],
    })),
    // The gateway also serves the web client (web/dist) and checks operations against the trusted documents.
    {
      name: "gateway",
      dir: "gateway",
      assets: ["gateway/supergraph.graphql", "gateway/trusted-documents.json", "web/dist"],
    },
  ];
}

/** The file `node` starts, relative to the service's build folder. */
export const entryOf = (target: BuildTarget) => `${target.dir}/dist/main.mjs`;

/**
 * V8 flags a service's process starts with: its image's CMD has them, and the process harness
 * (tests, `npm run bench`) starts each service with them too. Young-generation semi-spaces of up
 * to 32 MB, for every service. V8 sizes them from the memory it sees: on a large machine it
 * already allows 64 MB, but under a container's 512 MiB limit (deploy/k8s/base) only about
 * 5 MB. There the subgraphs used about twice the CPU per 200-student dashboard and served half as
 * many (docs/operations.md, "The services under their pods' memory limits"). The gateway, even
 * without a limit, used about a quarter less CPU per dashboard with the flag once it had served
 * some traffic (docs/benchmarks.md, "The gateway's young generation").
 */
export const nodeFlagsOf = (_name: string): string[] => ["--max-semi-space-size=32"];

/** npm packages stay imports (resolved from the traced node_modules); our workspace packages are bundled. */
const packagesStayExternal: Plugin = {
  name: "packages-stay-external",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@pooya/") ? undefined : { path: args.path, external: true },
    );
  },
};

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

export interface BuiltService {
  name: string;
  /** The service's folder: run `node <entry>` in it. */
  dir: string;
  entry: string;
  bundleBytes: number;
  files: number;
  bytes: number;
}

/**
 * Bundles one target into `<dir>/dist/` (chunks beside main.mjs: code that reads files next to
 * its source, `new URL("../schema.graphql", import.meta.url)`, finds them at the same depth),
 * then copies what it needs into `<outDir>/<name>/`.
 */
export async function buildService(target: BuildTarget, outDir = BUILD_DIR): Promise<BuiltService> {
  const distDir = join(PROJECT_ROOT, target.dir, "dist");
  await rm(distDir, { recursive: true, force: true });
  const result = await build({
    entryPoints: [join(PROJECT_ROOT, target.dir, "src/main.ts")],
    outdir: distDir,
    bundle: true,
    // Code splitting keeps main.ts's dynamic imports dynamic: tracing starts before the rest loads.
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node24",
    outExtension: { ".js": ".mjs" },
    chunkNames: "[name]-[hash]",
    sourcemap: "linked",
    legalComments: "none",
    plugins: [packagesStayExternal],
    metafile: true,
    logLevel: "warning",
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => join(PROJECT_ROOT, file));
  const code = outputs.filter((file) => file.endsWith(".mjs"));
  const trace = await nodeFileTrace(code, { base: PROJECT_ROOT, processCwd: PROJECT_ROOT });
  const serviceDir = join(outDir, target.name);
  await rm(serviceDir, { recursive: true, force: true });
  const files = new Set([...trace.fileList, ...outputs.map((file) => relative(PROJECT_ROOT, file)), ...target.assets]);
  for (const file of files) {
    const destination = join(serviceDir, file);
    await mkdir(dirname(destination), { recursive: true });
    await cp(join(PROJECT_ROOT, file), destination, { recursive: true, dereference: true });
  }
  let bundleBytes = 0;
  for (const file of code) bundleBytes += (await stat(file)).size;
  return {
    name: target.name,
    dir: serviceDir,
    entry: entryOf(target),
    bundleBytes,
    files: files.size,
    bytes: await sizeOf(serviceDir),
  };
}

export async function buildAll(options: { names?: string[]; outDir?: string } = {}): Promise<BuiltService[]> {
  const targets = buildTargets().filter((t) => !options.names?.length || options.names.includes(t.name));
  if (targets.some((t) => t.name === "gateway")) await ensureWebBuilt();
  const built: BuiltService[] = [];
  for (const target of targets) built.push(await buildService(target, options.outDir));
  return built;
}
