// The signed-in session: tokens and who they belong to, kept in localStorage so that a reload
// keeps the user signed in, and shared between tabs (a tab that rotates the refresh token tells
// the others through the storage event, so none of them uses a spent one).
export type Role = "STUDENT" | "TEACHER" | "STAFF";

export interface SessionUser {
  id: string;
  name: string;
  email: string;
  role: Role;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
  user: SessionUser;
}

const KEY = "pooya.session";
type Listener = (session: Session | null, reason?: string) => void;
const listeners = new Set<Listener>();
let current: Session | null = read();

function read(): Session | null {
  try {
    const parsed = JSON.parse(localStorage.getItem(KEY) ?? "null") as Session | null;
    return parsed && typeof parsed.accessToken === "string" && typeof parsed.refreshToken === "string" ? parsed : null;
  } catch {
    return null;
  }
}

export const getSession = () => current;

export function setSession(session: Session | null, reason?: string) {
  current = session;
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
  for (const listener of listeners) listener(session, reason);
}

export function onSessionChange(listener: Listener) {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

window.addEventListener("storage", (event) => {
  if (event.key !== KEY) return;
  current = read();
  for (const listener of listeners) listener(current, current ? undefined : "signed out in another tab");
});

export function sessionFrom(payload: {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: SessionUser;
}): Session {
  return {
    accessToken: payload.accessToken,
    refreshToken: payload.refreshToken,
    expiresAt: Date.now() + payload.expiresIn * 1000,
    user: payload.user,
  };
}
