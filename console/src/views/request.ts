import { ActionKey, ApiError } from '../api';
import { definitions, focus, h, replace, uid } from '../dom';
import { decidedText } from '../text/requests';
import { REQUEST_STATUS_TEXT, userText, valueText } from '../text/format';
import type { ApprovalRequest, EventPage, VerificationInfo } from '../types';
import {
  clearFieldError,
  errorBox,
  eventsTable,
  fieldError,
  flashBox,
  heading,
  loading,
  timeElement,
  userLink,
  verificationFacts,
} from './shared';
import type { View } from './view';

/** Events shown on a request's page; the user's page has the whole history. */
const RECENT_EVENTS = 10;
const MAX_NOTE_LENGTH = 2000;

function requestFacts(request: ApprovalRequest): HTMLElement {
  const decided = request.status !== 'pending';
  return definitions([
    [
      'Status',
      h(
        'strong',
        { class: `status status-${request.status}` },
        REQUEST_STATUS_TEXT[request.status],
      ),
    ],
    ['Request id', h('code', {}, request.id)],
    ['Type', request.requestType],
    ['Subject', userLink(request.userId)],
    ['Filed by', request.requestedBy === null ? userText(null) : userLink(request.requestedBy)],
    ['Filed', timeElement(request.createdAt)],
    ...(decided
      ? ([
          [
            'Decided by',
            request.reviewedBy === null ? 'nobody (cancelled)' : userLink(request.reviewedBy),
          ],
          [
            'Decided',
            request.reviewedAt ? timeElement(request.reviewedAt) : timeElement(request.updatedAt),
          ],
          ['Note', request.reviewNote ?? '(none)'],
        ] as [string, HTMLElement | string][])
      : []),
  ]);
}

function detailsFacts(details: Record<string, unknown>): HTMLElement {
  const entries = Object.entries(details);
  if (entries.length === 0) return h('p', { class: 'empty' }, 'No details were filed.');
  return definitions(entries.map(([key, value]) => [key, valueText(value)]));
}

/** The decision form: a note, Approve, Reject (a note is checked here before a reject is sent). */
function decisionForm(
  view: View,
  request: ApprovalRequest,
  rerender: (notice: HTMLElement) => void,
) {
  const noteId = uid('note');
  const hintId = uid('note-hint');
  const errorId = uid('note-error');
  const note = h('textarea', {
    id: noteId,
    name: 'note',
    rows: 3,
    maxlength: MAX_NOTE_LENGTH,
    'aria-describedby': hintId,
  });
  const noteError = h('p', { id: errorId, class: 'field-error', hidden: true });
  const approve = h('button', { type: 'submit', value: 'approve', class: 'primary' }, 'Approve');
  const reject = h('button', { type: 'submit', value: 'reject', class: 'danger' }, 'Reject');
  const result = h('div', { class: 'result' });
  const key = new ActionKey();
  const form = h(
    'form',
    { class: 'decision', novalidate: true, 'aria-labelledby': 'decision-heading' },
    h('label', { for: noteId }, 'Note'),
    h(
      'p',
      { id: hintId, class: 'hint' },
      'Optional to approve, required to reject. Kept with the decision; the requester can read it.',
    ),
    note,
    noteError,
    h('div', { class: 'actions' }, approve, reject),
    result,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const decision = (event as SubmitEvent).submitter?.getAttribute('value');
    if (decision !== 'approve' && decision !== 'reject') return;
    void decide(decision);
  });

  async function decide(decision: 'approve' | 'reject'): Promise<void> {
    clearFieldError(note, noteError);
    result.replaceChildren();
    const text = note.value.trim();
    if (decision === 'reject' && text === '') {
      fieldError(note, noteError, 'Write a note to reject: it tells the requester why.');
      return;
    }
    const body = text === '' ? {} : { note: text };
    const path = `staff-approval-requests/${request.id}/${decision}`;
    approve.disabled = reject.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const decided = await view.api.post<ApprovalRequest>(
        path,
        body,
        key.for(`${path} ${JSON.stringify(body)}`),
      );
      key.settle();
      const verb = decision === 'approve' ? 'Approved' : 'Rejected';
      view.navigate(
        view.queueHash,
        `${verb}: ${decided.requestType} for ${userText(decided.userId)} (request ${decided.id.slice(0, 8)}).`,
      );
    } catch (error) {
      key.settle(error);
      if (!view.current()) return;
      if (error instanceof ApiError && error.failure.code === 'not_pending') {
        await showRace(error);
        return;
      }
      result.replaceChildren(errorBox(error));
      focus(result.firstElementChild as HTMLElement);
    } finally {
      approve.disabled = reject.disabled = false;
      form.removeAttribute('aria-busy');
    }
  }

  /** Another decision won: read the request again and say who made it. */
  async function showRace(conflict: ApiError): Promise<void> {
    let latest: ApprovalRequest;
    try {
      latest = await view.api.get<ApprovalRequest>(`staff-approval-requests/${request.id}`);
    } catch (error) {
      result.replaceChildren(errorBox(conflict), errorBox(error));
      focus(result.firstElementChild as HTMLElement);
      return;
    }
    if (!view.current()) return;
    rerender(
      h(
        'div',
        { class: 'notice warning', role: 'alert', 'data-code': 'not_pending' },
        h(
          'p',
          { class: 'summary' },
          'Someone else decided this request first. Your decision was not recorded.',
        ),
        h('p', {}, decidedText(latest)),
      ),
    );
  }

  return form;
}

/** A request with its details, its subject's verification and recent history, and the decision. */
export async function requestView(view: View, id: string, notice?: HTMLElement): Promise<void> {
  const title = heading('Request');
  // Everything but the heading goes in here: the heading keeps the focus it is given.
  const content = h('div', {}, flashBox(view.flash), loading('the request'));
  replace(view.main, title, content);
  let request: ApprovalRequest;
  try {
    request = await view.api.get<ApprovalRequest>(
      `staff-approval-requests/${encodeURIComponent(id)}`,
    );
  } catch (error) {
    if (view.current()) replace(content, errorBox(error), backLink(view));
    return;
  }
  if (!view.current()) return;

  title.textContent = `Request: ${request.requestType}`;
  const stateSection = h(
    'section',
    { 'aria-labelledby': 'state-heading' },
    h('h2', { id: 'state-heading' }, 'The subject’s verification'),
    loading('the verification'),
  );
  const eventsSection = h(
    'section',
    { 'aria-labelledby': 'events-heading' },
    h('h2', { id: 'events-heading' }, 'Recent events'),
    loading('the events'),
  );

  let decision: HTMLElement;
  if (request.status !== 'pending') {
    decision = h(
      'p',
      {},
      `This request is ${REQUEST_STATUS_TEXT[request.status].toLowerCase()}. ${decidedText(request)}`,
    );
  } else if (request.userId === view.me || request.requestedBy === view.me) {
    decision = h(
      'p',
      { class: 'notice info' },
      'You filed this request or it is about you, so another member of staff must decide it.',
    );
  } else {
    decision = decisionForm(view, request, (raceNotice) => {
      void requestView({ ...view, flash: undefined }, id, raceNotice);
    });
  }

  replace(
    content,
    notice ?? null,
    flashBox(view.flash),
    h(
      'p',
      { class: 'lead' },
      `About `,
      userLink(request.userId),
      `, filed `,
      timeElement(request.createdAt),
      '.',
    ),
    h(
      'section',
      { 'aria-labelledby': 'request-heading' },
      h('h2', { id: 'request-heading' }, 'Request'),
      requestFacts(request),
      h('h3', {}, 'Details'),
      detailsFacts(request.details),
    ),
    h(
      'section',
      { 'aria-labelledby': 'decision-heading' },
      h('h2', { id: 'decision-heading' }, 'Decision'),
      decision,
    ),
    stateSection,
    eventsSection,
    backLink(view),
  );
  if (notice) focus(notice);

  const subject = request.userId;
  const [state, events] = await Promise.allSettled([
    view.api.get<VerificationInfo>(`users/${subject}/verification`),
    view.api.get<EventPage>(`users/${subject}/verification/events?limit=${RECENT_EVENTS}`),
  ]);
  if (!view.current()) return;
  const more = h(
    'p',
    {},
    h('a', { href: `#/users/${subject}` }, `Full history and revocation for user ${subject}`),
  );
  stateSection.lastElementChild?.replaceWith(
    state.status === 'fulfilled' ? verificationFacts(state.value) : errorBox(state.reason),
  );
  let eventsContent: HTMLElement;
  if (events.status === 'rejected') eventsContent = errorBox(events.reason);
  else if (events.value.items.length === 0) {
    eventsContent = h('p', { class: 'empty' }, 'No events are recorded for this user yet.');
  } else {
    const n = events.value.items.length;
    eventsContent = eventsTable(
      n === 1 ? 'The latest event' : `The latest ${n} events, newest first`,
      events.value.items,
    );
  }
  eventsSection.lastElementChild?.replaceWith(eventsContent);
  eventsSection.append(more);
}

function backLink(view: View): HTMLParagraphElement {
  return h('p', {}, h('a', { href: view.queueHash }, 'Back to the queue'));
}
