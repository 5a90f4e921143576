import type { ApprovalRequest } from '../types';
import { sentence } from './errors';
import { timeText, userText } from './format';

/** Who decided a request that is no longer pending, in words. */
export function decidedText(request: ApprovalRequest): string {
  switch (request.status) {
    case 'approved':
    case 'rejected': {
      const when = request.reviewedAt ? ` on ${timeText(request.reviewedAt)}` : '';
      const note = request.reviewNote ? ` Their note: ${sentence(request.reviewNote)}` : '';
      return `It was ${request.status} by ${userText(request.reviewedBy)}${when}.${note}`;
    }
    case 'cancelled':
      return `It was cancelled by its requester (${userText(request.requestedBy)}) on ${timeText(request.updatedAt)}.`;
    case 'pending':
      return 'It is still pending.';
  }
}
