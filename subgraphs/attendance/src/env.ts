// The attendance service's own variables (the kit adds the common ones, COURSES_URL and the events').
import { env } from "@pooya/runtime";

export const attendanceEnv = {
  ENROLLMENT_CATCH_UP_DEADLINE_MS: env
    .integer({ min: 50, max: 60_000 })
    .default(1_500)
    .describe(
      "how long a mark about something the replica does not hold yet (a new course or enrollment) waits in all for it to catch up; courses is asked directly meanwhile (see ENROLLMENT_DIRECT_CHECK_AFTER_MS); with neither answer, the mark is SERVICE_UNAVAILABLE (retryable)",
    ),
  ENROLLMENT_DIRECT_CHECK_AFTER_MS: env
    .integer({ min: 0, max: 60_000 })
    .default(250)
    .describe(
      "how long such a mark waits for the catch-up before also asking courses directly; the first certain answer decides",
    ),
};
