// The mails, as text and HTML. Every value that comes from users (names, meal names) is escaped
// in the HTML part; the text part is plain.
import type { MailTemplate } from "./generated/prisma/client.ts";
import { money } from "./messages.ts";

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (value: unknown) => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** One layout for every mail: a heading, paragraphs, an optional table of facts. */
function layout(heading: string, paragraphs: string[], facts: [string, string][] = []): string {
  const rows = facts
    .map(
      ([label, value]) =>
        `<tr><td style="padding:4px 16px 4px 0;color:#555">${escapeHtml(label)}</td><td style="padding:4px 0"><strong>${escapeHtml(value)}</strong></td></tr>`,
    )
    .join("");
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>',
    '<body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#222;max-width:560px;margin:24px auto;padding:0 16px">',
    `<h1 style="font-size:20px">${escapeHtml(heading)}</h1>`,
    ...paragraphs.map((p) => `<p style="line-height:1.5">${escapeHtml(p)}</p>`),
    rows ? `<table style="border-collapse:collapse;margin:16px 0">${rows}</table>` : "",
    '<p style="color:#888;font-size:12px">Pooya — the university panel. This mail was sent because of activity on your account.</p>',
    "</body></html>",
  ].join("\n");
}

const text = (heading: string, paragraphs: string[], facts: [string, string][] = []) =>
  [
    heading,
    "",
    ...paragraphs.flatMap((p) => [p, ""]),
    ...facts.map(([label, value]) => `${label}: ${value}`),
    "",
    "— Pooya, the university panel",
  ]
    .join("\n")
    .trimEnd() + "\n";

function mail(subject: string, heading: string, paragraphs: string[], facts: [string, string][] = []): RenderedMail {
  return { subject, text: text(heading, paragraphs, facts), html: layout(heading, paragraphs, facts) };
}

/** What the order mails are rendered from (the food event's payload). */
interface OrderMailData {
  orderId: string;
  mealName: string;
  mealType: string;
  servingDate: string;
  quantity: number;
  unitPrice: number;
  totalPrice: number;
  refund: number;
  balanceAfter: number;
}

export function renderMail(
  template: MailTemplate,
  data: Record<string, unknown>,
  recipient: { name: string },
): RenderedMail {
  const d = data as unknown as OrderMailData & { createdByStaff?: boolean };
  switch (template) {
    case "WELCOME":
      return mail("Welcome to Pooya", `Welcome, ${recipient.name}!`, [
        d.createdByStaff ? "Staff created a Pooya account for you." : "Your Pooya account is ready.",
        "Enrol in courses, follow your attendance and order meals from the canteen, all in one place.",
      ]);
    case "ORDER_RECEIPT":
      return mail(
        `Receipt: ${d.quantity} × ${d.mealName} on ${d.servingDate}`,
        `Thank you for your order, ${recipient.name}`,
        ["Your meal order is confirmed and paid."],
        [
          ["Order", d.orderId],
          ["Meal", `${d.quantity} × ${d.mealName} (${String(d.mealType).toLowerCase()})`],
          ["Serving date", d.servingDate],
          ["Price each", money(d.unitPrice)],
          ["Total charged", money(d.totalPrice)],
          ["Wallet balance", money(d.balanceAfter)],
        ],
      );
    case "ORDER_CANCELLED":
      return mail(
        `Order cancelled: ${d.quantity} × ${d.mealName} on ${d.servingDate}`,
        `Your order is cancelled, ${recipient.name}`,
        ["The meal order below is cancelled and the money is back in your wallet."],
        [
          ["Order", d.orderId],
          ["Meal", `${d.quantity} × ${d.mealName} (${String(d.mealType).toLowerCase()})`],
          ["Serving date", d.servingDate],
          ["Refunded", money(d.refund)],
          ["Wallet balance", money(d.balanceAfter)],
        ],
      );
  }
}
