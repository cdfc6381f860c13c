// npm run keys:rotate: a new token-signing key for the users service. The newest key signs;
// the previous one stays in the JWKS so tokens signed before the rotation verify until they
// expire (15 min). Restart the users service to pick it up; the gateway refetches the JWKS
// by itself when it meets the new kid.
import { join } from "node:path";
import { rotateSigningKeys } from "../subgraphs/users/src/auth/signing-keys.ts";

const file = join(process.env.POOYA_DATA_DIR ?? join(process.cwd(), ".data"), "keys", "users-signing-keys.json");
const keys = await rotateSigningKeys(file);
console.log(`${file}: signing with ${keys[0]!.kid}; still published: ${keys.slice(1).map((k) => k.kid).join(", ") || "none"}`);
