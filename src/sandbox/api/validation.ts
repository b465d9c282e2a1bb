import type { KubeObject } from '../store.js';
import { fromLabelSelector, matchesLabels } from './label-selector.js';
import type { StatusCause } from './status.js';

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const dns1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const msg1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const msg1123Label =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const msg1123Subdomain =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const msgQualifiedName =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const msgLabelValue =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** How Go's %#v prints the offending value in "Invalid value: ..." messages. */
function goValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isObject(value) && Object.values(value).every((v) => typeof v === 'string')) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${JSON.stringify(value[k])}`);
    return `map[string]string{${entries.join(', ')}}`;
  }
  return JSON.stringify(value);
}

const invalidValue = (field: string, value: unknown, detail: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${goValue(value)}: ${detail}`,
  field,
});
const required = (field: string, detail?: string): StatusCause => ({
  reason: 'FieldValueRequired',
  message: detail ? `Required value: ${detail}` : 'Required value',
  field,
});
const notSupported = (field: string, value: unknown, supported: string[]): StatusCause => ({
  reason: 'FieldValueNotSupported',
  message: `Unsupported value: ${goValue(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
  field,
});

function checkName(kind: string, name: string): string | undefined {
  if (kind === 'Service') {
    if (name.length > 63) return 'must be no more than 63 characters';
    return dns1035.test(name) ? undefined : msg1035;
  }
  if (kind === 'Namespace') {
    if (name.length > 63) return 'must be no more than 63 characters';
    return dns1123Label.test(name) ? undefined : msg1123Label;
  }
  if (name.length > 253) return 'must be no more than 253 characters';
  return dns1123Subdomain.test(name) ? undefined : msg1123Subdomain;
}

function checkQualifiedName(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return msgQualifiedName.replace('name part must', "a qualified name must").replace(' (e.g.', " with an optional DNS subdomain prefix and '/' (e.g.");
  const [prefix, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [undefined, parts[0]!];
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !dns1123Subdomain.test(prefix))) return `prefix part ${msg1123Subdomain}`;
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  return qualifiedNamePart.test(name) ? undefined : msgQualifiedName;
}

function checkLabels(labels: unknown, field: string): StatusCause[] {
  if (!isObject(labels)) return [];
  const causes: StatusCause[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = checkQualifiedName(key);
    if (keyProblem) causes.push(invalidValue(field, key, keyProblem));
    if (typeof value !== 'string') causes.push(invalidValue(field, value, 'must be a string'));
    else if (value.length > 63) causes.push(invalidValue(field, value, 'must be no more than 63 characters'));
    else if (!labelValue.test(value)) causes.push(invalidValue(field, value, msgLabelValue));
  }
  return causes;
}

function checkAnnotations(annotations: unknown): StatusCause[] {
  if (!isObject(annotations)) return [];
  const causes: StatusCause[] = [];
  for (const key of Object.keys(annotations)) {
    const problem = checkQualifiedName(key.toLowerCase());
    if (problem) causes.push(invalidValue('metadata.annotations', key, problem));
  }
  return causes;
}

/** The causes of a 422 Invalid for this object (empty: valid). `previous` is set on update. */
export function validate(object: KubeObject, previous?: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const meta = object.metadata;
  if (!meta.name && !meta.generateName) causes.push(required('metadata.name', 'name or generateName is required'));
  else if (meta.name) {
    const problem = checkName(object.kind, meta.name);
    if (problem) causes.push(invalidValue('metadata.name', meta.name, problem));
  }
  causes.push(...checkLabels(meta.labels, 'metadata.labels'), ...checkAnnotations(meta.annotations));
  switch (object.kind) {
    case 'Deployment':
      causes.push(...validateDeployment(object, previous));
      break;
    case 'Service':
      causes.push(...validateService(object));
      break;
    case 'Pod':
      causes.push(...validatePodSpec(object.spec, 'spec'));
      break;
    case 'Ingress':
      causes.push(...validateIngress(object));
      break;
    case 'EndpointSlice':
      causes.push(...validateEndpointSlice(object));
      break;
    case 'Endpoints':
      causes.push(...validateEndpoints(object));
      break;
  }
  return causes;
}

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * ValidateNonSpecialIP of the real validation (core and discovery): endpoint addresses may not be
 * unspecified, loopback or link-local. This is why a client cannot write the sandbox's own pod
 * addresses (127.x.y.z) into an EndpointSlice; the sandbox's controllers write to the store directly.
 */
function nonSpecialIP(field: string, address: string): StatusCause[] {
  const octets = address.split('.').map(Number);
  if (!ipv4.test(address)) return /^[0-9a-fA-F:]+$/.test(address) && address.includes(':') ? [] : [invalidValue(field, address, 'must be a valid IP address')];
  const [a, b, c] = octets as [number, number, number, number];
  if (octets.every((o) => o === 0)) return [invalidValue(field, address, `may not be unspecified (${address})`)];
  if (a === 127) return [invalidValue(field, address, 'may not be in the loopback range (127.0.0.0/8, ::1/128)')];
  if (a === 169 && b === 254) return [invalidValue(field, address, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)')];
  if (a === 224 && b === 0 && c === 0) return [invalidValue(field, address, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)')];
  return [];
}

function validateEndpointSlice(slice: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const addressType = slice.addressType;
  if (addressType === undefined || addressType === '') causes.push(required('addressType'));
  else if (typeof addressType !== 'string' || !['IPv4', 'IPv6', 'FQDN'].includes(addressType)) causes.push(notSupported('addressType', addressType, ['FQDN', 'IPv4', 'IPv6']));
  const endpoints = Array.isArray(slice.endpoints) ? (slice.endpoints as unknown[]) : [];
  endpoints.forEach((endpoint, i) => {
    const addresses = isObject(endpoint) && Array.isArray(endpoint.addresses) ? (endpoint.addresses as unknown[]) : [];
    if (addresses.length === 0) causes.push(required(`endpoints[${i}].addresses`, 'must contain at least 1 address'));
    addresses.forEach((address, j) => {
      const field = `endpoints[${i}].addresses[${j}]`;
      if (addressType === 'IPv4') {
        if (typeof address !== 'string' || !ipv4.test(address)) causes.push(invalidValue(field, address, 'must be a valid IPv4 address'));
        else causes.push(...nonSpecialIP(field, address));
      }
    });
  });
  return causes;
}

function validateEndpoints(endpoints: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const subsets = Array.isArray(endpoints.subsets) ? (endpoints.subsets as unknown[]) : [];
  subsets.forEach((subset, i) => {
    for (const list of ['addresses', 'notReadyAddresses']) {
      const addresses = isObject(subset) && Array.isArray(subset[list]) ? (subset[list] as unknown[]) : [];
      addresses.forEach((address, j) => {
        const ip = isObject(address) ? address.ip : undefined;
        causes.push(...nonSpecialIP(`subsets[${i}].${list}[${j}].ip`, typeof ip === 'string' ? ip : ''));
      });
    }
  });
  return causes;
}

function validateDeployment(deployment: KubeObject, previous?: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = isObject(deployment.spec) ? deployment.spec : {};
  if (typeof spec.replicas === 'number' && spec.replicas < 0) causes.push(invalidValue('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  const template = isObject(spec.template) ? spec.template : undefined;
  const templateLabels = isObject(template?.metadata) ? template.metadata.labels : undefined;
  const selector = isObject(spec.selector) ? spec.selector : undefined;
  const requirements = fromLabelSelector(selector);
  if (!selector) causes.push(required('spec.selector'));
  else {
    causes.push(...checkLabels(selector.matchLabels, 'spec.selector.matchLabels'));
    if (requirements.length === 0) causes.push(invalidValue('spec.selector', selector, 'empty selector is invalid for deployment'));
  }
  if (!template) {
    causes.push(required('spec.template'));
    return causes;
  }
  causes.push(...checkLabels(templateLabels, 'spec.template.metadata.labels'));
  if (!selector || requirements.length === 0 || !matchesLabels(requirements, templateLabels as Record<string, string> | undefined)) {
    causes.push(invalidValue('spec.template.metadata.labels', templateLabels ?? {}, '`selector` does not match template `labels`'));
  }
  causes.push(...validatePodSpec(template.spec, 'spec.template.spec'));
  const before = isObject(previous?.spec) ? previous.spec : undefined;
  if (before && selector && JSON.stringify(before.selector) !== JSON.stringify(selector)) {
    causes.push(invalidValue('spec.selector', selector, 'field is immutable'));
  }
  return causes;
}

function validatePodSpec(spec: unknown, field: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const containers = isObject(spec) ? spec.containers : undefined;
  if (!Array.isArray(containers) || containers.length === 0) return [required(`${field}.containers`)];
  containers.forEach((container: unknown, index) => {
    const at = `${field}.containers[${index}]`;
    const c = isObject(container) ? container : {};
    if (!c.name) causes.push(required(`${at}.name`));
    else if (typeof c.name !== 'string' || !dns1123Label.test(c.name)) causes.push(invalidValue(`${at}.name`, c.name, msg1123Label));
    if (!c.image) causes.push(required(`${at}.image`));
    if (Array.isArray(c.ports)) {
      c.ports.forEach((port: unknown, p) => {
        const number = isObject(port) ? port.containerPort : undefined;
        if (typeof number !== 'number' || number < 1 || number > 65535) causes.push(invalidValue(`${at}.ports[${p}].containerPort`, number ?? 0, 'must be between 1 and 65535, inclusive'));
      });
    }
  });
  return causes;
}

function validateService(service: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = isObject(service.spec) ? service.spec : {};
  const type = (spec.type as string | undefined) ?? 'ClusterIP';
  const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
  if (!types.includes(type)) causes.push(notSupported('spec.type', type, types));
  const ports = Array.isArray(spec.ports) ? (spec.ports as unknown[]) : [];
  if (ports.length === 0 && type !== 'ExternalName' && spec.clusterIP !== 'None') causes.push(required('spec.ports'));
  const seen = new Set<string>();
  ports.forEach((raw, index) => {
    const port = isObject(raw) ? raw : {};
    const at = `spec.ports[${index}]`;
    if (ports.length > 1 && !port.name) causes.push(required(`${at}.name`));
    if (typeof port.port !== 'number' || port.port < 1 || port.port > 65535) causes.push(invalidValue(`${at}.port`, port.port ?? 0, 'must be between 1 and 65535, inclusive'));
    const protocol = (port.protocol as string | undefined) ?? 'TCP';
    if (!['SCTP', 'TCP', 'UDP'].includes(protocol)) causes.push(notSupported(`${at}.protocol`, protocol, ['SCTP', 'TCP', 'UDP']));
    const key = `${String(port.port)}/${protocol}`;
    if (seen.has(key)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify({ port: port.port, protocol })}`, field: at });
    seen.add(key);
  });
  if (spec.selector !== undefined && spec.selector !== null) {
    for (const cause of checkLabels(spec.selector, 'spec.selector')) causes.push(cause);
  }
  return causes;
}

function validateIngress(ingress: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = isObject(ingress.spec) ? ingress.spec : {};
  const rules = Array.isArray(spec.rules) ? (spec.rules as unknown[]) : [];
  if (rules.length === 0 && !spec.defaultBackend) causes.push(invalidValue('spec.rules', [], 'either `defaultBackend` or `rules` must be specified'));
  rules.forEach((rule, r) => {
    const http = isObject(rule) && isObject(rule.http) ? rule.http : undefined;
    const paths = Array.isArray(http?.paths) ? (http.paths as unknown[]) : [];
    paths.forEach((raw, p) => {
      const path = isObject(raw) ? raw : {};
      const at = `spec.rules[${r}].http.paths[${p}]`;
      const pathTypes = ['Exact', 'ImplementationSpecific', 'Prefix'];
      if (!path.pathType) causes.push(required(`${at}.pathType`, 'pathType must be specified'));
      else if (!pathTypes.includes(path.pathType as string)) causes.push(notSupported(`${at}.pathType`, path.pathType, pathTypes));
      if (typeof path.path === 'string' && !path.path.startsWith('/') && path.pathType !== 'ImplementationSpecific') causes.push(invalidValue(`${at}.path`, path.path, "must be an absolute path"));
      if (!isObject(path.backend)) causes.push(required(`${at}.backend`));
    });
  });
  return causes;
}
