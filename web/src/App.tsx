// The panel: sign in, then the pages of the user's role, one at a time (the address's #fragment
// names the page, so the back button and bookmarks work).
import { useEffect, useState, useSyncExternalStore, type ReactNode } from "react";
import { useMutation } from "@apollo/client/react";
import { SignInDocument, SignOutDocument } from "./gql/graphql";
import { signOutLocally } from "./apollo";
import { getSession, onSessionChange, sessionFrom, setSession, type Role, type Session } from "./session";
import { splitProblems } from "./errors";
import { Field, Problems, Notice } from "./ui";
import { Catalogue, MyCourses, MyFood, Meals } from "./pages/Student";
import { RollCall, CourseReport, TeachingCourses } from "./pages/Teacher";
import { People, StaffCourses, StaffMeals, Wallets } from "./pages/Staff";
import { Profile } from "./pages/Profile";

export interface Page {
  path: string;
  title: string;
  render: (session: Session) => ReactNode;
}

/** Every role's own account: name and password. */
const PROFILE: Page = { path: "profile", title: "My profile", render: (s) => <Profile session={s} /> };

const PAGES: Record<Role, Page[]> = {
  STUDENT: [
    { path: "courses", title: "My courses", render: (s) => <MyCourses session={s} /> },
    { path: "catalogue", title: "Course catalogue", render: () => <Catalogue /> },
    { path: "meals", title: "Meals this week", render: () => <Meals /> },
    { path: "orders", title: "Orders and wallet", render: () => <MyFood /> },
    PROFILE,
  ],
  TEACHER: [
    { path: "courses", title: "My courses", render: () => <TeachingCourses /> },
    { path: "roll-call", title: "Roll call", render: () => <RollCall /> },
    { path: "report", title: "Course report", render: () => <CourseReport /> },
    PROFILE,
  ],
  STAFF: [
    { path: "people", title: "People", render: () => <People /> },
    { path: "courses", title: "Courses", render: () => <StaffCourses /> },
    { path: "meals", title: "Meals", render: () => <StaffMeals /> },
    { path: "wallets", title: "Wallets", render: () => <Wallets /> },
    PROFILE,
  ],
};

function useSession() {
  return useSyncExternalStore((changed) => onSessionChange(() => changed()), getSession);
}

function useHashPath() {
  const read = () => window.location.hash.replace(/^#\/?/, "").split("?")[0] ?? "";
  const [path, setPath] = useState(read);
  useEffect(() => {
    const changed = () => setPath(read());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return path;
}

export function App() {
  const session = useSession();
  const [farewell, setFarewell] = useState<string>();
  useEffect(() => onSessionChange((next, reason) => setFarewell(next ? undefined : reason)), []);
  return session ? <Panel session={session} /> : <SignIn farewell={farewell} />;
}

function SignIn({ farewell }: { farewell?: string | undefined }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [signIn, { loading, error }] = useMutation(SignInDocument);
  const { byField, general } = splitProblems(error, ["email", "password"]);
  return (
    <main className="sign-in">
      <h1>Pooya</h1>
      <p className="muted">Courses, attendance and meals for students, teachers and staff.</p>
      {farewell && <Notice>{farewell}</Notice>}
      <form
        aria-label="Sign in"
        onSubmit={async (event) => {
          event.preventDefault();
          const { data } = await signIn({ variables: { email: email.trim(), password } }).catch(() => ({
            data: undefined,
          }));
          if (data) setSession(sessionFrom(data.login));
        }}
      >
        <Field label="Email" error={byField.email}>
          {(props) => (
            <input
              {...props}
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label="Password" error={byField.password}>
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <Problems problems={general} />
        <button type="submit" disabled={loading}>
          {loading ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p className="muted small">
        Developers: the API is at <code>/graphql</code>; an explorer is at <a href="/graphiql">/graphiql</a> where
        enabled.
      </p>
    </main>
  );
}

function Panel({ session }: { session: Session }) {
  const pages = PAGES[session.user.role] ?? [];
  const path = useHashPath();
  const page = pages.find((p) => p.path === path) ?? pages[0]!;
  const [signOut] = useMutation(SignOutDocument);
  useEffect(() => {
    document.title = `${page.title} · Pooya`;
  }, [page.title]);
  return (
    <>
      <header className="top">
        <span className="brand">Pooya</span>
        <nav aria-label="Pages">
          <ul>
            {pages.map((p) => (
              <li key={p.path}>
                <a href={`#/${p.path}`} aria-current={p === page ? "page" : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span data-testid="user-name">{session.user.name}</span>
          <span className="muted small"> ({session.user.role.toLowerCase()})</span>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              // The session ends on the server too; the page signs out whatever the answer.
              void signOut({ variables: { refreshToken: session.refreshToken } }).catch(() => undefined);
              signOutLocally("You have signed out.");
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main>
        <h1>{page.title}</h1>
        {page.render(session)}
      </main>
    </>
  );
}
