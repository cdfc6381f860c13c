// The events courses publishes (docs/events.md is generated from this catalogue).
import { defineEvents, eventFields } from "@pooya/platform";
import { z } from "zod";

const enrollment = z.object({
  courseId: eventFields.id(),
  studentId: eventFields.id(),
  code: z.string().optional().describe("The course's code (absent in events written before 2026-11-28)"),
  title: z.string().optional().describe("The course's title (absent in events written before 2026-11-28)"),
});

export const courseEvents = defineEvents("courses", {
  CourseCreated: {
    version: 1,
    description: "A course was added to the catalogue.",
    payload: z.object({
      courseId: eventFields.id(),
      teacherId: eventFields.id(),
      code: z.string(),
      title: z.string().optional().describe("Absent in events written before 2026-11-28"),
      capacity: z.number().int().optional().describe("Absent in events written before 2026-11-28"),
    }),
  },
  StudentEnrolled: {
    version: 1,
    description: "A student took a seat in a course (enrolled themself, or by the teacher or staff).",
    payload: enrollment,
  },
  EnrollmentDropped: {
    version: 1,
    description: "A student's enrollment ended (by the student, the teacher or staff); the seat is free again.",
    payload: enrollment,
  },
});
