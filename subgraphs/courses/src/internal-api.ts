// The internal endpoints courses offers other services (service token required): what their
// callers code against.

/** GET /internal/events?after=<sequence>&limit=<n>: the enrollment events after a sequence, in order. */
export const EVENT_FEED_PATH = "/internal/events";
export const MAX_FEED_PAGE = 500;

/** POST /internal/enrollments/check: the current truth about one course and some students, for a
 * replica that is behind ({ courseId, studentIds } → EnrollmentCheck). */
export const ENROLLMENT_CHECK_PATH = "/internal/enrollments/check";
export const MAX_CHECKED_STUDENTS = 500;

export interface EnrollmentCheck {
  course: { courseId: string; teacherId: string; code: string } | null;
  enrolledStudentIds: string[];
}

export type CourseEvent =
  | { type: "CourseCreated"; payload: { courseId: string; teacherId: string; code: string } }
  | { type: "StudentEnrolled"; payload: { courseId: string; studentId: string } }
  | { type: "EnrollmentDropped"; payload: { courseId: string; studentId: string } };

/** What the feed answers: events in sequence order, and the newest sequence in the outbox. */
export interface FeedPage {
  events: FeedEvent[];
  head: string | null;
}

/** One event as the feed returns it; `type` may be one a reader does not know yet. */
export interface FeedEvent {
  id: string;
  sequence: string;
  type: CourseEvent["type"] | (string & {});
  payload: Record<string, string>;
  occurredAt: string;
}
