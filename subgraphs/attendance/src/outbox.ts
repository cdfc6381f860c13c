// Attendance's transactional outbox: marks and their events commit together.
import { TRANSACTION_OPTIONS, createOutbox, type Outbox } from "@pooya/platform";
import type { AttendanceDb, AttendanceTransaction } from "./db.ts";

export type AttendanceOutbox = Outbox<AttendanceTransaction>;

export function createAttendanceOutbox(db: AttendanceDb): AttendanceOutbox {
  return createOutbox<AttendanceTransaction>({
    source: "attendance",
    pool: db.pool,
    transaction: (work) => db.prisma.$transaction(work, TRANSACTION_OPTIONS),
  });
}
