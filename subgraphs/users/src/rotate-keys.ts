// npm run keys:rotate: a new token-signing key in the key file. The newest key signs; the
// previous one stays in the JWKS so tokens signed before the rotation verify until they expire
// (15 min). Restart the users service to pick it up; the gateway refetches the JWKS by itself
// when it meets the new kid. (With USERS_SIGNING_KEYS, rotate in your secret store instead.)
import { ConfigError, readEnv } from "@pooya/runtime";
import { rotateSigningKeys, signingKeysFile } from "./auth/signing-keys.ts";
import { usersEnv } from "./env.ts";

try {
  const { POOYA_DATA_DIR } = readEnv({ POOYA_DATA_DIR: usersEnv.POOYA_DATA_DIR });
  const file = signingKeysFile(POOYA_DATA_DIR);
  const keys = await rotateSigningKeys(file);
  console.log(
    `${file}: signing with ${keys[0]!.kid}; still published: ${
      keys
        .slice(1)
        .map((k) => k.kid)
        .join(", ") || "none"
    }`,
  );
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `keys:rotate failed: ${(error as Error).message}`);
  process.exit(1);
}
