// Editing a course where it is shown: its teacher changes the title, description and capacity;
// staff those, its teacher, and close it. The answers update the cached course, so every list
// showing it changes at once; the API's refusals appear next to their field or above the buttons.
import { useState } from "react";
import { useMutation } from "@apollo/client/react";
import { CloseCourseDocument, UpdateCourseDocument, type CourseStatus, type UpdateCourseInput } from "./gql/graphql";
import { splitProblems } from "./errors";
import { Field, Notice, Problems } from "./ui";

export interface EditableCourse {
  id: string;
  code: string;
  title: string;
  description?: string | null | undefined;
  capacity: number;
  status: CourseStatus;
  teacher?: { id: string } | undefined;
}

const FIELDS = ["title", "description", "capacity", "teacherId"];

export function CourseEditor({
  course,
  teachers,
  onDone,
}: {
  course: EditableCourse;
  /** Given to staff: who may teach it (a choice of teacher, and closing the course, appear). */
  teachers?: { id: string; name: string; email: string }[] | undefined;
  onDone: () => void;
}) {
  const [form, setForm] = useState({
    title: course.title,
    description: course.description ?? "",
    capacity: course.capacity,
    teacherId: course.teacher?.id ?? "",
  });
  const [update, updating] = useMutation(UpdateCourseDocument);
  const [close, closing] = useMutation(CloseCourseDocument);
  const [done, setDone] = useState<string>();
  const { byField, general } = splitProblems(updating.error ?? closing.error, FIELDS);
  const closed = course.status === "CLOSED";
  return (
    <form
      aria-label={`Edit ${course.code}`}
      className="panel"
      onSubmit={async (event) => {
        event.preventDefault();
        setDone(undefined);
        closing.reset();
        // Only what changed is sent: the API keeps the rest as it is.
        const input: UpdateCourseInput = {};
        if (form.title.trim() !== course.title) input.title = form.title.trim();
        if (form.description.trim() !== (course.description ?? "")) input.description = form.description.trim();
        if (form.capacity !== course.capacity) input.capacity = form.capacity;
        if (teachers && form.teacherId && form.teacherId !== course.teacher?.id) input.teacherId = form.teacherId;
        if (Object.keys(input).length === 0) {
          setDone("Nothing to change.");
          return;
        }
        const result = await update({ variables: { id: course.id, input } }).catch(() => undefined);
        if (result?.data) setDone(`${course.code} is saved.`);
      }}
    >
      <h2>Edit {course.code}</h2>
      {closed && <Notice>{course.code} is closed: it takes no new enrollments and can no longer be edited.</Notice>}
      <Field label="Title" error={byField.title}>
        {(p) => (
          <input {...p} required value={form.title} onChange={(e) => setForm({ ...form, title: e.target.value })} />
        )}
      </Field>
      <Field label="Description" error={byField.description}>
        {(p) => (
          <textarea
            {...p}
            value={form.description}
            onChange={(e) => setForm({ ...form, description: e.target.value })}
          />
        )}
      </Field>
      <Field label="Capacity" error={byField.capacity}>
        {(p) => (
          <input
            {...p}
            type="number"
            min={1}
            required
            value={form.capacity}
            onChange={(e) => setForm({ ...form, capacity: Number(e.target.value) })}
          />
        )}
      </Field>
      {teachers && (
        <Field label="Teacher" error={byField.teacherId}>
          {(p) => (
            <select {...p} value={form.teacherId} onChange={(e) => setForm({ ...form, teacherId: e.target.value })}>
              {teachers.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name} ({t.email})
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      <Problems problems={general} />
      {done && <Notice>{done}</Notice>}
      <div className="inline">
        <button type="submit" disabled={closed || updating.loading}>
          Save changes
        </button>
        {teachers && (
          <button
            type="button"
            className="secondary"
            disabled={closed || closing.loading}
            onClick={async () => {
              setDone(undefined);
              updating.reset();
              const result = await close({ variables: { id: course.id } }).catch(() => undefined);
              if (result?.data) setDone(`${course.code} is closed to new enrollments.`);
            }}
          >
            Close course
          </button>
        )}
        <button type="button" className="secondary" onClick={onDone}>
          Done
        </button>
      </div>
    </form>
  );
}
