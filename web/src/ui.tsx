// Small building blocks: labelled fields with their error, alerts, money and dates.
import { useId, type ReactNode } from "react";
import { problemsOf, type Problem } from "./errors";

export function Field({
  label,
  error,
  children,
}: {
  label: string;
  error?: string | undefined;
  children: (props: { id: string; "aria-invalid": boolean; "aria-describedby"?: string }) => ReactNode;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": Boolean(error), ...(error ? { "aria-describedby": errorId } : {}) })}
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

export function Problems({ problems }: { problems: Problem[] }) {
  if (!problems.length) return null;
  return (
    <div role="alert" className="alert">
      {problems.map((p, i) => (
        <p key={i}>{p.message}</p>
      ))}
    </div>
  );
}

export function ErrorAlert({ error }: { error: unknown }) {
  return <Problems problems={problemsOf(error)} />;
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="notice">
      {children}
    </p>
  );
}

export const money = (amount: number) => amount.toLocaleString("en-US");

export function isoDate(date = new Date()) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 10);
}

/** Monday to Sunday of the week `date` falls in. */
export function weekOf(date = new Date()) {
  const monday = new Date(date);
  monday.setDate(date.getDate() - ((date.getDay() + 6) % 7));
  const sunday = new Date(monday);
  sunday.setDate(monday.getDate() + 6);
  return { from: isoDate(monday), to: isoDate(sunday) };
}

export function Loading() {
  return (
    <p className="muted" aria-live="polite">
      Loading…
    </p>
  );
}
