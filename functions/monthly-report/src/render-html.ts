import type { MonthlyReport } from './transform.js';

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const amount = (cents: number, currency: string) => `${(cents / 100).toFixed(2)} ${escapeHtml(currency)}`;

const table = (head: string[], rows: string[][]) =>
  `<table>\n<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>\n<tbody>\n${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('\n')}\n</tbody>\n</table>`;

/** The report as a page for a browser (the same numbers as the JSON). */
export function renderHtml(report: MonthlyReport): string {
  const statuses = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([status, n]) => `${escapeHtml(status)} ${n}`)
      .join(', ') || '-';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Soundgood monthly report ${escapeHtml(report.month)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;margin-bottom:1.5rem}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}th:first-child,td:first-child{text-align:left}</style>
</head>
<body>
<h1>Soundgood monthly report ${escapeHtml(report.month)}</h1>
<p>From ${escapeHtml(report.period.from)} to ${escapeHtml(report.period.to)} (exclusive), ${escapeHtml(report.timeZone)}; generated ${escapeHtml(report.generatedAt)}.</p>
<h2>Rentals</h2>
${table(
  ['', 'count', 'by status or reason'],
  [
    ['started', String(report.rentals.started), ''],
    ['ended', String(report.rentals.ended), statuses(report.rentals.endedByReason)],
    ['active', String(report.rentals.active), statuses(report.rentals.activeByStatus)],
    ['in arrears', String(report.rentals.inArrears), ''],
  ],
)}
<h2>Revenue and refunds by instrument type</h2>
${table(
  ['instrument type', 'charges', 'revenue', 'refunds', 'refunded', 'net'],
  report.money.map((m) => [
    escapeHtml(m.instrumentType),
    String(m.charges),
    amount(m.revenueCents, m.currency),
    String(m.refunds),
    amount(m.refundsCents, m.currency),
    amount(m.netCents, m.currency),
  ]),
)}
<h2>Instrument utilisation</h2>
${table(
  ['instrument type', 'instruments', 'rented days', 'available days', 'utilisation'],
  report.utilisation.map((u) => [
    escapeHtml(u.instrumentType),
    String(u.instruments),
    String(u.rentedDays),
    String(u.availableDays),
    `${(u.utilisation * 100).toFixed(1)} %`,
  ]),
)}
</body>
</html>
`;
}
