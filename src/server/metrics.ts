/**
 * Prometheus metrics in the text exposition format (0.0.4): request counts and latency
 * histograms by route and status, plus gauges the caller samples at scrape time (jobs by
 * status, next fire times). Small and dependency-free: the format is a few lines of text.
 */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = Record<string, string>;

const labelText = (labels: Labels) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

export interface Gauge {
  name: string;
  help: string;
  samples: { labels: Labels; value: number }[];
}

export class Metrics {
  private requests = new Map<string, { labels: Labels; count: number }>();
  private durations = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>();

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    const key = JSON.stringify(labels);
    const counter = this.requests.get(key) ?? { labels, count: 0 };
    counter.count += 1;
    this.requests.set(key, counter);
    const hLabels = { method, route };
    const hKey = JSON.stringify(hLabels);
    const histogram = this.durations.get(hKey) ?? { labels: hLabels, buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) histogram.buckets[i]! += 1;
    });
    histogram.sum += seconds;
    histogram.count += 1;
    this.durations.set(hKey, histogram);
  }

  render(gauges: Gauge[]): string {
    const lines: string[] = [];
    lines.push('# HELP cdp_http_requests_total HTTP requests answered, by route and status.', '# TYPE cdp_http_requests_total counter');
    for (const { labels, count } of this.requests.values()) lines.push(`cdp_http_requests_total${labelText(labels)} ${count}`);
    lines.push('# HELP cdp_http_request_duration_seconds Time to answer, by route.', '# TYPE cdp_http_request_duration_seconds histogram');
    for (const h of this.durations.values()) {
      BUCKETS.forEach((le, i) => lines.push(`cdp_http_request_duration_seconds_bucket${labelText({ ...h.labels, le: String(le) })} ${h.buckets[i]}`));
      lines.push(`cdp_http_request_duration_seconds_bucket${labelText({ ...h.labels, le: '+Inf' })} ${h.count}`);
      lines.push(`cdp_http_request_duration_seconds_sum${labelText(h.labels)} ${h.sum}`);
      lines.push(`cdp_http_request_duration_seconds_count${labelText(h.labels)} ${h.count}`);
    }
    for (const gauge of gauges) {
      lines.push(`# HELP ${gauge.name} ${gauge.help}`, `# TYPE ${gauge.name} gauge`);
      for (const s of gauge.samples) lines.push(`${gauge.name}${labelText(s.labels)} ${s.value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
