import { createServer } from "node:net";

/** A port nobody listens on right now (the gateway's must be known before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs `start` again, up to `attempts` times in all, while it fails because a port it was given
 * got taken between freePort() and its listen (EADDRINUSE, as an error code or in a child
 * process's output). `start` must pick its ports itself and clean up after a failure.
 */
export async function retryWhilePortTaken<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      const taken = (error as NodeJS.ErrnoException).code === "EADDRINUSE" || /EADDRINUSE/.test(String(error));
      if (!taken || attempt >= attempts) throw error;
    }
  }
}
