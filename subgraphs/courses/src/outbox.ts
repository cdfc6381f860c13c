// Courses' transactional outbox: enrollment changes and their events commit together.
import { TRANSACTION_OPTIONS, createOutbox, type Outbox } from "@pooya/platform";
import type { CoursesDb, CoursesTransaction } from "./db.ts";

export type CoursesOutbox = Outbox<CoursesTransaction>;

export function createCoursesOutbox(db: CoursesDb): CoursesOutbox {
  return createOutbox<CoursesTransaction>({
    source: "courses",
    pool: db.pool,
    transaction: (work) => db.prisma.$transaction(work, TRANSACTION_OPTIONS),
  });
}
