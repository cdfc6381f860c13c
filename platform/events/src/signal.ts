// A wake-up call inside one process: "new events were committed here". Whoever waits for news
// (a feed request held open, the outbox relay) wakes at once instead of at its next poll.
export class CommitSignal {
  #waiters = new Set<() => void>();
  #version = 0;

  /** Counts notifications: note it before looking, pass it to wait(), and a commit in between is not missed. */
  get version(): number {
    return this.#version;
  }

  notify(): void {
    this.#version += 1;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves at the next notify() (at once if there was one since `seen`), or after `ms`. */
  wait(ms: number, seen: number = this.#version): Promise<void> {
    if (ms <= 0 || seen !== this.#version) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }
}
