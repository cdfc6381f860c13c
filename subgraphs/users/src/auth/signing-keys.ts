// The users service's token signing keys. Newest signs; all are published in the JWKS so that
// tokens signed before a rotation stay verifiable until they expire.
// Source, in order: USERS_SIGNING_KEYS (JSON array of private JWKs, e.g. from a secret store),
// else a key file in the data directory (created with a fresh key on first start),
// else one key generated in memory (tests).
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { exportPrivateJwk, generateSigningKey, signingKeyFromJwk, type SigningKey } from "@pooya/platform";
import type { JWK } from "jose";

export const KEEP_PREVIOUS_KEYS = 1;

export async function loadSigningKeys(source: { env?: string; file?: string }): Promise<SigningKey[]> {
  if (source.env) return Promise.all((JSON.parse(source.env) as JWK[]).map(signingKeyFromJwk));
  if (!source.file) return [await generateSigningKey()];
  try {
    const stored = JSON.parse(await readFile(source.file, "utf8")) as { keys: JWK[] };
    return Promise.all(stored.keys.map(signingKeyFromJwk));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
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
