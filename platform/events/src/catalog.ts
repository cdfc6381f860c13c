// A producer's event types: name, version, what it means, and its payload's schema (zod). The
// producer builds events through it (a payload that breaks the schema never reaches the
// outbox), consumers read events through it (typed, checked), and docs/events.md is generated
// from it: the catalogue is the contract between services.
import { z } from "zod";
import type { EntityRef, EventEnvelope, NewEvent } from "./envelope.ts";
import { UnprocessableEvent } from "./consumer.ts";

export interface EventTypeDefinition<P extends z.ZodObject = z.ZodObject> {
  version: number;
  /** When it is written, in words. */
  description: string;
  payload: P;
  /**
   * The federation entities (their @key type and id) an event of this type changes, from its
   * payload: every entity one of whose fields reads differently after it (caches evict them).
   */
  entities(payload: z.output<P>): EntityRef[];
}

export type EventDefinitions = Record<string, EventTypeDefinition>;

export interface EventCatalog<D extends EventDefinitions = EventDefinitions> {
  source: string;
  types: D;
  /** A new event of `type`, its payload checked. */
  create<T extends keyof D & string>(type: T, payload: z.input<D[T]["payload"]>): NewEvent;
  /**
   * The payload, typed, when `event` is a `type` from this source in the version described here;
   * undefined for anything else (other types, newer versions: a consumer skips what it does not
   * know). Throws UnprocessableEvent when the payload breaks the schema.
   */
  read<T extends keyof D & string>(event: EventEnvelope, type: T): z.output<D[T]["payload"]> | undefined;
}

/** The definitions of the payload schemas `P` (inferred from them: each `entities` is typed on its own payload). */
export type DefinitionsOf<P extends Record<string, z.ZodObject>> = { [T in keyof P]: EventTypeDefinition<P[T]> };

export function defineEvents<const P extends Record<string, z.ZodObject>>(
  source: string,
  types: DefinitionsOf<P>,
): EventCatalog<DefinitionsOf<P>> {
  return {
    source,
    types,
    create(type, payload) {
      const definition = types[type]!;
      const parsed = definition.payload.parse(payload) as Record<string, unknown>;
      return {
        type,
        version: definition.version,
        payload: parsed,
        entities: uniqueEntities(definition.entities(parsed as z.output<typeof definition.payload>)),
      };
    },
    read(event, type) {
      const definition = types[type]!;
      if (event.source !== source || event.type !== type || event.version !== definition.version) return undefined;
      const parsed = definition.payload.safeParse(event.payload);
      if (!parsed.success)
        throw new UnprocessableEvent(
          `${source} ${type} v${event.version}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
        );
      return parsed.data as z.output<P[typeof type]>;
    },
  };
}

/** Each entity once, in first-seen order. */
export function uniqueEntities(entities: readonly EntityRef[]): EntityRef[] {
  const seen = new Set<string>();
  return entities.filter(({ type, id }) => {
    const key = `${type}\u0000${id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Schemas for the fields events share. */
export const eventFields = {
  id: () => z.uuid(),
  /** A calendar day, YYYY-MM-DD. */
  day: () => z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /** An amount in the smallest currency unit. */
  money: () => z.number().int(),
};
