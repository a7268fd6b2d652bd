// The chart's monitoring objects as `helm template` renders them: the ServiceMonitor,
// the PrometheusRule and the Grafana dashboard. The chart's tests check them with
// promtool and against the Prometheus Operator's CRDs; the end-to-end test loads them
// into a real Prometheus that scrapes the cluster.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { helmBinary } from '../services/local.ts';

export const chartDir = resolve(import.meta.dirname, '../../charts/selfless');

export interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: Rule[];
}

export interface ServiceMonitorSpec {
  selector: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  endpoints: { port: string; path?: string; interval?: string }[];
}

export interface Dashboard {
  panels: { title: string; targets: { expr: string; legendFormat?: string }[] }[];
  templating: { list: { name: string; query: string }[] };
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: unknown;
  data?: Record<string, string>;
}

export interface Monitoring {
  /** The three objects as YAML, for an API server to check. */
  yaml: string;
  serviceMonitor: ServiceMonitorSpec;
  ruleGroups: RuleGroup[];
  dashboard: Dashboard;
}

/** Renders templates/monitoring.yaml with all three objects enabled; `args` go to helm. */
export async function renderMonitoring(
  opts: { release?: string; namespace?: string; args?: string[] } = {},
): Promise<Monitoring> {
  const { stdout } = await promisify(execFile)(
    helmBinary(),
    [
      'template',
      opts.release ?? 'selfless',
      chartDir,
      '--namespace',
      opts.namespace ?? 'selfless',
      '--show-only',
      'templates/monitoring.yaml',
      ...['serviceMonitor', 'prometheusRule', 'dashboard'].flatMap((m) => [
        '--set',
        `metrics.${m}.enabled=true`,
      ]),
      ...(opts.args ?? []),
    ],
    { maxBuffer: 16 << 20 },
  );
  const objects = parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null);
  const one = (kind: string) => {
    const found = objects.filter((o) => o.kind === kind);
    if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
    return found[0]!;
  };
  const dashboards = one('ConfigMap').data ?? {};
  return {
    yaml: stdout,
    serviceMonitor: one('ServiceMonitor').spec as ServiceMonitorSpec,
    ruleGroups: (one('PrometheusRule').spec as { groups: RuleGroup[] }).groups,
    dashboard: JSON.parse(dashboards['selfless.json'] ?? '{}') as Dashboard,
  };
}

/** Every query of the dashboard's panels, with the panel it belongs to. */
export function panelQueries(d: Dashboard): { panel: string; expr: string }[] {
  return d.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
}
