// The entities a request changed, for the answer that tells caches at once (the subgraph kit
// adds them to a GraphQL response as `extensions.invalidation`): the kit runs each request in a
// collection, and the outbox notes there the entities of the events it committed.
import { AsyncLocalStorage } from "node:async_hooks";
import type { EntityRef, NewEvent } from "./envelope.ts";

const collections = new AsyncLocalStorage<Map<string, EntityRef>>();

/** Runs `work` in a fresh collection: what the outbox commits during it is noted there (read it with writtenEntities). */
export function collectWrittenEntities<T>(work: () => T): T {
  return collections.run(new Map(), work);
}

/** The entities of the events committed so far in the current collection, each once; undefined outside one. */
export function writtenEntities(): EntityRef[] | undefined {
  const collection = collections.getStore();
  return collection && [...collection.values()];
}

/** Notes the entities of committed events in the current collection (none outside one). */
export function noteWrittenEntities(events: readonly NewEvent[]): void {
  const collection = collections.getStore();
  if (!collection) return;
  for (const event of events)
    for (const { type, id } of event.entities ?? []) collection.set(`${type}\u0000${id}`, { type, id });
}
