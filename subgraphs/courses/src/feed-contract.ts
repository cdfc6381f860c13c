// The enrollment event feed courses publishes at GET /internal/events?after=<sequence>&limit=<n>
// (service token required): what its readers code against.
export const EVENT_FEED_PATH = "/internal/events";
export const MAX_FEED_PAGE = 500;

export type CourseEvent =
  | { type: "CourseCreated"; payload: { courseId: string; teacherId: string; code: string } }
  | { type: "StudentEnrolled"; payload: { courseId: string; studentId: string } }
  | { type: "EnrollmentDropped"; payload: { courseId: string; studentId: string } };

/** One event as the feed returns it; `type` may be one a reader does not know yet. */
export interface FeedEvent {
  id: string;
  sequence: string;
  type: CourseEvent["type"] | (string & {});
  payload: Record<string, string>;
  occurredAt: string;
}
