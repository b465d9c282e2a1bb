import { describe, expect, it } from 'vitest';
import { defaultLabelKeys } from '../../src/core/names.js';
import { isAlreadyLive, liveRoute, liveService, selectorSwitchPatch, versionDeployment, versionRoute, versionService } from '../../src/kube/manifests.js';
import { endpointsConverged } from '../../src/kube/observed.js';
import { conformanceApp } from './conformance-cases.js';

const name = defaultLabelKeys.name;
const version = defaultLabelKeys.version;
const managed = { 'app.kubernetes.io/managed-by': 'cutover' };

describe('manifests', () => {
  const shop = conformanceApp('shop', {
    image: 'registry.example.com/shop:{version}',
    resources: { requests: { cpu: '100m' } },
    podAnnotations: { 'sandbox.cutover.dev/ready-after-ms': '100' },
    hosts: ['shop.example.com'],
    ingressClassName: 'nginx',
  });

  it('names a version Deployment after the version, labels it and runs the version image', () => {
    const deployment = versionDeployment(shop, 'v1.2', 'production', 'alice');
    expect(deployment.metadata).toEqual({ name: 'shop-v1-2', namespace: 'production', labels: { [name]: 'shop', [version]: 'v1.2', ...managed }, annotations: { 'cutover.dev/installed-by': 'alice' } });
    expect(deployment.spec?.selector.matchLabels).toEqual({ [name]: 'shop', [version]: 'v1.2' });
    expect(deployment.spec?.template.metadata?.annotations).toEqual({ 'sandbox.cutover.dev/ready-after-ms': '100' });
    const container = deployment.spec?.template.spec?.containers[0];
    expect(container).toMatchObject({
      image: 'registry.example.com/shop:v1.2',
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      env: [{ name: 'GREETING', value: 'hello' }, { name: 'APP_VERSION', value: 'v1.2' }],
      resources: { requests: { cpu: '100m' } },
      readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
    });
    expect(deployment.spec?.template.spec?.terminationGracePeriodSeconds).toBe(1);
  });

  it('routes /<version>/ to the version Service, through an Ingress or an HTTPRoute', () => {
    expect(versionService(shop, 'v2', 'production').spec).toEqual({ selector: { [name]: 'shop', [version]: 'v2' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] });
    expect(versionRoute(shop, 'v2', 'production')).toMatchObject({
      kind: 'Ingress',
      metadata: { name: 'shop-v2' },
      spec: { ingressClassName: 'nginx', rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/v2/', pathType: 'Prefix', backend: { service: { name: 'shop-v2', port: { number: 80 } } } }] } }] },
    });
    const gateway = { ...shop, routing: 'gateway' as const, gateway: { name: 'public', namespace: 'gateways' } };
    expect(versionRoute(gateway, 'v2', 'production')).toMatchObject({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      spec: { parentRefs: [{ name: 'public', namespace: 'gateways' }], hostnames: ['shop.example.com'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v2/' } }], backendRefs: [{ name: 'shop-v2', port: 80 }] }] },
    });
    expect(liveRoute(gateway, 'production')).toMatchObject({ metadata: { name: 'shop', labels: { [name]: 'shop', ...managed } }, spec: { rules: [{ matches: [{ path: { value: '/' } }], backendRefs: [{ name: 'shop' }] }] } });
  });

  it('never lets a live Service without a version select every version', () => {
    expect(liveService(shop, null, 'production').spec?.selector).toEqual({ [name]: 'shop', [version]: '' });
    expect(liveService(shop, 'v1', 'production').spec?.selector).toEqual({ [name]: 'shop', [version]: 'v1' });
  });

  it('switches with one merge patch carrying the resourceVersion that was read', () => {
    const at = new Date('2026-01-02T03:04:05.000Z');
    expect(selectorSwitchPatch(defaultLabelKeys, { to: 'v2', rollbackTarget: 'v1', by: 'bob', at, fence: 9 }, '42')).toEqual({
      metadata: {
        resourceVersion: '42',
        annotations: {
          'cutover.dev/live-version': 'v2',
          'cutover.dev/previous-version': 'v1',
          'cutover.dev/promoted-at': '2026-01-02T03:04:05.000Z',
          'cutover.dev/promoted-by': 'bob',
          'cutover.dev/fence': '9',
        },
      },
      spec: { selector: { [version]: 'v2' } },
    });
  });

  it.each([
    [{ [name]: 'shop', [version]: 'v2' }, 'v2', true],
    [{ [name]: 'shop', [version]: 'v1' }, 'v2', false],
    [{ [name]: 'shop' }, 'v2', false],
    [undefined, 'v2', false],
  ])('isAlreadyLive(%o, %s) is %s', (selector, target, expected) => {
    expect(isAlreadyLive(selector, defaultLabelKeys, target)).toBe(expected);
  });

  it.each([
    [[], false],
    [[{ version: 'v2', ready: true, terminating: false }], true],
    [[{ version: 'v2', ready: true, terminating: false }, { version: 'v1', ready: false, terminating: true }], false],
    [[{ version: 'v2', ready: false, terminating: false }], false],
    [[{ version: null, ready: true, terminating: false }], false],
  ])('endpoints %o converged on v2: %s', (views, expected) => {
    expect(endpointsConverged(views.map((v, i) => ({ pod: `p${i}`, ip: `10.0.0.${i}`, ...v })), 'v2')).toBe(expected);
  });
});
