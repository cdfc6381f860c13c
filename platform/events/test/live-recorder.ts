// What a live subscription passed on (events, gaps) and logged, with a way to await a state of it
// (the events tests here and the gateway's, through @pooya/events/testing).
import { createLogger } from "@pooya/runtime";
import type { EventEnvelope } from "../src/envelope.ts";

export function liveRecorder() {
  const events: EventEnvelope[] = [];
  const gaps: (string | undefined)[] = [];
  const lines: { msg: string; [key: string]: unknown }[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const look of [...waiters]) look();
  };
  const log = createLogger({
    service: "test",
    level: "info",
    destination: {
      write: (line: string) => {
        lines.push(JSON.parse(line));
        notify();
      },
    },
  });
  return {
    events,
    gaps,
    lines,
    log,
    onEvents(batch: EventEnvelope[]) {
      events.push(...batch);
      notify();
    },
    onGap(source?: string) {
      gaps.push(source);
      notify();
    },
    logged: (msg: string) => lines.some((line) => line.msg === msg),
    /** Resolves once `check` holds (looked at after each event, gap and log line); rejects after `ms`. */
    until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(new Error(`timed out waiting for ${what}`));
        }, ms);
        const look = () => {
          if (!check()) return;
          clearTimeout(timer);
          waiters.delete(look);
          resolve();
        };
        waiters.add(look);
        look();
      });
    },
  };
}
