// Everyone's own account: change the name, change the password (which signs out every other
// session; this one carries on with the new tokens the answer brings).
import { useState } from "react";
import { useMutation } from "@apollo/client/react";
import { ChangeMyPasswordDocument, UpdateMyProfileDocument } from "../gql/graphql";
import { sessionFrom, setSession, type Session } from "../session";
import { Field } from "../ui";
import { ApiForm } from "./Staff";

export function Profile({ session }: { session: Session }) {
  return (
    <section aria-label="My profile" className="columns">
      <NameForm session={session} />
      <PasswordForm />
    </section>
  );
}

function NameForm({ session }: { session: Session }) {
  const [name, setName] = useState(session.user.name);
  const [update, updating] = useMutation(UpdateMyProfileDocument);
  const [done, setDone] = useState<string>();
  return (
    <ApiForm
      label="Your name"
      fields={["name"]}
      error={updating.error}
      busy={updating.loading}
      done={done}
      submitLabel="Save name"
      onSubmit={async () => {
        setDone(undefined);
        const { data } = await update({ variables: { input: { name } } });
        if (data) {
          const saved = data.updateMyProfile.name;
          setName(saved);
          // The header (and a reload) show the new name at once.
          setSession({ ...session, user: { ...session.user, name: saved } });
          setDone(`Your name is now ${saved}.`);
        }
      }}
    >
      {(errors) => (
        <Field label="Name" error={errors.name}>
          {(p) => <input {...p} required autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
      )}
    </ApiForm>
  );
}

function PasswordForm() {
  const empty = { currentPassword: "", newPassword: "", repeated: "" };
  const [form, setForm] = useState(empty);
  const [mismatch, setMismatch] = useState(false);
  const [change, changing] = useMutation(ChangeMyPasswordDocument);
  const [done, setDone] = useState<string>();
  return (
    <ApiForm
      label="Change your password"
      fields={["currentPassword", "newPassword"]}
      error={changing.error}
      busy={changing.loading}
      done={done}
      submitLabel="Change password"
      onSubmit={async () => {
        setDone(undefined);
        if (form.newPassword !== form.repeated) {
          setMismatch(true);
          return;
        }
        setMismatch(false);
        const { currentPassword, newPassword } = form;
        const { data } = await change({ variables: { currentPassword, newPassword } });
        if (data) {
          setSession(sessionFrom(data.changeMyPassword));
          setForm(empty);
          setDone("Your password is changed. Every other device you were signed in on is now signed out.");
        }
      }}
    >
      {(errors) => (
        <>
          <Field label="Current password" error={errors.currentPassword}>
            {(p) => (
              <input
                {...p}
                type="password"
                autoComplete="current-password"
                required
                value={form.currentPassword}
                onChange={(e) => setForm({ ...form, currentPassword: e.target.value })}
              />
            )}
          </Field>
          <Field label="New password" error={errors.newPassword}>
            {(p) => (
              <input
                {...p}
                type="password"
                autoComplete="new-password"
                required
                value={form.newPassword}
                onChange={(e) => setForm({ ...form, newPassword: e.target.value })}
              />
            )}
          </Field>
          <Field label="New password again" error={mismatch ? "The two new passwords differ." : undefined}>
            {(p) => (
              <input
                {...p}
                type="password"
                autoComplete="new-password"
                required
                value={form.repeated}
                onChange={(e) => setForm({ ...form, repeated: e.target.value })}
              />
            )}
          </Field>
        </>
      )}
    </ApiForm>
  );
}
