/**
 * Per-route request metrics as ingress-nginx exports them in the Prometheus text format
 * (internal/ingress/metric/collectors/socket.go): the counter `nginx_ingress_controller_requests`
 * and the histogram `nginx_ingress_controller_request_duration_seconds`, labelled by `status`,
 * `method`, `path` (the route's path as written), `namespace`, `ingress`, `service`, `canary` and,
 * with `--metrics-per-host` (the default), `host`; plus the constant labels `controller_namespace`,
 * `controller_class` and `controller_pod`. Time buckets are `--time-buckets`' default,
 * Prometheus' DefBuckets.
 */

export const timeBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export interface RequestLabels {
  status: string;
  method: string;
  path: string;
  namespace: string;
  ingress: string;
  service: string;
  canary: string;
  host: string;
}

interface Series {
  labels: string;
  count: number;
  sum: number;
  buckets: number[];
}

const requestsHelp = 'The total number of client requests';
// Sic: ingress-nginx's help text says milliseconds; the values are seconds.
const durationHelp = 'The request processing time in milliseconds';

export class IngressMetrics {
  private readonly series = new Map<string, Series>();
  private readonly constLabels: Record<string, string>;

  constructor(region: string) {
    this.constLabels = { controller_class: 'k8s.io/ingress-nginx', controller_namespace: 'ingress-nginx', controller_pod: `ingress-nginx-controller-${region}` };
  }

  /** Counts one request and its duration (from its arrival to the last byte of the answer). */
  observe(labels: RequestLabels, seconds: number): void {
    // A cheap key on the hot path; the label text is built once per series.
    const key = `${labels.status}\u0000${labels.method}\u0000${labels.path}\u0000${labels.namespace}\u0000${labels.ingress}\u0000${labels.service}\u0000${labels.canary}\u0000${labels.host}`;
    let series = this.series.get(key);
    if (!series) this.series.set(key, (series = { labels: labelText({ ...this.constLabels, ...labels }), count: 0, sum: 0, buckets: timeBuckets.map(() => 0) }));
    series.count += 1;
    series.sum += seconds;
    timeBuckets.forEach((bound, i) => {
      if (seconds <= bound) series.buckets[i]! += 1;
    });
  }

  /** The text exposition format, version 0.0.4. */
  render(): string {
    const all = [...this.series.values()].sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0));
    const lines = [`# HELP nginx_ingress_controller_requests ${requestsHelp}`, '# TYPE nginx_ingress_controller_requests counter'];
    for (const series of all) lines.push(`nginx_ingress_controller_requests{${series.labels}} ${series.count}`);
    lines.push(`# HELP nginx_ingress_controller_request_duration_seconds ${durationHelp}`, '# TYPE nginx_ingress_controller_request_duration_seconds histogram');
    for (const series of all) {
      timeBuckets.forEach((bound, i) => lines.push(`nginx_ingress_controller_request_duration_seconds_bucket{${series.labels},le="${bound}"} ${series.buckets[i]}`));
      lines.push(`nginx_ingress_controller_request_duration_seconds_bucket{${series.labels},le="+Inf"} ${series.count}`);
      lines.push(`nginx_ingress_controller_request_duration_seconds_sum{${series.labels}} ${series.sum}`);
      lines.push(`nginx_ingress_controller_request_duration_seconds_count{${series.labels}} ${series.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

/** Labels sorted by name, values escaped, as client_golang writes them. */
function labelText(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}="${labels[name]!.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
    .join(',');
}
