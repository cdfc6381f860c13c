// The named policies attendance's schema.graphql declares with @policy (checked by the subgraph kit).
import type { Policies } from "@pooya/subgraph-kit";
import { isUuid } from "@pooya/subgraph-kit";
import type { AttendanceContext } from "../context.ts";

export const policies: Policies<AttendanceContext> = {
  /** Course.attendanceRate: the course's teacher (as attendance's copy of the catalogue says) or STAFF. */
  teacher_of_course_or_staff: async (viewer, course: { id: string }, _args: unknown, { loaders }) =>
    viewer.role === "STAFF" ||
    !isUuid(course.id) || // no such course: its rate is null, as it always was
    (viewer.role === "TEACHER" && (await loaders.course.load(course.id))?.teacherId === viewer.userId),
  /** User.attendance: a student sees only their own; teachers (their courses only) and STAFF anyone's. */
  self_or_teacher_or_staff: (viewer, user: { id: string }) => viewer.role !== "STUDENT" || viewer.userId === user.id,
};
