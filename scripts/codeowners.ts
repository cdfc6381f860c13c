// npm run codeowners: writes .github/CODEOWNERS from the registry's owners (system/src/codeowners.ts).
import { CODEOWNERS_PATH, writeCodeowners } from "@pooya/system";

await writeCodeowners();
console.error(`wrote ${CODEOWNERS_PATH}`);
