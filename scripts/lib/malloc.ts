// glibc malloc settings for the all-in-one process of `npm start` (see scripts/start.ts): two
// arenas, and every block of 128 KiB or more mapped on its own, so that freeing it returns it.
// glibc's own variables for its malloc tunables (read once, when a process starts).
export const MALLOC_SETTINGS = { MALLOC_ARENA_MAX: "2", MALLOC_MMAP_THRESHOLD_: "131072" };

/** Whoever starts the process already chose (these, or GLIBC_TUNABLES): theirs stands. */
export const mallocChosen = (env: NodeJS.ProcessEnv) =>
  [...Object.keys(MALLOC_SETTINGS), "GLIBC_TUNABLES"].some((name) => env[name] !== undefined);
