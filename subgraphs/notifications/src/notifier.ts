// Turns other services' events into notifications (and mails), inside the transaction that
// records the event in the inbox: a notification exists exactly when its event was applied.
import type { AfterCommit, EventEnvelope } from "@pooya/events";
import { userEvents } from "@pooya/users/events";
import { courseEvents } from "@pooya/courses/events";
import { attendanceEvents } from "@pooya/attendance/events";
import { foodEvents } from "@pooya/food/events";
import type { NotificationsTransaction } from "./service.ts";
import type { Notification } from "./generated/prisma/client.ts";
import * as messages from "./messages.ts";

export interface NotifierObserver {
  /** A notification was written (its transaction has committed). */
  created(notification: Notification): void;
  /** Mails were queued (their transaction has committed). */
  mailQueued(): void;
}

export function createNotifier(observe: NotifierObserver) {
  async function notify(
    tx: NotificationsTransaction,
    event: EventEnvelope,
    draft: messages.NotificationDraft,
    afterCommit: AfterCommit,
  ) {
    // The same event never notifies the same person twice (the inbox already makes that so;
    // the unique key keeps it so should a consumer's inbox ever be reset).
    const [created] = await tx.notification.createManyAndReturn({
      data: [{ ...draft, sourceEventId: event.id }],
      skipDuplicates: true,
    });
    if (created) afterCommit(() => observe.created(created));
  }

  async function mail(
    tx: NotificationsTransaction,
    event: EventEnvelope,
    draft: messages.MailDraft,
    afterCommit: AfterCommit,
  ) {
    const queued = await tx.outgoingMail.createMany({
      data: [{ ...draft, data: draft.data as object, sourceEventId: event.id }],
      skipDuplicates: true,
    });
    if (queued.count > 0) afterCommit(observe.mailQueued);
  }

  async function rememberRecipient(
    tx: NotificationsTransaction,
    user: { userId: string; email: string; name: string; role: string },
  ) {
    await tx.recipient.upsert({
      where: { userId: user.userId },
      create: { userId: user.userId, email: user.email, name: user.name, role: user.role },
      update: { email: user.email, name: user.name, role: user.role },
    });
  }

  /** Applies one event (anything not listed here is not for us). */
  async function handle(tx: NotificationsTransaction, event: EventEnvelope, afterCommit: AfterCommit): Promise<void> {
    switch (event.source) {
      case "users": {
        const registered = userEvents.read(event, "UserRegistered");
        const created = userEvents.read(event, "UserCreated");
        const account = registered ?? created ?? userEvents.read(event, "UserImported");
        if (!account) return;
        await rememberRecipient(tx, account);
        if (registered || created) {
          const byStaff = Boolean(created?.createdBy);
          await notify(tx, event, messages.welcome(account.userId, account.name, byStaff), afterCommit);
          await mail(
            tx,
            event,
            { userId: account.userId, template: "WELCOME", data: { createdByStaff: byStaff } },
            afterCommit,
          );
        }
        return;
      }
      case "courses": {
        const enrolled = courseEvents.read(event, "StudentEnrolled");
        if (enrolled)
          return notify(tx, event, messages.enrolled(enrolled.studentId, courseName(enrolled)), afterCommit);
        const dropped = courseEvents.read(event, "EnrollmentDropped");
        if (dropped) return notify(tx, event, messages.dropped(dropped.studentId, courseName(dropped)), afterCommit);
        return;
      }
      case "attendance": {
        const marked = attendanceEvents.read(event, "AttendanceMarked");
        // Only news is worth telling: ABSENT or LATE, and not the same mark again.
        if (
          marked &&
          (marked.status === "ABSENT" || marked.status === "LATE") &&
          marked.previousStatus !== marked.status
        ) {
          await notify(
            tx,
            event,
            messages.attendanceMarked(marked.studentId, marked.status, marked.courseCode, marked.date),
            afterCommit,
          );
        }
        return;
      }
      case "food": {
        const confirmed = foodEvents.read(event, "FoodOrderConfirmed");
        if (confirmed) {
          await notify(tx, event, messages.orderConfirmed(confirmed.userId, confirmed), afterCommit);
          await mail(tx, event, { userId: confirmed.userId, template: "ORDER_RECEIPT", data: confirmed }, afterCommit);
          return;
        }
        const cancelled = foodEvents.read(event, "FoodOrderCancelled");
        if (cancelled) {
          await notify(tx, event, messages.orderCancelled(cancelled.userId, cancelled), afterCommit);
          await mail(
            tx,
            event,
            { userId: cancelled.userId, template: "ORDER_CANCELLED", data: cancelled },
            afterCommit,
          );
          return;
        }
        const toppedUp = foodEvents.read(event, "WalletToppedUp");
        if (toppedUp)
          await notify(
            tx,
            event,
            messages.walletToppedUp(toppedUp.userId, toppedUp.amount, toppedUp.balanceAfter),
            afterCommit,
          );
        return;
      }
    }
  }

  return { handle };
}

/** "CS101 — Algorithms", or what the event has of it (events written before titles were carried). */
function courseName(course: { code?: string; title?: string; courseId: string }): string {
  if (course.code && course.title) return `${course.code} — ${course.title}`;
  return course.code ?? "a course";
}
