// npm run generate (second half): resolver types for every subgraph of the registry, or the ones named.
import { SUBGRAPH_NAMES, writeResolverTypes } from "@pooya/system";

const services = process.argv.slice(2).length ? process.argv.slice(2) : SUBGRAPH_NAMES;
for (const service of services) {
  await writeResolverTypes(service);
  console.log(`resolver types generated for ${service}`);
}
