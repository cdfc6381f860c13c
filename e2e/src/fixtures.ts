// Operations and small helpers the end-to-end tests share.
import { randomBytes } from "node:crypto";
import type { Federation } from "./harness.ts";

export const OPS = {
  createCourse: `mutation($i: CreateCourseInput!) { createCourse(input: $i) { id code title capacity enrollmentCount seatsLeft teacher { id name } } }`,
  enroll: `mutation($c: ID!, $s: ID) { enroll(courseId: $c, studentId: $s) { id enrollmentCount } }`,
  drop: `mutation($c: ID!, $s: ID!) { dropEnrollment(courseId: $c, studentId: $s) { id enrollmentCount } }`,
  mark: `mutation($i: MarkAttendanceInput!) { markAttendance(input: $i) { id date status student { id } markedBy { id } course { id code } } }`,
  addMeal: `mutation($i: AddMealInput!) { addMeal(input: $i) { id name stock price servingDate mealType } }`,
  topUp: `mutation($u: ID!, $a: Int!) { topUpWallet(userId: $u, amount: $a) { balance } }`,
  buy: `mutation($i: BuyMealInput!) { buyMeal(input: $i) { id quantity totalPrice status meal { id stock } } }`,
  cancel: `mutation($o: ID!) { cancelOrder(orderId: $o) { id status } }`,
} as const;

export const uniqueCode = (prefix = "C") => `${prefix}${randomBytes(3).toString("hex").toUpperCase()}`;

export function day(offsetDays = 0): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

export async function createCourse(
  fed: Federation,
  teacher: { token: string },
  input: { capacity?: number; code?: string; title?: string } = {},
) {
  const r = await fed.execute({
    query: OPS.createCourse,
    variables: {
      i: { code: input.code ?? uniqueCode(), title: input.title ?? "A course", capacity: input.capacity ?? 30 },
    },
    token: teacher.token,
  });
  if (!r.data?.createCourse) throw new Error(`createCourse failed: ${JSON.stringify(r.errors)}`);
  return r.data.createCourse as { id: string; code: string; capacity: number };
}

export async function enroll(fed: Federation, token: string, courseId: string, studentId?: string) {
  const r = await fed.execute({ query: OPS.enroll, variables: { c: courseId, s: studentId }, token });
  if (!r.data?.enroll) throw new Error(`enroll failed: ${JSON.stringify(r.errors)}`);
  return r.data.enroll;
}

export async function addMeal(
  fed: Federation,
  input: { stock?: number; price?: number; servingDate?: string; name?: string } = {},
) {
  const r = await fed.execute({
    query: OPS.addMeal,
    variables: {
      i: {
        name: input.name ?? "Kabab",
        mealType: "LUNCH",
        servingDate: input.servingDate ?? day(2),
        price: input.price ?? 500,
        stock: input.stock ?? 100,
      },
    },
    token: fed.admin.token,
  });
  if (!r.data?.addMeal) throw new Error(`addMeal failed: ${JSON.stringify(r.errors)}`);
  return r.data.addMeal as { id: string; stock: number; price: number };
}

export async function topUp(fed: Federation, userId: string, amount: number) {
  const r = await fed.execute({ query: OPS.topUp, variables: { u: userId, a: amount }, token: fed.admin.token });
  if (!r.data?.topUpWallet) throw new Error(`topUp failed: ${JSON.stringify(r.errors)}`);
  return r.data.topUpWallet.balance as number;
}

/** Bulk students straight into the users database (argon2 at 50 ms each is the slow part of the API path). */
export async function insertStudents(fed: { db: Pick<Federation["db"], "users"> }, count: number): Promise<string[]> {
  const { rows } = await fed.db.users.query(
    `INSERT INTO users (id, email, name, role, password_hash)
     SELECT gen_random_uuid(), 'bulk-' || $2 || '-' || i || '@uni.example', 'Student ' || i, 'STUDENT', 'no-login' FROM generate_series(1, $1::int) i
     RETURNING id`,
    [count, randomBytes(3).toString("hex")],
  );
  return rows.map((r) => r.id as string);
}
