// npm run keys:rotate [-- <key set>…]: a new signing key first in each key file of
// $POOYA_DATA_DIR, the previous one kept (tokens signed before it verify until they expire):
// `access-tokens` (users' access-token keys) and, by service name, each calling service's
// service-token keys. No names: every one of them. Restart the services to sign with the new
// keys; whoever verifies refetches the JWKS when it meets the new kid. Keys from a secret store
// (USERS_SIGNING_KEYS, <NAME>_SERVICE_SIGNING_KEYS) are rotated there instead: publish [new, old].
import { ConfigError, env, projectDataDir, readEnv } from "@pooya/runtime";
import { rotateSigningKeys, serviceSigningKeysFile } from "@pooya/identity";
import { signingKeysFile } from "@pooya/users";
import { serviceTokenSigners } from "@pooya/system";

const keySets: Record<string, (dataDir: string) => string> = {
  "access-tokens": signingKeysFile,
  ...Object.fromEntries(
    serviceTokenSigners().map((name) => [name, (dataDir: string) => serviceSigningKeysFile(dataDir, name)]),
  ),
};

try {
  const { POOYA_DATA_DIR } = readEnv({ POOYA_DATA_DIR: env.text().default(projectDataDir()) });
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !keySets[name]);
  if (unknown.length) {
    console.error(`keys:rotate: no key set ${unknown.join(", ")}; the key sets are ${Object.keys(keySets).join(", ")}`);
    process.exit(64);
  }
  for (const name of wanted.length ? wanted : Object.keys(keySets)) {
    const file = keySets[name]!(POOYA_DATA_DIR);
    const keys = await rotateSigningKeys(file);
    console.log(
      `${name}: ${file}: signing with ${keys[0]!.kid}; still published: ${
        keys
          .slice(1)
          .map((k) => k.kid)
          .join(", ") || "none"
      }`,
    );
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `keys:rotate failed: ${(error as Error).message}`);
  process.exit(1);
}
