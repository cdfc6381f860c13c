// Wires the courses subgraph together; its descriptor (index.ts) starts it from checked variables.
import { fileURLToPath } from "node:url";
import { callSettings, createMetrics, createUpstream, isUuid, HttpError, applyMigrations, createServiceTokenVerifier, requireServiceToken, serveSubgraph, subgraphSettings, type EnvValues, type Logger } from "@pooya/platform";
import { createUsersDirectory } from "@pooya/users/directory";
import { connectCoursesDb } from "./db.ts";
import { createCatalogue } from "./catalogue.ts";
import { createEnrollment } from "./enrollment.ts";
import { createLoaders, type CoursesContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { readFeed } from "./outbox.ts";
import { ENROLLMENT_CHECK_PATH, EVENT_FEED_PATH, MAX_CHECKED_STUDENTS, MAX_FEED_PAGE, type EnrollmentCheck } from "./internal-api.ts";
import type { CoursesEnv } from "./env.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/courses/migrations", import.meta.url));

export async function startCoursesService(vars: EnvValues<CoursesEnv>, log: Logger) {
  const settings = subgraphSettings("courses", vars);
  await applyMigrations(settings.databaseUrl, MIGRATIONS_DIR, log);
  const metrics = createMetrics("courses");
  const users = createUpstream({ ...callSettings(vars, "users", vars.USERS_URL), log, metrics });
  const db = connectCoursesDb(settings.databaseUrl, { poolSize: settings.databasePoolSize, log });
  const directory = createUsersDirectory({ upstream: users, secret: settings.serviceSecret, caller: "courses" });
  const catalogue = createCatalogue(db, directory);
  const enrollment = createEnrollment(db, directory);
  const verifyServiceToken = createServiceTokenVerifier(settings.serviceSecret, "courses");

  return serveSubgraph<CoursesContext>({
    name: "courses",
    settings,
    log,
    metrics,
    schema: new URL("../schema.graphql", import.meta.url),
    resolvers,
    db,
    createContext: (viewer) => ({ viewer, db, catalogue, enrollment, loaders: createLoaders(db) }),
    afterStop: users.close,
    routes(app) {
      // The outbox as a feed: replicas read events after the last sequence they applied.
      app.get(EVENT_FEED_PATH, { onRequest: requireServiceToken(verifyServiceToken) }, async (request) => {
        const query = request.query as { after?: string; limit?: string };
        const after = query.after ?? "0";
        const limit = Number(query.limit ?? MAX_FEED_PAGE);
        if (!/^\d{1,19}$/.test(after) || !Number.isInteger(limit) || limit < 1 || limit > MAX_FEED_PAGE) {
          throw new HttpError(400, `after must be a sequence number and limit 1..${MAX_FEED_PAGE}`);
        }
        return readFeed(db, BigInt(after), limit);
      });
      app.post(ENROLLMENT_CHECK_PATH, { onRequest: requireServiceToken(verifyServiceToken) }, async (request): Promise<EnrollmentCheck> => {
        const { courseId, studentIds } = (request.body ?? {}) as { courseId?: unknown; studentIds?: unknown };
        if (typeof courseId !== "string" || !Array.isArray(studentIds) || studentIds.length > MAX_CHECKED_STUDENTS || !studentIds.every((id) => typeof id === "string")) {
          throw new HttpError(400, `courseId must be a string and studentIds an array of at most ${MAX_CHECKED_STUDENTS} strings`);
        }
        if (!isUuid(courseId)) return { course: null, enrolledStudentIds: [] };
        const course = await db.prisma.course.findUnique({ where: { id: courseId }, select: { id: true, teacherId: true, code: true } });
        if (!course) return { course: null, enrolledStudentIds: [] };
        const enrolled = await db.prisma.enrollment.findMany({ where: { courseId, studentId: { in: (studentIds as string[]).filter(isUuid) } }, select: { studentId: true } });
        return { course: { courseId: course.id, teacherId: course.teacherId, code: course.code }, enrolledStudentIds: enrolled.map((e) => e.studentId) };
      });
    },
  });
}

export type CoursesService = Awaited<ReturnType<typeof startCoursesService>>;
