import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * Socket Mode as Slack runs it (docs.slack.dev/apis/events-api/using-socket-mode): the app calls
 * `apps.connections.open` with its app-level token and gets a single-use `wss://…/link/?ticket=…`
 * URL; on connect Slack sends `hello`, then envelopes
 * `{ envelope_id, type: 'slash_commands' | 'events_api' | 'interactive', payload, accepts_response_payload, retry_attempt?, retry_reason? }`
 * which the app acknowledges with `{ envelope_id, payload? }`. Slack pings each connection
 * (@slack/socket-mode watches for those pings once one arrived) and answers the client's pings.
 * `disconnect` (reason `refresh_requested`, `warning`, `link_disabled`) asks the app to reconnect.
 * Built on `ws`, the WebSocket server @slack/socket-mode's own tests run against.
 */

export type EnvelopeType = 'slash_commands' | 'events_api' | 'interactive';

export interface DeliverOptions {
  /** Which connection: the next one in turn (as Slack spreads envelopes), or every open one at once. */
  to?: 'next' | 'all';
  retryAttempt?: number;
  retryReason?: string;
  /** Slack waits this long for an ack before it counts the delivery as failed; default 3000 ms. */
  ackTimeoutMs?: number;
}

export interface EnvelopeResult {
  envelopeId: string;
  connection: number;
  acked: boolean;
  /** Time until the ack, or until Slack gave up waiting. */
  ackMs: number;
  /** The ack's payload (a slash command's immediate answer), if any. */
  payload?: unknown;
}

export interface RecordedEnvelope extends EnvelopeResult {
  type: EnvelopeType;
  retryAttempt: number;
  at: number;
}

interface Connection {
  id: number;
  socket: WebSocket;
  pending: Map<string, (ack: { payload?: unknown }) => void>;
  ping: NodeJS.Timeout;
}

const host = 'applink-standin-0';

export class SocketModeHub {
  private readonly server = new WebSocketServer({ noServer: true });
  private readonly tickets = new Set<string>();
  private readonly open = new Map<number, Connection>();
  private readonly recorded: RecordedEnvelope[] = [];
  private nextId = 1;
  private turn = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly appId: string,
    private readonly pingIntervalMs = 10_000,
    private readonly onChange: () => void = () => undefined,
  ) {}

  /** A fresh single-use URL for `apps.connections.open`. */
  issueUrl(baseUrl: string): string {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    return `${baseUrl.replace(/^http/, 'ws')}/link/?ticket=${ticket}&app_id=${this.appId}`;
  }

  /** Takes a WebSocket upgrade for `/link/`; false when the request is not one (the caller answers it). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://standin');
    if (url.pathname !== '/link/' && url.pathname !== '/link') return false;
    const ticket = url.searchParams.get('ticket') ?? '';
    if (!this.tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return true;
    }
    this.server.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    return true;
  }

  /** Open connections, oldest first. */
  connections(): number[] {
    return [...this.open.keys()];
  }

  /** Every envelope delivered so far, oldest first. */
  envelopes(): RecordedEnvelope[] {
    return this.recorded.map((e) => ({ ...e }));
  }

  /** Resolves once at least `count` connections are open. */
  async waitForConnections(count: number, timeoutMs = 10_000): Promise<void> {
    if (this.open.size >= count) return;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.open.size < count) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`Socket Mode: ${this.open.size} of ${count} connections open after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Sends an envelope and waits for its ack (or Slack's 3 s patience to run out). */
  async deliver(type: EnvelopeType, payload: Record<string, unknown>, options: DeliverOptions = {}): Promise<EnvelopeResult[]> {
    const targets = this.targets(options.to ?? 'next');
    if (targets.length === 0) throw new Error('Socket Mode: the app has no open connection to deliver to');
    return Promise.all(targets.map((connection) => this.send(connection, type, payload, options)));
  }

  /** Slack asks every connection to reconnect (`disconnect`, e.g. reason `refresh_requested`). */
  requestReconnect(reason: 'refresh_requested' | 'warning' | 'link_disabled' = 'refresh_requested'): void {
    for (const connection of this.open.values()) connection.socket.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host } }));
  }

  /** Drops every connection without a word, as a network failure would. */
  dropAll(): void {
    for (const connection of this.open.values()) connection.socket.terminate();
  }

  async close(): Promise<void> {
    for (const connection of this.open.values()) connection.socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.recorded.length = 0;
  }

  private targets(to: 'next' | 'all'): Connection[] {
    const all = [...this.open.values()];
    if (to === 'all' || all.length === 0) return all;
    const pick = all[this.turn % all.length]!;
    this.turn++;
    return [pick];
  }

  private accept(socket: WebSocket): void {
    const id = this.nextId++;
    const connection: Connection = {
      id,
      socket,
      pending: new Map(),
      ping: setInterval(() => socket.ping(Buffer.from(`ping from stand-in (${Date.now()})`)), this.pingIntervalMs),
    };
    connection.ping.unref();
    this.open.set(id, connection);
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      let message: { envelope_id?: unknown; payload?: unknown };
      try {
        message = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8')) as typeof message;
      } catch {
        return;
      }
      if (typeof message.envelope_id !== 'string') return;
      const resolve = connection.pending.get(message.envelope_id);
      connection.pending.delete(message.envelope_id);
      resolve?.(message.payload !== undefined && !isEmptyObject(message.payload) ? { payload: message.payload } : {});
    });
    socket.on('close', () => {
      clearInterval(connection.ping);
      this.open.delete(id);
      this.onChange();
    });
    socket.on('error', () => undefined);
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.open.size,
        debug_info: { host, build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    for (const waiter of [...this.waiters]) waiter();
    this.onChange();
  }

  private send(connection: Connection, type: EnvelopeType, payload: Record<string, unknown>, options: DeliverOptions): Promise<EnvelopeResult> {
    const envelopeId = randomUUID();
    const started = performance.now();
    const retryAttempt = options.retryAttempt ?? 0;
    const envelope = {
      envelope_id: envelopeId,
      payload,
      type,
      // Slash commands and modal submissions may answer in the ack; block_actions may not.
      accepts_response_payload: type === 'slash_commands' || (type === 'interactive' && payload.type !== 'block_actions'),
      ...(type === 'events_api' ? { retry_attempt: retryAttempt, retry_reason: options.retryReason ?? '' } : {}),
    };
    return new Promise<EnvelopeResult>((resolve) => {
      const finish = (acked: boolean, ack: { payload?: unknown } = {}): void => {
        clearTimeout(timer);
        connection.pending.delete(envelopeId);
        const result: EnvelopeResult = { envelopeId, connection: connection.id, acked, ackMs: performance.now() - started, ...(ack.payload !== undefined ? { payload: ack.payload } : {}) };
        this.recorded.push({ ...result, type, retryAttempt, at: Date.now() });
        this.onChange();
        resolve(result);
      };
      const timer = setTimeout(() => finish(false), options.ackTimeoutMs ?? 3000);
      connection.pending.set(envelopeId, (ack) => finish(true, ack));
      connection.socket.send(JSON.stringify(envelope), (error) => {
        if (error) finish(false);
      });
    });
  }
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}
