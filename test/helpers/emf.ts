/** An EMF line: what CloudWatch extracts metrics from (`_aws`), and the values beside it. */
export interface Emf {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: object[] }[];
  };
  [key: string]: unknown;
}

/**
 * Runs `fn` and returns its result with the EMF lines written to stdout
 * meanwhile (Powertools Metrics writes there, as Lambda expects); other
 * output is dropped.
 */
export async function captureEmf<T>(fn: () => Promise<T> | T): Promise<{ result: T; emf: Emf[] }> {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  let result: T;
  try {
    result = await fn();
  } finally {
    process.stdout.write = write;
  }
  const emf = out
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Emf);
  return { result, emf };
}
