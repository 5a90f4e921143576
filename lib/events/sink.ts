import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { EventSettings } from './settings';
import type { OutboxMessage } from './types';

/** Where published events go: EventBridge, or log lines without a bus. */
export interface EventSink {
  /** Which of the messages were accepted, in order. Never throws. */
  put(messages: readonly OutboxMessage[]): Promise<boolean[]>;
}

export interface SinkLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
}

/** PutEvents takes at most 10 entries per call. */
export const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * EventBridge PutEvents, 10 entries per call, in order. An entry EventBridge
 * reports failed (FailedEntryCount, ErrorCode) and every entry of a call that
 * failed as a whole count as not accepted. The SDK is loaded on first use, not
 * at cold start, and honours AWS_ENDPOINT_URL_EVENTBRIDGE / AWS_ENDPOINT_URL.
 */
export function eventBridgeSink(
  settings: EventSettings & { busName: string },
  logger: SinkLogger,
): EventSink {
  let loaded:
    | Promise<{
        client: EventBridgeClient;
        Command: typeof import('@aws-sdk/client-eventbridge').PutEventsCommand;
      }>
    | undefined;
  const load = () =>
    (loaded ??= import('@aws-sdk/client-eventbridge').then((sdk) => ({
      client: new sdk.EventBridgeClient({}),
      Command: sdk.PutEventsCommand,
    })));
  return {
    async put(messages) {
      const accepted: boolean[] = [];
      for (let i = 0; i < messages.length; i += PUT_EVENTS_MAX_ENTRIES) {
        const chunk = messages.slice(i, i + PUT_EVENTS_MAX_ENTRIES);
        const entries: PutEventsRequestEntry[] = chunk.map((m) => ({
          EventBusName: settings.busName,
          Source: settings.source,
          DetailType: m.type,
          Detail: JSON.stringify(m.detail),
          Time: new Date(m.detail.occurredAt),
        }));
        try {
          const { client, Command } = await load();
          const answer = await client.send(new Command({ Entries: entries }));
          chunk.forEach((_, k) => {
            const entry = answer.Entries?.[k];
            accepted.push(entry !== undefined && !entry.ErrorCode && entry.EventId !== undefined);
          });
          if ((answer.FailedEntryCount ?? 0) > 0) {
            logger.warn('EventBridge refused some events', {
              failed: answer.FailedEntryCount,
              errors: [...new Set(answer.Entries?.map((e) => e.ErrorCode).filter(Boolean))],
            });
          }
        } catch (err) {
          logger.warn('EventBridge PutEvents failed', {
            error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
          });
          chunk.forEach(() => accepted.push(false));
        }
      }
      return accepted;
    },
  };
}

/** Without EVENT_BUS_NAME (local use): each event is a log line. */
export function logSink(logger: SinkLogger): EventSink {
  return {
    async put(messages) {
      for (const m of messages) {
        logger.info('verification event', { detailType: m.type, detail: m.detail });
      }
      return messages.map(() => true);
    },
  };
}

export function createEventSink(settings: EventSettings, logger: SinkLogger): EventSink {
  return settings.busName === undefined
    ? logSink(logger)
    : eventBridgeSink({ ...settings, busName: settings.busName }, logger);
}
