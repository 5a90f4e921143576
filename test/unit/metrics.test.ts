import { ConfigError } from '../../lib/errors';
import {
  DEFAULT_METRICS_NAMESPACE,
  METRIC,
  MetricsRecorder,
  metricsNamespace,
  withMetrics,
  containerMetrics,
} from '../../lib/metrics';
import { captureEmf, type Emf } from '../helpers/emf';

/** The EMF lines written to stdout while `fn` runs. */
const emfOf = async (fn: () => unknown): Promise<Emf[]> => (await captureEmf(fn)).emf;

/** A line without its timestamp: what CloudWatch extracts from it. */
const shape = (emf: Emf) => {
  const { _aws, ...values } = emf;
  const [directive] = _aws.CloudWatchMetrics;
  return { ...directive, values };
};

function recorderAfterColdStart(namespace = 'Test'): Promise<MetricsRecorder> {
  const recorder = new MetricsRecorder(namespace);
  return emfOf(() => recorder.flush()).then(() => recorder);
}

describe('METRICS_NAMESPACE', () => {
  it('defaults to VerificationService', () => {
    expect(DEFAULT_METRICS_NAMESPACE).toBe('VerificationService');
    expect(metricsNamespace({})).toBe('VerificationService');
    expect(metricsNamespace({ METRICS_NAMESPACE: ' ' })).toBe('VerificationService');
    expect(metricsNamespace({ METRICS_NAMESPACE: 'Verification/staging' })).toBe(
      'Verification/staging',
    );
  });

  it.each(['AWS/Lambda', 'bad{name}', 'x'.repeat(256)])(
    'refuses %s, naming the setting',
    (value) => {
      expect(() => metricsNamespace({ METRICS_NAMESPACE: value })).toThrow(ConfigError);
      expect(() => metricsNamespace({ METRICS_NAMESPACE: value })).toThrow(/METRICS_NAMESPACE/);
    },
  );
});

describe('MetricsRecorder', () => {
  it('writes nothing until flushed, then one line per dimension set, and forgets what it wrote', async () => {
    const recorder = await recorderAfterColdStart('Ns');
    const none = await emfOf(() => {
      recorder.codeSent('phone');
      recorder.codeSent('phone');
      recorder.codeVerified('email');
      recorder.sendRefused('country_rate_limited');
      recorder.approvalDecided('rejected');
    });
    expect(none).toEqual([]);
    const lines = await emfOf(() => recorder.flush());
    expect(lines.map(shape)).toEqual([
      {
        Namespace: 'Ns',
        Dimensions: [['Channel']],
        Metrics: [{ Name: 'CodeSent', Unit: 'Count' }],
        values: { Channel: 'phone', CodeSent: [1, 1] },
      },
      {
        Namespace: 'Ns',
        Dimensions: [['Channel']],
        Metrics: [{ Name: 'CodeVerified', Unit: 'Count' }],
        values: { Channel: 'email', CodeVerified: 1 },
      },
      {
        Namespace: 'Ns',
        Dimensions: [['Reason']],
        Metrics: [{ Name: 'SendRefused', Unit: 'Count' }],
        values: { Reason: 'country_rate_limited', SendRefused: 1 },
      },
      {
        Namespace: 'Ns',
        Dimensions: [['Decision']],
        Metrics: [{ Name: 'ApprovalDecided', Unit: 'Count' }],
        values: { Decision: 'rejected', ApprovalDecided: 1 },
      },
    ]);
    expect(await emfOf(() => recorder.flush())).toEqual([]);
  });

  it('records ColdStart at the first flush of a container only', async () => {
    const recorder = new MetricsRecorder('Ns');
    const first = await emfOf(() => recorder.flush({ functionName: 'fn-a' }));
    expect(first.map(shape)).toEqual([
      {
        Namespace: 'Ns',
        Dimensions: [['function_name']],
        Metrics: [{ Name: 'ColdStart', Unit: 'Count' }],
        values: { function_name: 'fn-a', ColdStart: 1 },
      },
    ]);
    expect(await emfOf(() => recorder.flush({ functionName: 'fn-a' }))).toEqual([]);
  });

  // The API of the event outbox publisher.
  it('eventsPublished(n) and outboxOldestAgeSeconds(s): a count and seconds, without dimensions', async () => {
    const recorder = await recorderAfterColdStart('Ns');
    const lines = await emfOf(() => {
      recorder.eventsPublished(7);
      recorder.outboxOldestAgeSeconds(312.5);
      recorder.flush();
    });
    expect(lines.map(shape)).toEqual([
      {
        Namespace: 'Ns',
        // An empty dimension set: the metric has no dimension at all.
        Dimensions: [[]],
        Metrics: [
          { Name: 'EventsPublished', Unit: 'Count' },
          { Name: 'OutboxOldestAgeSeconds', Unit: 'Seconds' },
        ],
        values: { EventsPublished: 7, OutboxOldestAgeSeconds: 312.5 },
      },
    ]);
    expect(METRIC.eventsPublished).toBe('EventsPublished');
    expect(METRIC.outboxOldestAgeSeconds).toBe('OutboxOldestAgeSeconds');
  });

  it('records 0, and ignores a negative or non-finite value rather than failing the caller', async () => {
    const recorder = await recorderAfterColdStart();
    const lines = await emfOf(() => {
      recorder.eventsPublished(0);
      recorder.eventsPublished(-1);
      recorder.outboxOldestAgeSeconds(Number.NaN);
      recorder.outboxOldestAgeSeconds(Infinity);
      recorder.flush();
    });
    expect(lines.map((l) => shape(l).values)).toEqual([{ EventsPublished: 0 }]);
  });

  it('counts a failed migration, without a dimension', async () => {
    const recorder = await recorderAfterColdStart('Ns');
    const lines = await emfOf(() => {
      recorder.migrationFailed();
      recorder.flush();
    });
    expect(lines.map(shape)).toEqual([
      {
        Namespace: 'Ns',
        Dimensions: [[]],
        Metrics: [{ Name: 'MigrationFailed', Unit: 'Count' }],
        values: { MigrationFailed: 1 },
      },
    ]);
  });
});

describe('withMetrics (handlers that are not HTTP routes)', () => {
  it('writes the container metrics once at the end of each invocation, also when it throws', async () => {
    const handler = withMetrics(async (event: { fail: boolean }) => {
      containerMetrics().eventsPublished(2);
      containerMetrics().eventsPublished(3);
      if (event.fail) throw new Error('publish failed');
      return 'ok';
    });
    const ok = await emfOf(async () => expect(await handler({ fail: false })).toBe('ok'));
    // The container's first invocation: ColdStart (no function name here, so
    // no dimension either) shares the line of the other metrics without one.
    expect(ok.map(shape)).toEqual([
      {
        Namespace: DEFAULT_METRICS_NAMESPACE,
        Dimensions: [[]],
        Metrics: [
          { Name: 'EventsPublished', Unit: 'Count' },
          { Name: 'ColdStart', Unit: 'Count' },
        ],
        values: { EventsPublished: [2, 3], ColdStart: 1 },
      },
    ]);

    const failed = await emfOf(() =>
      expect(handler({ fail: true })).rejects.toThrow('publish failed'),
    );
    expect(failed.map((l) => shape(l).values)).toEqual([{ EventsPublished: [2, 3] }]);
  });
});
