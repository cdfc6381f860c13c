// A course of many students with their attendance and some orders, written straight into the
// services' databases (the API path would take minutes for 1 000 students): for the demand-control
// and pagination tests.
import { randomUUID } from "node:crypto";
import type { Federation } from "../src/harness.ts";
import { addMeal, createCourse, insertStudents, topUp } from "../src/fixtures.ts";

export interface LargeCourse {
  teacher: Awaited<ReturnType<Federation["createUser"]>>;
  course: { id: string; code: string };
  /** The students in enrollment order. */
  students: string[];
  /** Attendance records per student (one per day, the days before today). */
  days: number;
}

/**
 * `size` students enrolled in a new course, ten at a time at the same instant (so that the order
 * has ties the student id breaks), each with `days` attendance records; the first `withOrders`
 * students have a wallet and three orders.
 */
export async function largeCourse(
  fed: Federation,
  options: { size: number; days: number; withOrders?: number },
): Promise<LargeCourse> {
  const teacher = await fed.createUser("TEACHER");
  const course = await createCourse(fed, teacher, { capacity: Math.max(options.size, 1) });
  const ids = await insertStudents(fed, options.size);
  await fed.db.courses.query(
    `INSERT INTO enrollments (course_id, student_id, enrolled_at)
     SELECT $1::uuid, s, now() - make_interval(secs => ($3::int - i::int) / 10) FROM unnest($2::uuid[]) WITH ORDINALITY AS t(s, i)`,
    [course.id, ids, options.size],
  );
  await fed.db.courses.query("UPDATE courses SET enrollment_count = $2 WHERE id = $1", [course.id, options.size]);
  const { rows } = await fed.db.courses.query(
    "SELECT student_id::text AS id FROM enrollments WHERE course_id = $1 ORDER BY enrolled_at, student_id",
    [course.id],
  );
  await fed.db.attendance.query(
    `INSERT INTO attendance_records (id, course_id, student_id, date, status, marked_by_id)
     SELECT gen_random_uuid(), $1::uuid, s, current_date - d, (ARRAY['PRESENT','ABSENT','LATE','EXCUSED'])[1 + d % 4]::"AttendanceStatus", $3::uuid
     FROM unnest($2::uuid[]) s, generate_series(1, $4::int) d`,
    [course.id, ids, teacher.id, options.days],
  );
  const buyers = ids.slice(0, options.withOrders ?? 0);
  if (buyers.length) {
    const meal = await addMeal(fed, { name: `Meal ${course.code}` });
    for (const buyer of buyers) await topUp(fed, buyer, 10_000);
    await fed.db.food.query(
      `INSERT INTO food_orders (id, user_id, meal_id, quantity, total_price, status, idempotency_key)
       SELECT gen_random_uuid(), u, $2::uuid, 1, 500, 'CONFIRMED', $3 || '-' || n FROM unnest($1::uuid[]) u, generate_series(1, 3) n`,
      [buyers, meal.id, randomUUID()],
    );
  }
  await fed.eventsSettled(); // the course's replica in attendance (its teacher) is there
  return { teacher, course, students: rows.map((r) => r.id as string), days: options.days };
}
