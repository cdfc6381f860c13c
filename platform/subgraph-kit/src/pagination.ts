// Relay cursor connections: `first` defaults to 20 and is capped at 100; cursors are opaque.
import { badUserInput } from "@pooya/runtime";
import { parseInstant } from "./scalars.ts";
import { isUuid } from "./validation.ts";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "@pooya/runtime";
import type DataLoader from "dataloader";
import { groupLoader, loaderPerKey } from "./loaders.ts";

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw badUserInput(`first must be between 0 and ${MAX_PAGE_SIZE}.`, "first");
  }
  return first;
}

/** Keyset cursor over (createdAt, id): stable under inserts, no OFFSET scans. */
export interface KeysetPosition {
  createdAt: Date;
  id: string;
}

export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString("base64url");
}

/** A cursor is checked as fully as it is built: [ISO instant in range, UUID], nothing else. */
export function decodeCursor(cursor: string | null | undefined): KeysetPosition | null {
  if (cursor === null || cursor === undefined) return null;
  try {
    if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error("not base64url");
    const decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (!Array.isArray(decoded) || decoded.length !== 2) throw new Error("not a pair");
    const [createdAt, id] = decoded as unknown[];
    if (!isUuid(id)) throw new Error("not an id");
    return { createdAt: parseInstant(createdAt), id };
  } catch {
    throw badUserInput("after is not a cursor this API returned.", "after");
  }
}

/** Prisma `where` fragment for rows after the cursor in (createdAt, id) order. */
export function afterPosition(position: KeysetPosition | null) {
  if (!position) return {};
  return {
    OR: [{ createdAt: { gt: position.createdAt } }, { createdAt: position.createdAt, id: { gt: position.id } }],
  };
}

/** Builds a connection from `size + 1` fetched rows (the extra row only signals a next page). */
export function toConnection<T extends KeysetPosition>(rows: T[], size: number, totalCount: () => Promise<number>) {
  const page = rows.slice(0, size);
  const edges = page.map((node) => ({ cursor: encodeCursor(node), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount,
  };
}

/** What a connection resolver returns; totalCount is counted only when asked for. */
export type Connection<T extends KeysetPosition> = ReturnType<typeof toConnection<T>>;

/** A row of a page fetched for many owners at once, with the owner it belongs to. */
export type OwnedRow<T extends KeysetPosition> = T & { owner: string };

/**
 * One page per owner (a course's students, a user's orders) for a whole entity batch: one query
 * per batch and page request (`first`, `after`), which fetches `take` rows (`first + 1`) of each
 * owner after the position. Made per request: `first` and `after` are checked before any query.
 */
export function ownedPages<T extends KeysetPosition>(
  fetch: (owners: readonly string[], take: number, after: KeysetPosition | null) => Promise<OwnedRow<T>[]>,
) {
  const loaders = loaderPerKey<DataLoader<string, OwnedRow<T>[], unknown>>();
  return async (owner: string, args: { first?: number | null; after?: string | null }) => {
    const size = pageSize(args.first);
    const after = decodeCursor(args.after);
    const loader = loaders(`${size}\u0000${args.after ?? ""}`, () =>
      groupLoader<string, OwnedRow<T>>(
        (owners) => fetch(owners, size + 1, after),
        (row) => row.owner,
      ),
    );
    return { rows: await loader.load(owner), size };
  };
}
