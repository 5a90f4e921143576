import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { Env } from './env';
import { ConfigError } from './errors';
import { errorForLog, logger } from './logger';

/** METRICS_NAMESPACE when unset. */
export const DEFAULT_METRICS_NAMESPACE = 'VerificationService';

/** The service's CloudWatch metrics (docs/operations.md), and Powertools' ColdStart. */
export const METRIC = {
  codeSent: 'CodeSent',
  codeDeliveryFailed: 'CodeDeliveryFailed',
  codeVerified: 'CodeVerified',
  codeRejected: 'CodeRejected',
  sendRefused: 'SendRefused',
  approvalDecided: 'ApprovalDecided',
  eventsPublished: 'EventsPublished',
  outboxOldestAgeSeconds: 'OutboxOldestAgeSeconds',
  migrationFailed: 'MigrationFailed',
  coldStart: 'ColdStart',
} as const;

/**
 * METRICS_NAMESPACE (`VerificationService`): 1 to 255 characters of CloudWatch's
 * set, not starting with `AWS/` (reserved for AWS services).
 */
export function metricsNamespace(env: Env): string {
  const raw = env.METRICS_NAMESPACE?.trim();
  if (!raw) return DEFAULT_METRICS_NAMESPACE;
  if (!/^[A-Za-z0-9.\-_/#: ]{1,255}$/.test(raw) || /^AWS\//i.test(raw)) {
    throw new ConfigError(
      'METRICS_NAMESPACE',
      `must be 1 to 255 letters, digits or . - _ / # : and space, not starting with AWS/ (got "${raw}")`,
    );
  }
  return raw;
}

export type MetricChannel = 'phone' | 'email';
export type MetricDecision = 'approved' | 'rejected' | 'cancelled';

/** What the verification service records (dimension Channel, or Reason for a refused send). */
export interface VerificationMetrics {
  codeSent(channel: MetricChannel): void;
  codeDeliveryFailed(channel: MetricChannel): void;
  codeVerified(channel: MetricChannel): void;
  /** A wrong code, the one that uses up the last attempt included. */
  codeRejected(channel: MetricChannel): void;
  /** A send refused before delivery; `reason` is the answer's error code (`rate_limited`, ...). */
  sendRefused(reason: string): void;
}

/** What the staff approval service records (dimension Decision). */
export interface ApprovalMetrics {
  approvalDecided(decision: MetricDecision): void;
}

/** What the event outbox publisher records (no dimension). */
export interface OutboxMetrics {
  /** Events a run (or a publish right after a commit) handed to EventBridge successfully. */
  eventsPublished(count: number): void;
  /** Age of the oldest event still unpublished after a run; 0 when none is left. */
  outboxOldestAgeSeconds(seconds: number): void;
}

/** What the migrate function records (no dimension). */
export interface MigrationMetrics {
  migrationFailed(): void;
}

export type ServiceMetrics = VerificationMetrics &
  ApprovalMetrics &
  OutboxMetrics &
  MigrationMetrics;

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

interface Datum {
  name: string;
  unit: Unit;
  value: number;
  dimensions: Record<string, string>;
}

/**
 * Records the metrics of one invocation and writes them once, at its end
 * (`flush`), in CloudWatch's embedded metric format through Powertools
 * Metrics: one JSON line on stdout per set of dimensions, since every metric
 * of an EMF line shares its dimensions (an invocation usually has one). Each
 * metric carries only its own dimension (no Powertools `service` dimension),
 * so an alarm names exactly what docs/operations.md lists. The first flush of
 * a container adds `ColdStart` (dimension `function_name`).
 *
 * Services get it as a dependency (`deps.metrics`); tests pass their own.
 */
export class MetricsRecorder implements ServiceMetrics {
  private readonly powertools: Metrics;
  private recorded: Datum[] = [];
  private coldStart = true;

  constructor(readonly namespace: string) {
    this.powertools = new Metrics({ namespace });
    // Powertools adds `service` to every metric by default: the alarms would
    // then need it, and the documented dimensions would not be the whole story.
    this.powertools.clearDefaultDimensions();
  }

  codeSent(channel: MetricChannel): void {
    this.count(METRIC.codeSent, { Channel: channel });
  }

  codeDeliveryFailed(channel: MetricChannel): void {
    this.count(METRIC.codeDeliveryFailed, { Channel: channel });
  }

  codeVerified(channel: MetricChannel): void {
    this.count(METRIC.codeVerified, { Channel: channel });
  }

  codeRejected(channel: MetricChannel): void {
    this.count(METRIC.codeRejected, { Channel: channel });
  }

  sendRefused(reason: string): void {
    this.count(METRIC.sendRefused, { Reason: reason });
  }

  approvalDecided(decision: MetricDecision): void {
    this.count(METRIC.approvalDecided, { Decision: decision });
  }

  eventsPublished(count: number): void {
    this.add(METRIC.eventsPublished, MetricUnit.Count, count, {});
  }

  outboxOldestAgeSeconds(seconds: number): void {
    this.add(METRIC.outboxOldestAgeSeconds, MetricUnit.Seconds, seconds, {});
  }

  migrationFailed(): void {
    this.count(METRIC.migrationFailed, {});
  }

  /**
   * Writes what was recorded since the last flush, and forgets it. Never
   * throws: a metric must not turn an answer into an error.
   */
  flush(context?: Pick<Context, 'functionName'>): void {
    if (this.coldStart) {
      this.coldStart = false;
      const functionName = context?.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME;
      this.count(METRIC.coldStart, functionName ? { function_name: functionName } : {});
    }
    const groups = new Map<string, Datum[]>();
    for (const datum of this.recorded) {
      const key = JSON.stringify(Object.entries(datum.dimensions).sort());
      groups.set(key, [...(groups.get(key) ?? []), datum]);
    }
    this.recorded = [];
    for (const data of groups.values()) {
      try {
        // A dimension set of its own: `{}` gives `"Dimensions": [[]]`, a metric without dimensions.
        this.powertools.addDimensions((data[0] as Datum).dimensions);
        for (const d of data) this.powertools.addMetric(d.name, d.unit, d.value);
        this.powertools.publishStoredMetrics();
      } catch (err) {
        this.powertools.clearMetrics();
        this.powertools.clearDimensions();
        logger.warn('metrics not written', { error: errorForLog(err) });
      }
    }
  }

  private count(name: string, dimensions: Record<string, string>): void {
    this.add(name, MetricUnit.Count, 1, dimensions);
  }

  /** Ignores a value that is not a finite number of at least 0 (a caller's bug must not fail a request). */
  private add(name: string, unit: Unit, value: number, dimensions: Record<string, string>) {
    if (!Number.isFinite(value) || value < 0) return;
    this.recorded.push({ name, unit, value, dimensions });
  }
}

let container: MetricsRecorder | undefined;

/**
 * The container's recorder (METRICS_NAMESPACE), created on first use. The
 * HTTP layer (`handleHttp`) and `withMetrics` flush it at the end of every
 * invocation; handler modules hand it to their services.
 */
export function containerMetrics(env: Env = process.env): MetricsRecorder {
  container ??= new MetricsRecorder(metricsNamespace(env));
  return container;
}

/**
 * Wraps a Lambda handler that is not an HTTP route (a scheduled job, the
 * migrate function): the container's metrics are written once at the end of
 * every invocation, whether it succeeded or threw.
 */
export function withMetrics<E, R>(
  handler: (event: E, context: Context | undefined) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    try {
      return await handler(event, context);
    } finally {
      try {
        containerMetrics().flush(context);
      } catch (err) {
        logger.warn('metrics not written', { error: errorForLog(err) });
      }
    }
  };
}
