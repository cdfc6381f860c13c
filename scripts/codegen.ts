// npm run generate (second half): resolver types for every subgraph of the registry (or the ones
// named), then the web client's typed operations and the trusted-documents manifest.
import { SUBGRAPH_NAMES, generateWebOperationTypes, writeResolverTypes, writeTrustedDocuments } from "@pooya/system";

const named = process.argv.slice(2);
for (const service of named.length ? named : SUBGRAPH_NAMES) {
  await writeResolverTypes(service);
  console.log(`resolver types generated for ${service}`);
}
if (!named.length) {
  await generateWebOperationTypes();
  console.log("web client operation types generated (web/src/gql)");
  const { file, count } = writeTrustedDocuments();
  console.log(`trusted documents: ${count} operations in ${file}`);
}
