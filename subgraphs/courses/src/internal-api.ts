// The internal endpoints courses offers other services (a service token from a caller declared in
// internal-routes.ts): what their callers code against. Its events (and their feed, GET
// /internal/events) are in events.ts.

/** POST /internal/enrollments/check: the current truth about one course and some students, for a
 * replica that is behind ({ courseId, studentIds } → EnrollmentCheck). */
export const ENROLLMENT_CHECK_PATH = "/internal/enrollments/check";
export const MAX_CHECKED_STUDENTS = 500;

export interface EnrollmentCheck {
  course: { courseId: string; teacherId: string; code: string } | null;
  enrolledStudentIds: string[];
}
