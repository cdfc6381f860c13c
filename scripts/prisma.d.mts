import type { SpawnSyncReturns } from "node:child_process";
export const SERVICES: string[];
export function prismaEnv(service: string, extra?: Record<string, string>): NodeJS.ProcessEnv;
export function runPrisma(service: string, args: string[], extraEnv?: Record<string, string>, options?: { capture?: boolean }): SpawnSyncReturns<string>;
