// The users service's token signing keys. Newest signs; all are published in the JWKS so that
// tokens signed before a rotation stay verifiable until they expire.
// Source: USERS_SIGNING_KEYS (private JWKs, e.g. from a secret store), else a key file in the
// data directory (created with a fresh key on first start).
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { exportPrivateJwk, generateSigningKey, signingKeyFromJwk, type SigningKey } from "@pooya/platform";
import type { JWK } from "jose";

export const KEEP_PREVIOUS_KEYS = 1;

export const signingKeysFile = (dataDir: string) => join(dataDir, "keys", "users-signing-keys.json");

export async function loadSigningKeys(source: { jwks: JWK[] } | { file: string }): Promise<SigningKey[]> {
  if ("jwks" in source) return Promise.all(source.jwks.map(signingKeyFromJwk));
  try {
    const stored = JSON.parse(await readFile(source.file, "utf8")) as { keys: JWK[] };
    return await Promise.all(stored.keys.map(signingKeyFromJwk));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`the key file ${source.file} cannot be read: ${(error as Error).message}`);
    const key = await generateSigningKey();
    await saveSigningKeys(source.file, [key]);
    return [key];
  }
}

export async function saveSigningKeys(file: string, keys: SigningKey[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const stored = { keys: await Promise.all(keys.map(exportPrivateJwk)) };
  await writeFile(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  await chmod(file, 0o600);
}

/** Puts a new key in front and keeps KEEP_PREVIOUS_KEYS older ones for tokens still in flight. */
export async function rotateSigningKeys(file: string): Promise<SigningKey[]> {
  const current = await loadSigningKeys({ file });
  const next = [await generateSigningKey(), ...current.slice(0, KEEP_PREVIOUS_KEYS)];
  await saveSigningKeys(file, next);
  return next;
}
