// A small closed-loop load for fault tests: `concurrency` clients each sending the next request
// as soon as the last one answered, until told to stop; every outcome is kept with its timing.
export interface Outcome<T = unknown> {
  client: number;
  startedAt: number;
  ms: number;
  result?: T;
  error?: string;
}

export function startLoad<T>(concurrency: number, send: (client: number, sequence: number) => Promise<T>) {
  const outcomes: Outcome<T>[] = [];
  let running = true;
  const clients = Array.from({ length: concurrency }, async (_, client) => {
    for (let sequence = 0; running; sequence += 1) {
      const startedAt = Date.now();
      try {
        const result = await send(client, sequence);
        outcomes.push({ client, startedAt, ms: Date.now() - startedAt, result });
      } catch (error) {
        outcomes.push({ client, startedAt, ms: Date.now() - startedAt, error: (error as Error).message });
      }
    }
  });
  return {
    outcomes,
    async stop(): Promise<Outcome<T>[]> {
      running = false;
      await Promise.all(clients);
      return outcomes;
    },
  };
}

export const percentile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};
