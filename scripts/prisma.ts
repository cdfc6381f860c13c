// The Prisma CLI for every service of the registry (or one):
//   node scripts/prisma.ts generate [service]
//   node scripts/prisma.ts migrate-dev <service> <name>   (needs a Postgres server, see PG_ADMIN_URL)
//   node scripts/prisma.ts <service> <prisma args…>       (anything else, e.g. "<service> migrate status")
import { SUBGRAPH_NAMES, runPrisma, withScratchDatabases } from "@pooya/system";

const services: string[] = SUBGRAPH_NAMES;
const [command = "", ...rest] = process.argv.slice(2);

if (command === "generate") {
  for (const service of rest.length ? rest : services) {
    if (!services.includes(service)) throw new Error(`no service ${service} in the registry`);
    const result = runPrisma(service, ["generate"], {}, { capture: true });
    if (result.status !== 0) {
      process.stderr.write(result.stdout + result.stderr);
      process.exit(result.status ?? 1);
    }
    console.log(`prisma client generated for ${service}`);
  }
} else if (command === "migrate-dev") {
  const [service = "", name] = rest;
  if (!services.includes(service) || !name) {
    console.error(`usage: npm run migrate:dev -- <${services.join("|")}> <migration name>`);
    process.exit(64);
  }
  const tag = `pooya_migrate_dev_${process.pid}`;
  const status = await withScratchDatabases(
    [tag, `${tag}_shadow`],
    async ([url, shadow]) =>
      runPrisma(service, ["migrate", "dev", "--name", name], {
        SERVICE_DATABASE_URL: url!,
        SHADOW_DATABASE_URL: shadow!,
      }).status,
  );
  process.exit(status ?? 1);
} else if (services.includes(command)) {
  process.exit(runPrisma(command, rest).status ?? 1);
} else {
  console.error(
    `usage: prisma.ts generate [service] | migrate-dev <service> <name> | <service> <prisma args…>; services: ${services.join(", ")}`,
  );
  process.exit(64);
}
