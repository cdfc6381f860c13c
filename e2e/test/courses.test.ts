// Courses through the gateway: the catalogue, enrollment and its rules.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { errorCodes, startFederation, type Federation } from "../src/harness.ts";
import { OPS, createCourse, enroll, uniqueCode } from "../src/fixtures.ts";

let fed: Federation;
let teacher: Awaited<ReturnType<Federation["createUser"]>>;
let otherTeacher: typeof teacher;
let student: typeof teacher;
beforeAll(async () => {
  fed = await startFederation();
  teacher = await fed.createUser("TEACHER", "Dr Karimi");
  otherTeacher = await fed.createUser("TEACHER");
  student = await fed.createUser("STUDENT");
});
afterAll(() => fed?.close());

const countCourses = async () => Number((await fed.db.courses.query("SELECT count(*) FROM courses")).rows[0].count);

describe("createCourse", () => {
  test("a TEACHER creates a course they teach; the teacher resolves from the users subgraph", async () => {
    const r = await fed.execute({
      query: OPS.createCourse,
      variables: { i: { code: "cs-101", title: "Programming", capacity: 2 } },
      token: teacher.token,
    });
    expect(r.errors).toBeUndefined();
    expect(r.data?.createCourse).toMatchObject({
      code: "CS-101",
      capacity: 2,
      enrollmentCount: 0,
      seatsLeft: 2,
      teacher: { id: teacher.id, name: "Dr Karimi" },
    });
  });

  test("STAFF names the teacher; naming a student is BAD_USER_INPUT, an unknown user NOT_FOUND, nobody BAD_USER_INPUT", async () => {
    const ok = await fed.execute({
      query: OPS.createCourse,
      variables: { i: { code: uniqueCode(), title: "T", capacity: 5, teacherId: teacher.id } },
      token: fed.admin.token,
    });
    expect(ok.data?.createCourse.teacher.id).toBe(teacher.id);
    const before = await countCourses();
    const asStudent = await fed.execute({
      query: OPS.createCourse,
      variables: { i: { code: uniqueCode(), title: "T", capacity: 5, teacherId: student.id } },
      token: fed.admin.token,
    });
    expect(errorCodes(asStudent)).toEqual(["BAD_USER_INPUT"]);
    const unknown = await fed.execute({
      query: OPS.createCourse,
      variables: {
        i: { code: uniqueCode(), title: "T", capacity: 5, teacherId: "00000000-0000-4000-8000-000000000000" },
      },
      token: fed.admin.token,
    });
    expect(errorCodes(unknown)).toEqual(["NOT_FOUND"]);
    const nobody = await fed.execute({
      query: OPS.createCourse,
      variables: { i: { code: uniqueCode(), title: "T", capacity: 5 } },
      token: fed.admin.token,
    });
    expect(errorCodes(nobody)).toEqual(["BAD_USER_INPUT"]);
    expect(await countCourses()).toBe(before);
  });

  test("a STUDENT is FORBIDDEN; a TEACHER naming another teacher is FORBIDDEN", async () => {
    const before = await countCourses();
    expect(
      errorCodes(
        await fed.execute({
          query: OPS.createCourse,
          variables: { i: { code: uniqueCode(), title: "T", capacity: 5 } },
          token: student.token,
        }),
      ),
    ).toEqual(["FORBIDDEN"]);
    expect(
      errorCodes(
        await fed.execute({
          query: OPS.createCourse,
          variables: { i: { code: uniqueCode(), title: "T", capacity: 5, teacherId: otherTeacher.id } },
          token: teacher.token,
        }),
      ),
    ).toEqual(["FORBIDDEN"]);
    expect(await countCourses()).toBe(before);
  });

  test("a taken code is CONFLICT; bad code, title or capacity is BAD_USER_INPUT; nothing is written", async () => {
    const code = uniqueCode();
    await createCourse(fed, teacher, { code });
    const before = await countCourses();
    const outboxBefore = (await fed.db.courses.query("SELECT count(*) FROM outbox_events")).rows[0].count;
    expect(
      errorCodes(
        await fed.execute({
          query: OPS.createCourse,
          variables: { i: { code: code.toLowerCase(), title: "T", capacity: 5 } },
          token: teacher.token,
        }),
      ),
    ).toEqual(["CONFLICT"]);
    for (const bad of [
      { code: "x", title: "T", capacity: 5 },
      { code: uniqueCode(), title: " ", capacity: 5 },
      { code: uniqueCode(), title: "T", capacity: 0 },
      { code: uniqueCode(), title: "T", capacity: 5000 },
    ]) {
      expect(
        errorCodes(await fed.execute({ query: OPS.createCourse, variables: { i: bad }, token: teacher.token })),
      ).toEqual(["BAD_USER_INPUT"]);
    }
    expect(await countCourses()).toBe(before);
    expect((await fed.db.courses.query("SELECT count(*) FROM outbox_events")).rows[0].count).toBe(outboxBefore);
  });
});

describe("enroll and dropEnrollment", () => {
  test("a STUDENT enrols themself; the course shows them to its teacher", async () => {
    const course = await createCourse(fed, teacher);
    const r = await fed.execute({ query: OPS.enroll, variables: { c: course.id }, token: student.token });
    expect(r.data?.enroll.enrollmentCount).toBe(1);
    const view = await fed.execute({
      query: `query($id: ID!) { course(id: $id) { students { id email } enrollmentCount } }`,
      variables: { id: course.id },
      token: teacher.token,
    });
    expect(view.data?.course.students).toEqual([{ id: student.id, email: student.email }]);
  });

  test("the teacher of the course and STAFF enrol anyone; another teacher is FORBIDDEN; a student enrolling someone else is FORBIDDEN", async () => {
    const course = await createCourse(fed, teacher);
    const s1 = await fed.createUser("STUDENT");
    const s2 = await fed.createUser("STUDENT");
    await enroll(fed, teacher.token, course.id, s1.id);
    await enroll(fed, fed.admin.token, course.id, s2.id);
    expect(
      errorCodes(
        await fed.execute({ query: OPS.enroll, variables: { c: course.id, s: student.id }, token: otherTeacher.token }),
      ),
    ).toEqual(["FORBIDDEN"]);
    expect(
      errorCodes(await fed.execute({ query: OPS.enroll, variables: { c: course.id, s: student.id }, token: s1.token })),
    ).toEqual(["FORBIDDEN"]);
  });

  test("only STUDENT users can be enrolled; unknown course or user is NOT_FOUND; a missing studentId is BAD_USER_INPUT", async () => {
    const course = await createCourse(fed, teacher);
    expect(
      errorCodes(
        await fed.execute({ query: OPS.enroll, variables: { c: course.id, s: otherTeacher.id }, token: teacher.token }),
      ),
    ).toEqual(["BAD_USER_INPUT"]);
    expect(
      errorCodes(
        await fed.execute({
          query: OPS.enroll,
          variables: { c: "00000000-0000-4000-8000-000000000000" },
          token: student.token,
        }),
      ),
    ).toEqual(["NOT_FOUND"]);
    expect(
      errorCodes(await fed.execute({ query: OPS.enroll, variables: { c: "not-a-uuid" }, token: student.token })),
    ).toEqual(["NOT_FOUND"]);
    expect(
      errorCodes(
        await fed.execute({
          query: OPS.enroll,
          variables: { c: course.id, s: "00000000-0000-4000-8000-000000000000" },
          token: teacher.token,
        }),
      ),
    ).toEqual(["NOT_FOUND"]);
    expect(
      errorCodes(await fed.execute({ query: OPS.enroll, variables: { c: course.id }, token: teacher.token })),
    ).toEqual(["BAD_USER_INPUT"]);
  });

  test("drop: the student themself or the teacher; not enrolled is NOT_ENROLLED; another student is FORBIDDEN", async () => {
    const course = await createCourse(fed, teacher);
    const s = await fed.createUser("STUDENT");
    await enroll(fed, s.token, course.id);
    expect(
      errorCodes(await fed.execute({ query: OPS.drop, variables: { c: course.id, s: s.id }, token: student.token })),
    ).toEqual(["FORBIDDEN"]);
    expect(
      errorCodes(
        await fed.execute({ query: OPS.drop, variables: { c: course.id, s: s.id }, token: otherTeacher.token }),
      ),
    ).toEqual(["FORBIDDEN"]);
    const dropped = await fed.execute({ query: OPS.drop, variables: { c: course.id, s: s.id }, token: s.token });
    expect(dropped.data?.dropEnrollment.enrollmentCount).toBe(0);
    expect(
      errorCodes(await fed.execute({ query: OPS.drop, variables: { c: course.id, s: s.id }, token: teacher.token })),
    ).toEqual(["NOT_ENROLLED"]);
    expect(
      errorCodes(
        await fed.execute({
          query: OPS.drop,
          variables: { c: "00000000-0000-4000-8000-000000000000", s: s.id },
          token: teacher.token,
        }),
      ),
    ).toEqual(["NOT_FOUND"]);
  });

  // "a full course and a second enrollment are CONFLICT", "two students racing for the last seat" and
  // "every enrollment change writes its outbox event …" moved to subgraphs/courses/test/courses.test.ts.
});

describe("queries", () => {
  test("courses: cursor pages, search by code or title, first capped at 100", async () => {
    const tag = uniqueCode("Q");
    for (let i = 0; i < 5; i++)
      await createCourse(fed, teacher, { code: `${tag}-${i}`, title: i === 4 ? "Zoology of Quokkas" : "Other" });
    const Q = `query($after: String, $s: String) { courses(first: 2, after: $after, search: $s) { totalCount edges { node { code } } pageInfo { hasNextPage endCursor } } }`;
    const codes: string[] = [];
    let after: string | null = null;
    do {
      const page: any = await fed.execute({
        query: Q,
        variables: { after, s: tag.toLowerCase() },
        token: student.token,
      });
      expect(page.data.courses.totalCount).toBe(5);
      codes.push(...page.data.courses.edges.map((e: any) => e.node.code));
      after = page.data.courses.pageInfo.hasNextPage ? page.data.courses.pageInfo.endCursor : null;
    } while (after);
    expect(codes).toEqual([0, 1, 2, 3, 4].map((i) => `${tag}-${i}`));
    const byTitle = await fed.execute({ query: Q, variables: { s: "quokka" }, token: student.token });
    expect(byTitle.data?.courses.edges.map((e: any) => e.node.code)).toEqual([`${tag}-4`]);
    expect(
      errorCodes(await fed.execute({ query: `{ courses(first: 101) { totalCount } }`, token: student.token })),
    ).toEqual(["BAD_USER_INPUT"]);
  });

  test("course(id) of an unknown id is null; User.teachingCourses and enrolledCourses cross subgraphs", async () => {
    expect(
      (
        await fed.execute({
          query: `{ course(id: "00000000-0000-4000-8000-000000000000") { id } }`,
          token: student.token,
        })
      ).data?.course,
    ).toBeNull();
    const t = await fed.createUser("TEACHER");
    const s = await fed.createUser("STUDENT");
    const c = await createCourse(fed, t);
    await enroll(fed, s.token, c.id);
    const mine = await fed.execute({
      query: `{ me { enrolledCourses { id teacher { id teachingCourses { id } } } } }`,
      token: s.token,
    });
    expect(mine.data?.me.enrolledCourses).toEqual([
      { id: c.id, teacher: { id: t.id, teachingCourses: [{ id: c.id }] } },
    ]);
  });
});

describe("editing a course", () => {
  const UPDATE = `mutation($id: ID!, $i: UpdateCourseInput!) { updateCourse(id: $id, input: $i) { id title } }`;
  const READ = `query($id: ID!) { course(id: $id) { title description status teacher { id name } } }`;

  test("a teacher renames their course and the next read through the gateway shows the new title; another teacher is FORBIDDEN", async () => {
    const course = await createCourse(fed, teacher, { title: "Old title" });
    const first = await fed.execute({ query: READ, variables: { id: course.id }, token: student.token });
    expect(first.data?.course.title).toBe("Old title");
    const renamed = await fed.execute({
      query: UPDATE,
      variables: { id: course.id, i: { title: "New title", description: "Now with a description." } },
      token: teacher.token,
    });
    expect(renamed.data?.updateCourse).toEqual({ id: course.id, title: "New title" });
    const next = await fed.execute({ query: READ, variables: { id: course.id }, token: student.token });
    expect(next.data?.course).toEqual({
      title: "New title",
      description: "Now with a description.",
      status: "OPEN",
      teacher: { id: teacher.id, name: "Dr Karimi" },
    });
    const mine = await fed.execute({ query: `{ me { teachingCourses { id title } } }`, token: teacher.token });
    expect(mine.data?.me.teachingCourses).toContainEqual({ id: course.id, title: "New title" });
    const refused = await fed.execute({
      query: UPDATE,
      variables: { id: course.id, i: { title: "Not yours" } },
      token: otherTeacher.token,
    });
    expect(errorCodes(refused)).toEqual(["FORBIDDEN"]);
  });

  test("STAFF hands a course over and closes it: the new teacher shows through the gateway, enroll is CONFLICT with reason COURSE_CLOSED", async () => {
    const course = await createCourse(fed, teacher);
    const teaching = async (who: { token: string }) =>
      (
        (await fed.execute({ query: `{ me { teachingCourses { id } } }`, token: who.token })).data?.me
          .teachingCourses as { id: string }[]
      ).map((c) => c.id);
    // Read once before the change (what a cache would then hold), and again after it.
    expect(await teaching(teacher)).toContain(course.id);
    expect(await teaching(otherTeacher)).not.toContain(course.id);
    const handed = await fed.execute({
      query: UPDATE,
      variables: { id: course.id, i: { teacherId: otherTeacher.id } },
      token: fed.admin.token,
    });
    expect(handed.errors).toBeUndefined();
    expect(await teaching(teacher)).not.toContain(course.id);
    expect(await teaching(otherTeacher)).toContain(course.id);
    const closed = await fed.execute({
      query: `mutation($id: ID!) { closeCourse(id: $id) { status } }`,
      variables: { id: course.id },
      token: fed.admin.token,
    });
    expect(closed.data?.closeCourse.status).toBe("CLOSED");
    const read = await fed.execute({ query: READ, variables: { id: course.id }, token: student.token });
    expect(read.data?.course).toMatchObject({ status: "CLOSED", teacher: { id: otherTeacher.id } });
    const refused = await fed.execute({ query: OPS.enroll, variables: { c: course.id }, token: student.token });
    expect(errorCodes(refused)).toEqual(["CONFLICT"]);
    expect(refused.errors?.[0]?.extensions?.reason).toBe("COURSE_CLOSED");
  });
});
