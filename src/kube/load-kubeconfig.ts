import { KubeConfig } from '@kubernetes/client-node';
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
  return kubeconfig;
}
