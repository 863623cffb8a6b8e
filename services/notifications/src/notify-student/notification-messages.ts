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
  const on = data.terminatedAt.slice(0, 10);
  switch (data.reason) {
    case 'ENDED':
      return `Your rental of instrument ${data.instrumentId} came to its end on ${on}. Please bring the instrument back. Thank you for playing with Soundgood.`;
    case 'PAYMENT_OVERDUE':
      return `Your rental of instrument ${data.instrumentId} was ended on ${on} because a monthly fee stayed unpaid after the grace period. Please bring the instrument back.`;
    default:
      return `Your rental of instrument ${data.instrumentId} ended on ${on}. Thank you for playing with Soundgood.`;
  }
}

export function paymentMissedMessage(data: EventData<typeof events.paymentMissed>): string {
  return (
    `The fee for month ${data.month} of your rental of instrument ${data.instrumentId}, due on ${data.dueOn}, ` +
    `could not be charged: ${data.message} (${data.reason}). We will try again every day; if it is still ` +
    `unpaid on ${data.graceEndsOn}, the rental ends.`
  );
}
