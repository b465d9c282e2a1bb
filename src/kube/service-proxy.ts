import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ProxySample } from './cluster.js';

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 8 }), https: new https.Agent({ keepAlive: true, maxSockets: 8 }) };

/**
 * One GET through the API server's service proxy with the kubeconfig's credentials (bearer token,
 * client certificate, CA) applied as client-node applies them; never throws. A non-2xx answer is
 * the pod's (or the proxy's: 503 with no ready endpoint) status.
 */
export async function proxyGet(url: URL, kubeconfig: KubeConfig, options: { versionHeader: string; timeoutMs: number }): Promise<ProxySample> {
  const isHttps = url.protocol === 'https:';
  const request: https.RequestOptions = { method: 'GET', timeout: options.timeoutMs, agent: isHttps ? agents.https : agents.http, headers: { accept: '*/*' } };
  try {
    await kubeconfig.applyToHTTPSOptions(request);
  } catch (error) {
    return { status: 0, version: null, error: `credentials: ${error instanceof Error ? error.message : String(error)}` };
  }
  // applyToHTTPSOptions sets TLS material on the options; a shared agent would ignore it, so a
  // cluster with its own CA or client certificate gets an agent of its own.
  if (isHttps && (request.ca || request.cert || request.key || request.rejectUnauthorized === false)) request.agent = agentFor(request);
  return new Promise((resolve) => {
    const req = (isHttps ? https : http).request(url, request, (response) => {
      response.resume();
      response.on('end', () => {
        const header = response.headers[options.versionHeader.toLowerCase()];
        const status = response.statusCode ?? 0;
        resolve({ status, version: typeof header === 'string' ? header : null, error: status >= 200 && status < 300 ? null : `HTTP ${status} through the service proxy` });
      });
      response.on('error', (error) => resolve({ status: 0, version: null, error: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer through the service proxy within ${options.timeoutMs} ms`)));
    req.on('error', (error) => resolve({ status: 0, version: null, error: error.message }));
    req.end();
  });
}

const tlsAgents = new Map<string, https.Agent>();

function agentFor(options: https.RequestOptions): https.Agent {
  const key = JSON.stringify([options.ca, options.cert, options.key, options.rejectUnauthorized]);
  let agent = tlsAgents.get(key);
  if (!agent) {
    agent = new https.Agent({ keepAlive: true, maxSockets: 8, ca: options.ca, cert: options.cert, key: options.key, rejectUnauthorized: options.rejectUnauthorized ?? true });
    tlsAgents.set(key, agent);
  }
  return agent;
}
