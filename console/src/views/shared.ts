import { ApiError } from '../api';
import { Child, definitions, h } from '../dom';
import { describeFailure } from '../text/errors';
import { actorText, describeEvent } from '../text/events';
import { STATUS_TEXT, timeText } from '../text/format';
import type { VerificationEvent, VerificationInfo } from '../types';

/** The view's heading; focus moves to it when the view changes. */
export function heading(text: string): HTMLHeadingElement {
  return h('h1', { tabindex: -1 }, text);
}

/** An error in words: what its code means, then the service's own message. */
export function errorBox(error: unknown): HTMLDivElement {
  if (!(error instanceof ApiError)) {
    const message = error instanceof Error ? error.message : String(error);
    return h(
      'div',
      { class: 'notice error', role: 'alert' },
      h('p', { class: 'summary' }, 'The console failed unexpectedly. Reload the page.'),
      h('p', {}, message),
    );
  }
  const words = describeFailure(error.failure);
  return h(
    'div',
    { class: 'notice error', role: 'alert', 'data-code': error.failure.code },
    h('p', { class: 'summary' }, words.summary),
    words.detail ? h('p', {}, words.detail) : null,
  );
}

/** A message shown at the top of a view after an action. */
export function flashBox(text: string | undefined): HTMLElement | null {
  return text ? h('div', { class: 'notice success' }, h('p', {}, text)) : null;
}

export function loading(what: string): HTMLParagraphElement {
  return h('p', { class: 'loading' }, `Loading ${what}…`);
}

/** A user's verification state as facts. */
export function verificationFacts(info: VerificationInfo): HTMLDListElement {
  const yesNo = (verified: boolean) => (verified ? 'Verified' : 'Not verified');
  return definitions([
    ['Status', STATUS_TEXT[info.status] ?? info.status],
    ['Phone', yesNo(info.isPhoneVerified)],
    ['Email', yesNo(info.isEmailVerified)],
  ]);
}

export function timeElement(iso: string): HTMLTimeElement {
  return h('time', { datetime: iso }, timeText(iso));
}

/** A link to a user's page. */
export function userLink(id: number): HTMLAnchorElement {
  return h('a', { href: `#/users/${id}` }, `user ${id}`);
}

/** Rows of a history table, newest first. */
export function eventRows(events: VerificationEvent[]): HTMLTableRowElement[] {
  return events.map((event) =>
    h(
      'tr',
      { 'data-event-type': event.type },
      h('td', {}, timeElement(event.createdAt)),
      h('td', {}, describeEvent(event)),
      h('td', {}, event.channel ?? '—'),
      h('td', {}, actorText(event)),
    ),
  );
}

/** A history table (newest first) with its caption. */
export function eventsTable(caption: Child, events: VerificationEvent[]): HTMLTableElement {
  return h(
    'table',
    { class: 'events' },
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'When'),
        h('th', { scope: 'col' }, 'What happened'),
        h('th', { scope: 'col' }, 'Channel'),
        h('th', { scope: 'col' }, 'By'),
      ),
    ),
    h('tbody', {}, ...eventRows(events)),
  );
}

/**
 * Shows a field's error, tied to the field for assistive technology
 * (aria-invalid, aria-describedby), and moves focus to the field.
 */
export function fieldError(
  field: HTMLInputElement | HTMLTextAreaElement,
  slot: HTMLElement,
  text: string,
): void {
  slot.textContent = text;
  slot.hidden = false;
  field.setAttribute('aria-invalid', 'true');
  const described = new Set((field.getAttribute('aria-describedby') ?? '').split(' '));
  described.add(slot.id);
  field.setAttribute('aria-describedby', [...described].filter(Boolean).join(' '));
  field.focus();
}

export function clearFieldError(
  field: HTMLInputElement | HTMLTextAreaElement,
  slot: HTMLElement,
): void {
  slot.textContent = '';
  slot.hidden = true;
  field.removeAttribute('aria-invalid');
}
