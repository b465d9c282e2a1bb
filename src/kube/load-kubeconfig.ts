import { createHash } from 'node:crypto';
import type http from 'node:http';
import { KubeConfig, type Cluster } from '@kubernetes/client-node';
import { addSecretValues } from '../observability/log.js';
import { KubeError } from './errors.js';

export interface KubeConfigSource {
  /** A kubeconfig file; absent: the pod's service account (in-cluster). */
  path?: string;
  /** Context to use; absent: the file's current context. */
  context?: string;
}

/**
 * Loads one region's credentials with its context selected. Errors name the file and the
 * problem, never the file's content (it holds tokens).
 */
export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const kubeconfig = new KubeConfig();
  const origin = source.path ? `kubeconfig ${source.path}` : 'in-cluster config';
  try {
    if (source.path) kubeconfig.loadFromFile(source.path);
    else kubeconfig.loadFromCluster();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why = typeof code === 'string' ? `cannot be read (${code})` : 'is not a valid kubeconfig';
    throw new KubeError('kubeconfig', `${origin} ${why}`);
  }
  // Whatever the file holds, a log line never shows it.
  addSecretValues(kubeconfig.getUsers().flatMap((user) => [user.token, user.password, user.keyData].filter((v): v is string => typeof v === 'string')));
  if (source.context !== undefined) {
    const names = kubeconfig.getContexts().map((context) => context.name);
    if (!names.includes(source.context)) {
      const known = names.length > 0 ? names.map((name) => `"${name}"`).join(', ') : 'none';
      throw new KubeError('kubeconfig', `${origin} has no context "${source.context}" (contexts: ${known})`);
    }
    kubeconfig.setCurrentContext(source.context);
  }
  const cluster = kubeconfig.getCurrentCluster();
  if (!cluster) throw new KubeError('kubeconfig', `${origin} has no current context with a cluster; name one with a context`);
  if (!source.path && cluster.server.includes('undefined')) {
    throw new KubeError('kubeconfig', 'not running inside a Kubernetes cluster (no service host in the environment): give a kubeconfig path');
  }
  keepConnectionsWarm(kubeconfig);
  return kubeconfig;
}

type AgentFactory = (cluster: Cluster | null, options: Record<string, unknown>) => http.Agent;
const maxAgents = 16;

/**
 * client-node makes a new agent for every API call (KubeConfig.createAgent), so every call opened
 * a new TCP and TLS connection: most of an observation's time on a nearby API server. Here the
 * kubeconfig hands out one keep-alive agent per distinct setting (server, CA, client certificate,
 * TLS options), so calls to a region reuse warm connections. Proxies keep client-node's own agents.
 */
function keepConnectionsWarm(kubeconfig: KubeConfig): void {
  const target = kubeconfig as unknown as { createAgent: AgentFactory };
  const create = target.createAgent.bind(kubeconfig);
  const agents = new Map<string, http.Agent>();
  target.createAgent = (cluster, options) => {
    if (!cluster || cluster.proxyUrl) return create(cluster, options);
    const key = createHash('sha256').update(JSON.stringify([cluster.server, options])).digest('base64url');
    let agent = agents.get(key);
    if (!agent) {
      // Settings that change on every call (none known) would grow the map: those get client-node's own agents.
      if (agents.size >= maxAgents) return create(cluster, options);
      agent = create(cluster, { ...options, keepAlive: true });
      agents.set(key, agent);
    }
    return agent;
  };
}
