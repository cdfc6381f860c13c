// The attendance service's own variables (the kit adds the common ones, COURSES_URL and the events').
import { env } from "@pooya/runtime";

export const attendanceEnv = {
  ENROLLMENT_CATCH_UP_DEADLINE_MS: env.integer({ min: 50, max: 60_000 }).default(1_500)
    .describe("how long a mark about something the replica does not hold yet (a new course or enrollment) waits in all for it to catch up; then courses is asked directly if it answers, else the mark is SERVICE_UNAVAILABLE (retryable)"),
};
