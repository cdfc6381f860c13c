// Passwords are hashed with argon2id at @node-rs/argon2's defaults (OWASP: m=19456 KiB, t=2).
import { hash, verify } from "@node-rs/argon2";

export const hashPassword = (password: string) => hash(password);

// Verifying against this when the email is unknown keeps login timing the same either way.
let decoy: Promise<string> | undefined;

export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  if (passwordHash === null) {
    decoy ??= hash("decoy password that matches nothing");
    await verify(await decoy, password);
    return false;
  }
  return verify(passwordHash, password);
}
