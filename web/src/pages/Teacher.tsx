// A teacher's pages: their courses (and editing one), a roll call (a whole class marked in one
// submit), a report of every student's marks by date.
import { useEffect, useMemo, useState } from "react";
import { useMutation, useQuery } from "@apollo/client/react";
import {
  CourseReportDocument,
  RollCallDocument,
  SubmitRollCallDocument,
  TeachingCoursesDocument,
  type AttendanceStatus,
} from "../gql/graphql";
import { splitProblems } from "../errors";
import { useRemainingPages } from "../pagination";
import { ErrorAlert, Field, Loading, Notice, Problems, isoDate } from "../ui";
import { CourseEditor } from "../course-editor";

const STATUSES: AttendanceStatus[] = ["PRESENT", "ABSENT", "LATE", "EXCUSED"];
const percent = (rate: number | null | undefined) => (rate == null ? "no marks yet" : `${Math.round(rate * 100)}%`);

/** The course chosen in the address (#/roll-call?course=…), else the first one. */
function useCourseChoice() {
  const read = () => new URLSearchParams(window.location.hash.split("?")[1] ?? "").get("course") ?? "";
  const [course, setCourse] = useState(read);
  const choose = (id: string) => {
    const [path] = window.location.hash.split("?");
    history.replaceState(null, "", `${path}?course=${encodeURIComponent(id)}`);
    setCourse(id);
  };
  return [course, choose] as const;
}

function CoursePicker({ value, onChange }: { value: string; onChange: (id: string) => void }) {
  const { data, error } = useQuery(TeachingCoursesDocument);
  const courses = data?.me?.teachingCourses ?? [];
  const firstId = courses[0]?.id;
  useEffect(() => {
    if (!value && firstId) onChange(firstId);
  }, [value, firstId, onChange]);
  return (
    <>
      <ErrorAlert error={error} />
      <Field label="Course">
        {(props) => (
          <select {...props} value={value} onChange={(e) => onChange(e.target.value)}>
            {courses.map((c) => (
              <option key={c.id} value={c.id}>
                {c.code} · {c.title}
              </option>
            ))}
          </select>
        )}
      </Field>
    </>
  );
}

export function TeachingCourses() {
  const { data, loading, error } = useQuery(TeachingCoursesDocument);
  const [editing, setEditing] = useState<string>();
  if (loading && !data) return <Loading />;
  const courses = data?.me?.teachingCourses ?? [];
  const edited = courses.find((c) => c.id === editing);
  return (
    <section aria-label="My courses">
      <ErrorAlert error={error} />
      {edited && <CourseEditor key={edited.id} course={edited} onDone={() => setEditing(undefined)} />}
      {courses.length === 0 ? (
        <p>You do not teach any course yet. The staff office creates courses for teachers.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Course</th>
              <th scope="col">Students</th>
              <th scope="col">Attendance rate</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {courses.map((c) => (
              <tr key={c.id}>
                <td>
                  <strong>{c.code}</strong> {c.title}
                  {c.status === "CLOSED" && <span className="muted"> · closed</span>}
                </td>
                <td>
                  {c.enrollmentCount} / {c.capacity}
                </td>
                <td data-testid={`rate-${c.code}`}>{percent(c.attendanceRate)}</td>
                <td className="actions">
                  <a href={`#/roll-call?course=${c.id}`}>Roll call</a> · <a href={`#/report?course=${c.id}`}>Report</a>
                  {c.status === "OPEN" && (
                    <>
                      {" · "}
                      <button
                        type="button"
                        className="secondary"
                        aria-label={`Edit ${c.code}`}
                        onClick={() => setEditing(c.id)}
                      >
                        Edit
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function RollCall() {
  const [courseId, setCourseId] = useCourseChoice();
  const [date, setDate] = useState(isoDate());
  const { data, loading, error, fetchMore } = useQuery(RollCallDocument, {
    variables: { courseId, date },
    skip: !courseId,
  });
  const loadingMore = useRemainingPages(data?.course?.studentsConnection.pageInfo, fetchMore);
  // Changes not yet submitted, for one course and date: choosing another starts afresh.
  const day = `${courseId} ${date}`;
  const [changes, setChanges] = useState<{ day: string; marks: Record<string, AttendanceStatus> }>({ day, marks: {} });
  const marks = changes.day === day ? changes.marks : {};
  const [submit, submitting] = useMutation(SubmitRollCallDocument, {
    refetchQueries: [TeachingCoursesDocument, RollCallDocument],
  });
  const [saved, setSaved] = useState<string>();
  const students = useMemo(() => (data?.course?.studentsConnection.edges ?? []).map((e) => e.node), [data]);
  // Start from what is already marked that day; everyone else is PRESENT until changed.
  const marked = useMemo(
    () => Object.fromEntries((data?.courseAttendance ?? []).map((r) => [r.student.id, r.status])),
    [data],
  );
  const statusOf = (id: string) => marks[id] ?? marked[id] ?? "PRESENT";
  const { byField, general } = splitProblems(submitting.error, ["date"]);
  return (
    <section aria-label="Roll call">
      <div className="inline">
        <CoursePicker value={courseId} onChange={setCourseId} />
        <Field label="Date" error={byField.date}>
          {(props) => <input {...props} type="date" value={date} onChange={(e) => setDate(e.target.value)} />}
        </Field>
      </div>
      <ErrorAlert error={error} />
      {loading && !data ? (
        <Loading />
      ) : students.length === 0 ? (
        <p>No students are enrolled in this course.</p>
      ) : (
        <form
          aria-label="Marks"
          onSubmit={async (event) => {
            event.preventDefault();
            setSaved(undefined);
            const input = { courseId, date, marks: students.map((s) => ({ studentId: s.id, status: statusOf(s.id) })) };
            const result = await submit({ variables: { input } }).catch(() => undefined);
            if (result?.data) setSaved(`Saved ${result.data.markCourseAttendance.length} marks for ${date}.`);
          }}
        >
          <table>
            <thead>
              <tr>
                <th scope="col">Student</th>
                {STATUSES.map((s) => (
                  <th scope="col" key={s}>
                    {s.toLowerCase()}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {students.map((student) => (
                <tr key={student.id}>
                  <th scope="row">{student.name}</th>
                  {STATUSES.map((status) => (
                    <td key={status}>
                      <input
                        type="radio"
                        name={`mark-${student.id}`}
                        aria-label={`${student.name}: ${status.toLowerCase()}`}
                        checked={statusOf(student.id) === status}
                        onChange={() => setChanges({ day, marks: { ...marks, [student.id]: status } })}
                      />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          <Problems problems={general} />
          {saved && <Notice>{saved}</Notice>}
          <button type="submit" disabled={submitting.loading || loadingMore}>
            Submit roll call
          </button>
        </form>
      )}
    </section>
  );
}

const SHORT: Record<AttendanceStatus, string> = { PRESENT: "P", ABSENT: "A", LATE: "L", EXCUSED: "E" };

export function CourseReport() {
  const [courseId, setCourseId] = useCourseChoice();
  const { data, loading, error, fetchMore } = useQuery(CourseReportDocument, {
    variables: { courseId },
    skip: !courseId,
  });
  useRemainingPages(data?.course?.studentsConnection.pageInfo, fetchMore);
  const course = data?.course;
  // Each student with their latest marks in the course (up to 100, newest first).
  const students = useMemo(
    () =>
      (course?.studentsConnection.edges ?? []).map(({ node }) => ({
        ...node,
        attendance: node.attendanceConnection.edges.map((e) => e.node),
      })),
    [course],
  );
  const dates = useMemo(
    () => [...new Set(students.flatMap((s) => s.attendance.map((a) => a.date)))].sort(),
    [students],
  );
  return (
    <section aria-label="Course report">
      <CoursePicker value={courseId} onChange={setCourseId} />
      <ErrorAlert error={error} />
      {loading && !data ? (
        <Loading />
      ) : (
        course && (
          <>
            <p>
              Attendance rate of {course.code}:{" "}
              <strong data-testid="report-rate">{percent(course.attendanceRate)}</strong>
            </p>
            <p className="muted small">P present · L late · A absent · E excused</p>
            <div className="scroll">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Student</th>
                    {dates.map((d) => (
                      <th scope="col" key={d}>
                        {d.slice(5)}
                      </th>
                    ))}
                    <th scope="col">Rate</th>
                  </tr>
                </thead>
                <tbody>
                  {students.map((student) => {
                    const byDate = Object.fromEntries(student.attendance.map((a) => [a.date, a.status]));
                    const attended = student.attendance.filter(
                      (a) => a.status === "PRESENT" || a.status === "LATE",
                    ).length;
                    return (
                      <tr key={student.id}>
                        <th scope="row">{student.name}</th>
                        {dates.map((d) => (
                          <td key={d} title={byDate[d]?.toLowerCase()}>
                            {byDate[d] ? SHORT[byDate[d]] : "·"}
                          </td>
                        ))}
                        <td>
                          {student.attendance.length
                            ? `${Math.round((attended / student.attendance.length) * 100)}%`
                            : "—"}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </>
        )
      )}
    </section>
  );
}
