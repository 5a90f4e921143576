import type { ApprovalRequest, RequestPage, RequestStatus } from './types';

/** The queue's filters, as the address (`#/queue?status=...`) carries them. */
export interface QueueFilters {
  /** A status, or undefined for every status. */
  status: RequestStatus | undefined;
  /** Matched in the page: the API has no request-type filter. */
  requestType: string | undefined;
  userId: string | undefined;
}

export const PAGE_SIZE = 20;
/** Pages read for one screen when the type filter hides most rows. */
export const MAX_SCAN_PAGES = 10;
/** Page size while scanning for a request type (the API's maximum). */
export const SCAN_PAGE_SIZE = 100;

const STATUSES: readonly string[] = ['pending', 'approved', 'rejected', 'cancelled'];

/** Filters from the query part of `#/queue?...`; no status means pending, `any` every status. */
export function filtersFromQuery(query: URLSearchParams): QueueFilters {
  const status = query.get('status') ?? 'pending';
  const text = (name: string) => query.get(name)?.trim() || undefined;
  return {
    status: STATUSES.includes(status) ? (status as RequestStatus) : undefined,
    requestType: text('type'),
    userId: text('user'),
  };
}

/** The query part of `#/queue?...` for filters. */
export function queryFromFilters(filters: QueueFilters): string {
  const query = new URLSearchParams({ status: filters.status ?? 'any' });
  if (filters.requestType) query.set('type', filters.requestType);
  if (filters.userId) query.set('user', filters.userId);
  return query.toString();
}

/** The API path of one page of the list. */
export function listPath(filters: QueueFilters, limit: number, cursor: string | null): string {
  const query = new URLSearchParams();
  if (filters.status) query.set('status', filters.status);
  if (filters.userId) query.set('userId', filters.userId);
  query.set('limit', String(limit));
  if (cursor) query.set('cursor', cursor);
  return `staff-approval-requests?${query.toString()}`;
}

export interface Screenful {
  items: ApprovalRequest[];
  /** Where the next screen starts; null at the end of the list. */
  cursor: string | null;
  /** Requests read, before the type filter. */
  scanned: number;
}

/**
 * One screen of the queue, oldest first, from `cursor` on. Without a type
 * filter that is one page of PAGE_SIZE. With one, pages of SCAN_PAGE_SIZE are
 * read and filtered here until PAGE_SIZE requests match, the list ends, or
 * MAX_SCAN_PAGES were read; the cursor then continues after the last page read.
 */
export async function readScreen(
  fetchPage: (path: string) => Promise<RequestPage>,
  filters: QueueFilters,
  cursor: string | null,
): Promise<Screenful> {
  if (!filters.requestType) {
    const page = await fetchPage(listPath(filters, PAGE_SIZE, cursor));
    return { items: page.items, cursor: page.nextCursor, scanned: page.items.length };
  }
  const items: ApprovalRequest[] = [];
  let scanned = 0;
  let next = cursor;
  for (let pages = 0; pages < MAX_SCAN_PAGES; pages++) {
    const page = await fetchPage(listPath(filters, SCAN_PAGE_SIZE, next));
    scanned += page.items.length;
    items.push(...page.items.filter((r) => r.requestType === filters.requestType));
    next = page.nextCursor;
    if (!next || items.length >= PAGE_SIZE) break;
  }
  return { items, cursor: next, scanned };
}
