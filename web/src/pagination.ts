// Connections (`first`/`after` pages) as one list: the cache joins the pages (relayStylePagination
// in apollo.ts) and a page that needs every item asks for the next one until there is none.
import { useEffect, useRef } from "react";

export interface PageInfo {
  hasNextPage: boolean;
  endCursor?: string | null;
}

/** Loads the pages after the first, one after another, while the connection says there are more. */
export function useRemainingPages(
  pageInfo: PageInfo | undefined,
  fetchMore: (options: { variables: { after: string } }) => Promise<unknown>,
): boolean {
  const cursor = pageInfo?.hasNextPage ? pageInfo.endCursor : undefined;
  const asked = useRef<string>(undefined);
  useEffect(() => {
    if (!cursor || asked.current === cursor) return;
    asked.current = cursor;
    void fetchMore({ variables: { after: cursor } }).catch(() => undefined); // the query's error shows it
  }, [cursor, fetchMore]);
  return !!cursor;
}
