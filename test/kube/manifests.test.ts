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

  it('strips the version prefix where the app asks: Gateway API URLRewrite, or ingress-nginx rewrite-target', () => {
    const stripping = { ...shop, stripVersionPrefix: true };
    const gateway = { ...stripping, routing: 'gateway' as const, gateway: { name: 'public' } };
    expect(versionRoute(gateway, 'v2', 'production')).toMatchObject({
      spec: { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v2/' } }], filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } }] }] },
    });
    expect(versionRoute(stripping, 'v2', 'production')).toMatchObject({
      metadata: { annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true', 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' } },
      spec: { rules: [{ http: { paths: [{ path: '/v2(/|$)(.*)', pathType: 'ImplementationSpecific' }] } }] },
    });
    // The live route never rewrites: "/" goes to the app as it is.
    expect(JSON.stringify(liveRoute(stripping, 'production'))).not.toContain('rewrite');
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

  const ep = (version: string | null, ready: boolean, extra: { serving?: boolean; terminating?: boolean } = {}) => ({ version, ready, serving: extra.serving ?? ready, terminating: extra.terminating ?? false });
  it.each([
    ['no endpoint', [], 1, false],
    ['one ready target pod', [ep('v2', true)], 1, true],
    ['an old pod terminating and no longer serving', [ep('v2', true), ep('v1', false, { terminating: true })], 1, true],
    ['an old pod terminating but still serving', [ep('v2', true), ep('v1', false, { terminating: true, serving: true })], 1, false],
    ['an old pod still ready', [ep('v2', true), ep('v1', true)], 1, false],
    ['the target not ready yet', [ep('v2', false)], 1, false],
    ['1 of 2 target pods unready (reported, not waited for)', [ep('v2', true), ep('v2', false)], 1, true],
    ['1 of 2 target pods unready with minReadyReplicas 2', [ep('v2', true), ep('v2', false)], 2, false],
    ['a ready pod of no known version', [ep(null, true)], 1, false],
  ] as const)('endpoints: %s → converged on v2: %s', (_name, views, minReady, expected) => {
    expect(endpointsConverged(views.map((v, i) => ({ pod: `p${i}`, ip: `10.0.0.${i}`, ...v })), 'v2', minReady)).toBe(expected);
  });
});
