import net from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that counts the client's round trips by
 * reading the frontend protocol: each simple Query ('Q') and each Sync ('S', which
 * closes an extended-protocol Parse/Bind/Execute batch) makes the client wait for
 * one ReadyForQuery. It sits between any client and the server, so it counts the
 * bundles' own copies of pg and the floor's alike, without patching either.
 */
export interface RoundTripProxy {
  port: number;
  /** Round trips since the last reset (connection start-up and authentication excluded). */
  readonly roundTrips: number;
  /** New server connections opened since the last reset. */
  readonly connections: number;
  reset(): void;
  close(): Promise<void>;
}

const SSL_REQUEST_CODE = 80877103;
const GSS_REQUEST_CODE = 80877104;

export async function startRoundTripProxy(target: {
  host: string;
  port: number;
}): Promise<RoundTripProxy> {
  let roundTrips = 0;
  let connections = 0;
  const sockets = new Set<net.Socket>();

  const server = net.createServer((client) => {
    connections += 1;
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    let pending: Buffer = Buffer.alloc(0);
    let startupDone = false;

    client.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (;;) {
        if (!startupDone) {
          // Untyped start-up packets: Int32 length, Int32 code.
          if (pending.length < 8) break;
          const length = pending.readInt32BE(0);
          if (pending.length < length) break;
          const code = pending.readInt32BE(4);
          if (code !== SSL_REQUEST_CODE && code !== GSS_REQUEST_CODE) startupDone = true;
          pending = pending.subarray(length);
          continue;
        }
        if (pending.length < 5) break;
        const length = pending.readInt32BE(1);
        if (pending.length < 1 + length) break;
        const type = String.fromCharCode(pending[0] as number);
        if (type === 'Q' || type === 'S') roundTrips += 1;
        pending = pending.subarray(1 + length);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    get roundTrips() {
      return roundTrips;
    },
    get connections() {
      return connections;
    },
    reset() {
      roundTrips = 0;
      connections = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
