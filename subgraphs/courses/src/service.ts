// Wires the courses subgraph together; its descriptor (index.ts) starts it from checked variables.
import { fileURLToPath } from "node:url";
import { brokerFor, callSettings, callerUrls, createMetrics, createUpstream, eventSettings, isUuid, HttpError, applyMigrations, loadServiceIdentity, serveSubgraph, startEventProducer, subgraphSettings, type EnvValues, type Logger } from "@pooya/platform";
import { createUsersDirectory } from "@pooya/users/directory";
import { connectCoursesDb } from "./db.ts";
import { createCatalogue } from "./catalogue.ts";
import { createEnrollment } from "./enrollment.ts";
import { createLoaders, type CoursesContext } from "./context.ts";
import { resolvers } from "./resolvers/index.ts";
import { createCoursesOutbox } from "./outbox.ts";
import { ENROLLMENT_CHECK_PATH, MAX_CHECKED_STUDENTS, type EnrollmentCheck } from "./internal-api.ts";
import { coursesInternalRoutes } from "./internal-routes.ts";
import type { CoursesEnv } from "./env.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../../prisma/courses/migrations", import.meta.url));

export async function startCoursesService(vars: EnvValues<CoursesEnv>, log: Logger) {
  const settings = subgraphSettings("courses", vars);
  await applyMigrations(settings.databaseUrl, MIGRATIONS_DIR, log);
  const metrics = createMetrics("courses");
  const users = createUpstream({ ...callSettings(vars, "users", vars.USERS_URL), log, metrics });
  const db = connectCoursesDb(settings.databaseUrl, { poolSize: settings.databasePoolSize, log });
  const identity = await loadServiceIdentity("courses", vars);
  const directory = createUsersDirectory({ upstream: users, identity });
  const outbox = createCoursesOutbox(db);
  const catalogue = createCatalogue(db, outbox, directory);
  const enrollment = createEnrollment(db, outbox, directory);
  const events = eventSettings(vars);
  const broker = brokerFor("courses", events, log);
  const producer = startEventProducer({ service: "courses", outbox, pool: db.pool, broker, settings: events, log, metrics });

  return serveSubgraph<CoursesContext>({
    name: "courses",
    settings,
    log,
    metrics,
    schema: new URL("../schema.graphql", import.meta.url),
    resolvers,
    db,
    identity,
    internalRoutes: coursesInternalRoutes,
    callerUrls: callerUrls(coursesInternalRoutes, vars),
    createContext: (viewer) => ({ viewer, db, catalogue, enrollment, loaders: createLoaders(db) }),
    readinessDetails: () => ({ events: producer.status() }),
    beforeStop: async () => producer.closeFeed(),
    async afterStop() {
      await producer.stop();
      await Promise.all([users.close(), broker?.close()]);
    },
    routes(app) {
      producer.routes(app);
      app.post(ENROLLMENT_CHECK_PATH, async (request): Promise<EnrollmentCheck> => {
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
