// A realistic term, created through the public API as its users would: staff create teachers,
// students register and enrol themselves, teachers mark two weeks of attendance, staff add two
// weeks of meals and top up wallets, students buy food. Deterministic (seeded random).
import { join } from "node:path";
import { OPERATIONS_DIR, loadOperations } from "./operations.ts";

export const DEMO_PASSWORDS = { teacher: "teacher-demo-pass", student: "student-demo-pass" };
export const SEED_SIZE = {
  teachers: 12,
  students: 300,
  courses: 40,
  coursesPerStudent: 4,
  attendanceDays: 10,
  mealDays: 14,
};

const SUBJECTS = [
  "Algorithms",
  "Databases",
  "Linear Algebra",
  "Physics",
  "Persian Literature",
  "Economics",
  "Statistics",
  "Operating Systems",
  "Networks",
  "Organic Chemistry",
  "Calculus",
  "Compilers",
  "Machine Learning",
  "History of Iran",
  "Microbiology",
  "Graph Theory",
  "Signals",
  "Ethics",
  "Architecture",
  "Genetics",
];
const FIRST = [
  "Ali",
  "Sara",
  "Reza",
  "Maryam",
  "Hossein",
  "Zahra",
  "Mohammad",
  "Fatemeh",
  "Amir",
  "Narges",
  "Omid",
  "Leila",
  "Kaveh",
  "Shirin",
  "Babak",
  "Nazanin",
];
const LAST = [
  "Ahmadi",
  "Karimi",
  "Hosseini",
  "Rezaei",
  "Moradi",
  "Jafari",
  "Rahimi",
  "Ghasemi",
  "Sadeghi",
  "Mousavi",
  "Kazemi",
  "Hashemi",
  "Bagheri",
  "Najafi",
];
const MEALS = {
  BREAKFAST: ["Nan o panir", "Adasi", "Haleem"],
  LUNCH: ["Chelow kabab", "Ghormeh sabzi", "Zereshk polo", "Gheimeh"],
  DINNER: ["Kuku sabzi", "Ash reshteh", "Kotlet", "Dizi"],
} as const;

function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function inBatches<T, R>(
  items: T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!, index);
      }
    }),
  );
  return results;
}

const dayOffset = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** What login and register answer with. */
type Session = { accessToken: string; user: { id: string } };

export interface SeedOptions {
  gatewayUrl: string;
  admin: { email: string; password: string };
  log?: (line: string) => void;
  size?: typeof SEED_SIZE;
}

export async function seedDemoTerm({ gatewayUrl, admin, log = console.log, size = SEED_SIZE }: SeedOptions) {
  const ops = loadOperations(join(OPERATIONS_DIR, "seed/seed.graphql"));
  const rand = random(1402);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  let requests = 0;

  async function call<T = unknown>(
    operationName: string,
    variables: Record<string, unknown>,
    token?: string,
    allow: string[] = [],
  ): Promise<T | null> {
    const query = ops.get(operationName);
    if (!query) throw new Error(`no operation ${operationName} in operations/seed`);
    requests += 1;
    const response = await fetch(gatewayUrl, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables, operationName }),
    });
    const body = (await response.json()) as {
      data?: T;
      errors?: { message: string; extensions?: { code?: string } }[];
    };
    const code = body.errors?.[0]?.extensions?.code;
    if (body.errors?.length) {
      if (code && allow.includes(code)) return null;
      throw new Error(`${operationName}: ${body.errors[0]!.message} (${code})`);
    }
    return body.data ?? null;
  }

  const started = Date.now();
  let phaseStarted = started;
  const phase = (line: string) => {
    log(`seed: ${line} (${((Date.now() - phaseStarted) / 1000).toFixed(1)} s)`);
    phaseStarted = Date.now();
  };
  const staff = (await call<{ login: Session }>("SeedLogin", admin))!.login.accessToken;
  const existing = (await call<{ users: { totalCount: number } }>("SeedUserCount", {}, staff))!.users.totalCount;
  if (existing > 1) {
    log(`seed: ${existing} users exist already, nothing to do`);
    return { skipped: true as const };
  }

  const teachers = await inBatches(
    Array.from({ length: size.teachers }, (_, i) => i + 1),
    4,
    async (n) => {
      const email = `teacher${n}@pooya.local`;
      await call(
        "SeedCreateTeacher",
        {
          input: { email, password: DEMO_PASSWORDS.teacher, name: `Dr ${pick(FIRST)} ${pick(LAST)}`, role: "TEACHER" },
        },
        staff,
      );
      return (await call<{ login: Session }>("SeedLogin", { email, password: DEMO_PASSWORDS.teacher }))!.login;
    },
  );
  phase(`${teachers.length} teachers`);

  const students = await inBatches(
    Array.from({ length: size.students }, (_, i) => i + 1),
    6,
    async (n) => {
      const r = await call<{ register: Session }>("SeedRegisterStudent", {
        input: {
          email: `student${n}@pooya.local`,
          password: DEMO_PASSWORDS.student,
          name: `${pick(FIRST)} ${pick(LAST)}`,
        },
      });
      return r!.register;
    },
  );
  phase(`${students.length} students`);

  const courses = await inBatches(
    Array.from({ length: size.courses }, (_, i) => i),
    4,
    async (i) => {
      const teacher = teachers[i % teachers.length]!;
      const subject = SUBJECTS[i % SUBJECTS.length]!;
      const input = {
        code: `${subject
          .replace(/[^A-Za-z]/g, "")
          .slice(0, 4)
          .toUpperCase()}${100 + i}`,
        title: `${subject} ${i >= SUBJECTS.length ? "II" : "I"}`,
        description: `An introduction to ${subject.toLowerCase()}.`,
        capacity: 30 + Math.floor(rand() * 40),
      };
      const r = await call<{ createCourse: { id: string; code: string } }>(
        "SeedCreateCourse",
        { input },
        teacher.accessToken,
      );
      return { ...r!.createCourse, teacher };
    },
  );
  phase(`${courses.length} courses`);

  const wishes = students.flatMap((s) => {
    const chosen = new Set<number>();
    while (chosen.size < size.coursesPerStudent) chosen.add(Math.floor(rand() * courses.length));
    return [...chosen].map((c) => ({ student: s, course: courses[c]! }));
  });
  const enrolled = (
    await inBatches(wishes, 8, (w) =>
      call("SeedEnroll", { courseId: w.course.id }, w.student.accessToken, ["CONFLICT"]),
    )
  ).filter(Boolean).length;
  phase(`${enrolled} enrollments`);

  const weekdays = Array.from({ length: 20 }, (_, i) => -i - 1)
    .map(dayOffset)
    .filter((d) => ![5, 6].includes(new Date(d).getUTCDay()))
    .slice(0, size.attendanceDays);
  let marks = 0;
  await inBatches(courses, 4, async (course) => {
    const roster = (await call<{ course: { students: { id: string }[] } }>(
      "SeedCourseStudents",
      { courseId: course.id },
      course.teacher.accessToken,
    ))!.course.students;
    if (roster.length === 0) return;
    for (const date of weekdays) {
      const rollCall = roster.map((s) => {
        const roll = rand();
        return {
          studentId: s.id,
          status: roll < 0.8 ? "PRESENT" : roll < 0.9 ? "LATE" : roll < 0.96 ? "ABSENT" : "EXCUSED",
        };
      });
      await call("SeedRollCall", { input: { courseId: course.id, date, marks: rollCall } }, course.teacher.accessToken);
      marks += rollCall.length;
    }
  });
  phase(`${marks} attendance marks over ${weekdays.length} days`);

  const meals = (
    await inBatches(
      Array.from({ length: size.mealDays }, (_, i) => i),
      2,
      async (offset) =>
        Promise.all(
          (Object.keys(MEALS) as (keyof typeof MEALS)[]).map(async (mealType) => {
            const r = await call<{ addMeal: { id: string; price: number } }>(
              "SeedAddMeal",
              {
                input: {
                  name: pick(MEALS[mealType]),
                  mealType,
                  servingDate: dayOffset(offset),
                  price: mealType === "BREAKFAST" ? 800 : 2500 + Math.floor(rand() * 10) * 100,
                  stock: 150,
                },
              },
              staff,
            );
            return r!.addMeal;
          }),
        ),
    )
  ).flat();
  phase(`${meals.length} meals over ${size.mealDays} days`);

  await inBatches(students, 8, (s) =>
    call("SeedTopUp", { userId: s.user.id, amount: 20_000 + Math.floor(rand() * 30) * 1000 }, staff),
  );
  const orders = (
    await inBatches(students.slice(0, Math.ceil(students.length * 0.6)), 8, (s, i) =>
      call(
        "SeedBuyMeal",
        { input: { mealId: pick(meals).id, quantity: 1 + (i % 2), idempotencyKey: `seed-${i}` } },
        s.accessToken,
        ["SOLD_OUT", "INSUFFICIENT_FUNDS"],
      ),
    )
  ).filter(Boolean).length;
  phase(`wallets topped up, ${orders} food orders`);
  log(`seed: done in ${((Date.now() - started) / 1000).toFixed(1)} s with ${requests} API requests`);
  return {
    skipped: false as const,
    teachers: teachers.length,
    students: students.length,
    courses: courses.length,
    enrolled,
    marks,
    meals: meals.length,
    orders,
  };
}
