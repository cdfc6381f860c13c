// An ordered shutdown: what a service started last stops first (its HTTP edge before the
// clients its requests use, those before the connections they share).
/** Stops in the reverse order of starting; every step runs even if one before it failed. */
export class ShutdownStack {
  readonly #steps: { name: string; stop: () => unknown }[] = [];
  /** `stop` runs before everything pushed earlier. */
  push(name: string, stop: () => unknown): void {
    this.#steps.push({ name, stop });
  }
  get names(): string[] {
    return this.#steps.map((step) => step.name).reverse();
  }
  async unwind(): Promise<void> {
    let failure: unknown;
    for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
      try {
        await step.stop();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
