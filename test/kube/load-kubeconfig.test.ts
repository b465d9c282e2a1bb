import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
  - name: eu
    cluster: { server: 'https://127.0.0.1:6443' }
  - name: us
    cluster: { server: 'https://127.0.0.2:6443' }
users:
  - name: bot
    user: { token: very-secret-token }
contexts:
  - name: eu-west
    context: { cluster: eu, user: bot }
  - name: us-east
    context: { cluster: us, user: bot }
current-context: eu-west
`;

describe('loadKubeConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cutover-kubeconfig-'));
    await writeFile(join(dir, 'config'), kubeconfig);
    await writeFile(join(dir, 'broken'), 'users: [{ token: very-secret-token\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('selects the context it is given', () => {
    expect(loadKubeConfig({ path: join(dir, 'config'), context: 'us-east' }).getCurrentCluster()?.server).toBe('https://127.0.0.2:6443');
    expect(loadKubeConfig({ path: join(dir, 'config') }).getCurrentContext()).toBe('eu-west');
  });

  it('names the contexts that exist when the context is unknown', () => {
    expect(() => loadKubeConfig({ path: join(dir, 'config'), context: 'ap-south' })).toThrow(`kubeconfig ${join(dir, 'config')} has no context "ap-south" (contexts: "eu-west", "us-east")`);
  });

  it('says which file cannot be read or parsed, without its content', () => {
    expect(() => loadKubeConfig({ path: join(dir, 'missing') })).toThrow(/cannot be read \(ENOENT\)/);
    let message = '';
    try {
      loadKubeConfig({ path: join(dir, 'broken') });
    } catch (error) {
      message = (error as Error).message;
      expect(error).toMatchObject({ code: 'kubeconfig' });
    }
    expect(message).toBe(`kubeconfig ${join(dir, 'broken')} is not a valid kubeconfig`);
  });
});
