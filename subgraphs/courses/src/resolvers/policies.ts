// The named policies courses' schema.graphql declares with @policy (checked by the subgraph kit).
import type { Policies } from "@pooya/subgraph-kit";
import type { CoursesContext } from "../context.ts";

export const policies: Policies<CoursesContext> = {
  /** Course.students: the course's teacher or STAFF. */
  teacher_of_course_or_staff: (viewer, course: { teacherId: string }) =>
    viewer.role === "STAFF" || viewer.userId === course.teacherId,
  /** User.enrolledCourses: a student sees only their own; teachers (their courses only) and STAFF anyone's. */
  self_or_teacher_or_staff: (viewer, user: { id: string }) => viewer.role !== "STUDENT" || viewer.userId === user.id,
};
