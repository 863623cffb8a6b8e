import type { EventData, events } from '@soundgood/event-catalog';

function money(amountCents: number, currency: string): string {
  return `${(amountCents / 100).toFixed(2)} ${currency}`;
}

export function confirmedMessage(data: EventData<typeof events.rentalConfirmed>): string {
  const months = data.months === 1 ? '1 month' : `${data.months} months`;
  return (
    `Your rental of instrument ${data.instrumentId} is confirmed for ${months}, from ${data.startsOn} ` +
    `to ${data.endsOn}. The first month's fee of ${money(data.amountCents, data.currency)} has been charged.`
  );
}

export function rejectedMessage(data: EventData<typeof events.rentalRejected>): string {
  return `Your rental of instrument ${data.instrumentId} could not be made: ${data.message} (${data.reason}). Nothing was charged.`;
}

export function terminatedMessage(data: EventData<typeof events.rentalTerminated>): string {
  return `Your rental of instrument ${data.instrumentId} ended on ${data.terminatedAt.slice(0, 10)}. Thank you for playing with Soundgood.`;
}
