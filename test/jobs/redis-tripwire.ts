import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy between one worker process and Redis that watches the commands the worker sends.
 * Every step boundary of a job is a Redis command (the progress event, the saved cursor, the
 * report-once marker), so a tripwire on that command stops the worker exactly there: no timing
 * guesses, and the same kill point on every run.
 */
export interface Tripwire {
  /** Matched against the raw bytes of the worker's commands (e.g. a JSON fragment of the cursor). */
  match: string;
  /**
   * - kill-before: SIGKILL the worker; the command never reaches Redis.
   * - kill-after-reply: Redis runs the command, the worker is killed before it sees the reply.
   * - kill-later: the worker goes on as usual and is killed `delayMs` later (e.g. during a bake).
   * - hold: keep the command (and the worker waiting for it) while `whileHeld` runs, then go on.
   */
  action: 'kill-before' | 'kill-after-reply' | 'kill-later' | 'hold';
  delayMs?: number;
  whileHeld?: () => Promise<void>;
}

export interface Trip {
  match: string;
  action: Tripwire['action'];
  pid: number | undefined;
}

/** Tripwires shared by every worker's proxy: each fires once, in whichever worker hits it first. */
export class Tripwires {
  private armed: Tripwire[] = [];
  readonly trips: Trip[] = [];
  private waiters: (() => void)[] = [];

  arm(...wires: Tripwire[]): void {
    this.armed.push(...wires);
  }

  disarm(): void {
    this.armed = [];
  }

  /** The first armed wire whose text ends inside `fresh` (bytes not yet forwarded); it is removed. */
  take(window: Buffer, freshFrom: number): Tripwire | undefined {
    for (const [index, wire] of this.armed.entries()) {
      const start = Math.max(0, freshFrom - Buffer.byteLength(wire.match) + 1);
      if (window.indexOf(wire.match, start) >= 0) {
        this.armed.splice(index, 1);
        return wire;
      }
    }
    return undefined;
  }

  record(trip: Trip): void {
    this.trips.push(trip);
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves at the next kill (or at once if `count` kills already happened). */
  async killed(count: number, timeoutMs: number): Promise<Trip> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const kills = this.trips.filter((t) => t.action !== 'hold');
      if (kills.length >= count) return kills[count - 1]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no tripwire fired within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

const tailBytes = 4096;

/** One proxy per worker process, so that a trip kills the worker that sent the command. */
export class RedisTripwireProxy {
  /** The worker behind this proxy (set once it is spawned). */
  pid: number | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly wires: Tripwires,
  ) {}

  static async start(target: URL, wires: Tripwires): Promise<RedisTripwireProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no proxy address');
    const proxy = new RedisTripwireProxy(server, `redis://127.0.0.1:${address.port}`, wires);
    server.on('connection', (client) => proxy.pipe(client, target));
    return proxy;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private kill(): void {
    if (this.pid !== undefined) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  private pipe(client: Socket, target: URL): void {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    let tail = Buffer.alloc(0);
    let chain = Promise.resolve();
    // After a kill-after-reply trip: replies are swallowed until the worker is dead.
    let onReply: (() => void) | null = null;
    let dead = false;

    upstream.on('data', (chunk: Buffer) => {
      if (dead) return;
      if (onReply) {
        onReply();
        return;
      }
      client.write(chunk);
    });

    const handle = async (chunk: Buffer): Promise<void> => {
      if (dead) return;
      const window = Buffer.concat([tail, chunk]);
      tail = window.subarray(Math.max(0, window.length - tailBytes));
      const wire = this.wires.take(window, window.length - chunk.length);
      if (!wire) {
        upstream.write(chunk);
        return;
      }
      const trip: Trip = { match: wire.match, action: wire.action, pid: this.pid };
      switch (wire.action) {
        case 'hold':
          await wire.whileHeld?.();
          this.wires.record(trip);
          upstream.write(chunk);
          return;
        case 'kill-before':
          dead = true;
          this.kill();
          this.wires.record(trip);
          client.destroy();
          return;
        case 'kill-later':
          upstream.write(chunk);
          setTimeout(() => {
            this.kill();
            this.wires.record(trip);
          }, wire.delayMs ?? 0);
          return;
        case 'kill-after-reply': {
          const replied = new Promise<void>((resolve) => (onReply = resolve));
          upstream.write(chunk);
          await replied;
          dead = true;
          this.kill();
          this.wires.record(trip);
          client.destroy();
          return;
        }
      }
    };
    client.on('data', (chunk: Buffer) => {
      chain = chain.then(() => handle(chunk));
    });
  }
}
