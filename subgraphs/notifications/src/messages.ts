// What each event tells whom: the notification (title and body) and, for some, a mail. Pure
// functions of the event's payload, so the words are tested without a database.
import type { NotificationKind, MailTemplate } from "./generated/prisma/client.ts";

export interface NotificationDraft {
  userId: string;
  kind: NotificationKind;
  title: string;
  body: string;
}

export interface MailDraft {
  userId: string;
  template: MailTemplate;
  data: Record<string, unknown>;
}

/** Money is an integer in the smallest currency unit: shown with thousands separators. */
export const money = (amount: number) => amount.toLocaleString("en-US");

export const welcome = (userId: string, name: string, createdByStaff: boolean): NotificationDraft => ({
  userId,
  kind: "WELCOME",
  title: `Welcome to Pooya, ${name}`,
  body: createdByStaff
    ? "Staff created your Pooya account: courses, attendance and the canteen are in one place."
    : "Your account is ready: enrol in courses, follow your attendance and order meals in one place.",
});

export const enrolled = (studentId: string, course: string): NotificationDraft => ({
  userId: studentId,
  kind: "ENROLLED",
  title: `Enrolled in ${course}`,
  body: `You are enrolled in ${course}.`,
});

export const dropped = (studentId: string, course: string): NotificationDraft => ({
  userId: studentId,
  kind: "DROPPED",
  title: `Dropped from ${course}`,
  body: `Your enrollment in ${course} has ended.`,
});

export const attendanceMarked = (
  studentId: string,
  status: "ABSENT" | "LATE",
  course: string,
  date: string,
): NotificationDraft => ({
  userId: studentId,
  kind: "ATTENDANCE_MARKED",
  title: `Marked ${status} in ${course}`,
  body: `You were marked ${status} in ${course} on ${date}.`,
});

export interface OrderFacts {
  orderId: string;
  mealName: string;
  mealType: string;
  servingDate: string;
  quantity: number;
  balanceAfter: number;
}

export const orderConfirmed = (userId: string, order: OrderFacts & { totalPrice: number }): NotificationDraft => ({
  userId,
  kind: "ORDER_CONFIRMED",
  title: `Order confirmed: ${order.quantity} × ${order.mealName}`,
  body: `${order.quantity} × ${order.mealName} (${order.mealType.toLowerCase()}, ${order.servingDate}) for ${money(order.totalPrice)}. Balance: ${money(order.balanceAfter)}.`,
});

export const orderCancelled = (userId: string, order: OrderFacts & { refund: number }): NotificationDraft => ({
  userId,
  kind: "ORDER_CANCELLED",
  title: `Order cancelled: ${order.quantity} × ${order.mealName}`,
  body: `Your order of ${order.quantity} × ${order.mealName} for ${order.servingDate} is cancelled; ${money(order.refund)} went back to your wallet. Balance: ${money(order.balanceAfter)}.`,
});

export const walletToppedUp = (userId: string, amount: number, balanceAfter: number): NotificationDraft => ({
  userId,
  kind: "WALLET_TOPPED_UP",
  title: `${money(amount)} added to your wallet`,
  body: `Your wallet was topped up by ${money(amount)}. Balance: ${money(balanceAfter)}.`,
});
