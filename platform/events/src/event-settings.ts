// The events variables and settings of every service that produces or consumes events (the
// gateway too: it hears them live), apart from the code that uses them.
import { env } from "@pooya/runtime";

/** The variables of every service that produces or consumes events. */
export function eventVariables() {
  return {
    NATS_URL: env
      .natsUrls()
      .optional()
      .describe(
        "NATS with JetStream (nats://host:4222): events go through the broker; unset, services read each other's event feeds over HTTP (the zero-setup mode)",
      ),
    EVENTS_SUBJECT_PREFIX: env
      .matching(/^[A-Za-z0-9_-]{1,40}$/, "1 to 40 letters, digits, _ or -")
      .default("pooya")
      .describe(
        "first token of event subjects (`<prefix>.<service>.<EventType>`) and of the stream's name (`<PREFIX>_EVENTS`)",
      ),
    EVENTS_POLL_INTERVAL_MS: env
      .integer({ min: 10, max: 600_000 })
      .default(1_000)
      .describe(
        "how often a held-open feed request, and the outbox relay, look for events committed by other replicas (commits in the same process wake them at once)",
      ),
  };
}

export interface EventSettings {
  natsUrl?: string;
  subjectPrefix: string;
  pollIntervalMs: number;
}

export function eventSettings(vars: Record<string, unknown>): EventSettings {
  return {
    natsUrl: vars.NATS_URL as string | undefined,
    subjectPrefix: vars.EVENTS_SUBJECT_PREFIX as string,
    pollIntervalMs: vars.EVENTS_POLL_INTERVAL_MS as number,
  };
}
