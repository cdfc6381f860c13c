// The events attendance publishes (docs/events.md is generated from this catalogue).
import { defineEvents, eventFields } from "@pooya/events";
import { z } from "zod";

const status = z.enum(["PRESENT", "ABSENT", "LATE", "EXCUSED"]);

export const attendanceEvents = defineEvents("attendance", {
  AttendanceMarked: {
    version: 1,
    description:
      "A teacher or staff marked a student's attendance for a course on a day (markAttendance, or one per student of markCourseAttendance); marking again writes another.",
    payload: z.object({
      recordId: eventFields.id().describe("The attendance record (one per course, student and day)"),
      courseId: eventFields.id().describe("The course"),
      courseCode: z.string().describe("The course's code, as attendance knows it"),
      studentId: eventFields.id().describe("The student marked"),
      date: eventFields.day().describe("The day of the mark"),
      status: status.describe("The mark now"),
      previousStatus: status.nullable().describe("The mark it replaced; null for the first mark of that day"),
      markedBy: eventFields.id().describe("The teacher or staff member who marked (a User id)"),
    }),
    // The student's attendance; the course's attendanceRate.
    entities: (e) => [
      { type: "User", id: e.studentId },
      { type: "Course", id: e.courseId },
    ],
  },
});
