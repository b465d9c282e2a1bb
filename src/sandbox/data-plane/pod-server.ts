import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppContract } from './app-contract.js';

export interface PodServerIdentity {
  pod: string;
  region: string;
  contract: AppContract;
}

const notFound = '404 page not found\n';

/**
 * The workload of every sandbox pod: a real HTTP server on the pod's own loopback address that
 * answers the paths its app contract serves with 200 and `{version, pod, region, path}` (plus the
 * version header where the app sends one), and every other path with 404.
 */
export class PodServer {
  private readonly server: http.Server;
  private closing: Promise<void> | undefined;

  constructor(identity: PodServerIdentity) {
    const { contract } = identity;
    const prefix = `{"version":${JSON.stringify(contract.version)},"pod":${JSON.stringify(identity.pod)},"region":${JSON.stringify(identity.region)},"path":`;
    // Answers that may fail (served, not the health path), counted so the errors are spread evenly.
    let answered = 0;
    const failsNext = (path: string): boolean => {
      if (contract.errorRate <= 0 || path === contract.healthPath) return false;
      answered += 1;
      return Math.floor(answered * contract.errorRate) > Math.floor((answered - 1) * contract.errorRate);
    };
    this.server = http.createServer((req, res) => {
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const path = query === -1 ? url : url.slice(0, query);
      if (!contract.serves(path)) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(notFound), 'x-content-type-options': 'nosniff' });
        res.end(notFound);
      } else if (failsNext(path)) {
        const body = `${prefix}${JSON.stringify(url)},"error":"injected by sandbox.cutover.dev/error-rate"}`;
        const header = contract.versionHeaderFor(path);
        res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(header ? { [header[0]]: header[1] } : {}) });
        res.end(body);
      } else {
        const body = `${prefix}${JSON.stringify(url)}}`;
        const header = contract.versionHeaderFor(path);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(header ? { [header[0]]: header[1] } : {}) });
        res.end(body);
      }
      // Drain any request body so the keep-alive connection stays usable.
      req.resume();
    });
    // Longer than the ingress proxy's idle timeout, so the proxy always closes idle upstream
    // connections first and never reuses one the pod is closing.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
  }

  /** Bind to address:port; rejects with the listen error (EADDRINUSE when taken). */
  listen(address: string, port: number): Promise<AddressInfo> {
    // The kubelet retries a taken address on the same server: leave no listener behind either way.
    return new Promise((resolve, reject) => {
      const onListening = (): void => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      };
      const onError = (error: Error): void => {
        this.server.off('listening', onListening);
        reject(error);
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen({ host: address, port, exclusive: true });
    });
  }

  /** Stop accepting, finish in-flight requests briefly, then cut every remaining connection. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      const cut = setTimeout(() => this.server.closeAllConnections(), 100);
      this.server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      this.server.closeIdleConnections();
    });
    return this.closing;
  }
}
