// The events courses publishes (docs/events.md is generated from this catalogue).
import { defineEvents, eventFields } from "@pooya/events";
import { z } from "zod";

const enrollment = z.object({
  courseId: eventFields.id().describe("The course"),
  studentId: eventFields.id().describe("The student (a User id)"),
  code: z.string().optional().describe("The course's code (absent in events written before it was added)"),
  title: z.string().optional().describe("The course's title (absent in events written before it was added)"),
});

export const courseEvents = defineEvents("courses", {
  CourseCreated: {
    version: 1,
    description: "A course was added to the catalogue.",
    payload: z.object({
      courseId: eventFields.id().describe("The new course"),
      teacherId: eventFields.id().describe("Who teaches it (a User id); CourseUpdated says when it changes"),
      code: z.string().describe("Its catalogue code, upper-case, unique"),
      title: z.string().optional().describe("Absent in events written before it was added"),
      capacity: z.number().int().optional().describe("Absent in events written before it was added"),
    }),
    // The teacher's teachingCourses gains it.
    entities: (e) => [
      { type: "Course", id: e.courseId },
      { type: "User", id: e.teacherId },
    ],
  },
  StudentEnrolled: {
    version: 1,
    description: "A student took a seat in a course (enrolled themself, or by the teacher or staff).",
    payload: enrollment,
    // The course's students, enrollmentCount and seatsLeft; the student's enrolledCourses.
    entities: (e) => [
      { type: "Course", id: e.courseId },
      { type: "User", id: e.studentId },
    ],
  },
  EnrollmentDropped: {
    version: 1,
    description: "A student's enrollment ended (by the student, the teacher or staff); the seat is free again.",
    payload: enrollment,
    entities: (e) => [
      { type: "Course", id: e.courseId },
      { type: "User", id: e.studentId },
    ],
  },
  CourseUpdated: {
    version: 1,
    description:
      "A course was edited (updateCourse: its teacher or staff): the course as it now is; previousTeacherId when staff gave it another teacher.",
    payload: z.object({
      courseId: eventFields.id().describe("The course"),
      code: z.string().describe("Its catalogue code (it never changes)"),
      title: z.string().describe("Its title now"),
      description: z.string().optional().describe("Its description now (absent: it has none)"),
      capacity: z.number().int().describe("Its number of seats now (never below its enrollments)"),
      teacherId: eventFields.id().describe("Who teaches it now (a User id)"),
      previousTeacherId: eventFields
        .id()
        .optional()
        .describe("Who taught it before, when this edit changed the teacher (absent otherwise)"),
    }),
    // The course, and its teachers' teachingCourses when it changed hands.
    entities: (e) => [
      { type: "Course", id: e.courseId },
      ...(e.previousTeacherId
        ? [
            { type: "User", id: e.teacherId },
            { type: "User", id: e.previousTeacherId },
          ]
        : []),
    ],
  },
  CourseClosed: {
    version: 1,
    description: "Staff closed a course: it takes no new enrollments; its enrollments stay and it can still be read.",
    payload: z.object({
      courseId: eventFields.id().describe("The course"),
      code: z.string().describe("Its catalogue code"),
    }),
    entities: (e) => [{ type: "Course", id: e.courseId }],
  },
});
