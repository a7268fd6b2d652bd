// The chart's monitoring, checked by the tools that will read it: the alert rules pass
// `promtool check rules` and the unit tests of alerts.promtool.yaml (`promtool test
// rules`), which give every alert a case where it fires and one where it stays quiet;
// the ServiceMonitor and PrometheusRule pass the Prometheus Operator's own CRD schemas
// on a real API server (the operator itself does not run here; test/e2e/prometheus.test.ts
// scrapes the real cluster as the ServiceMonitor says).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import {
  dryRunApply,
  eventually,
  makeNamespace,
  testKubeConfig,
} from '../../test/support/kubernetes.ts';
import { panelQueries, renderMonitoring, type Monitoring } from '../../test/support/monitoring.ts';
import { testServices } from '../../test/services/index.ts';
import {
  kubectlBinary,
  prometheusOperatorCrds,
  promtoolBinary,
} from '../../test/services/local.ts';

const run = promisify(execFile);
const unitTests = join(import.meta.dirname, 'alerts.promtool.yaml');
let work: string;
let rendered: Monitoring;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'selfless-alerts-'));
  rendered = await renderMonitoring();
  // The rule file a Prometheus without the operator loads: the PrometheusRule's groups.
  writeFileSync(
    join(work, 'rules.yaml'),
    stringify({ groups: rendered.ruleGroups }, { lineWidth: 0 }),
  );
  copyFileSync(unitTests, join(work, 'alerts.promtool.yaml'));
});

after(() => rmSync(work, { recursive: true, force: true }));

/** promtool's exit code and everything it printed. */
async function promtool(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(promtoolBinary(), args, { cwd: work });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

test('the rendered alert rules pass promtool check rules', async () => {
  const alerts = rendered.ruleGroups.flatMap((g) => g.rules);
  assert.ok(alerts.length >= 6, `only ${alerts.length} rules rendered`);
  const { code, out } = await promtool('check', 'rules', 'rules.yaml');
  assert.equal(code, 0, out);
  assert.match(out, new RegExp(`SUCCESS: ${alerts.length} rules found`));
});

test('promtool test rules: each alert fires on its input and stays quiet without it', async () => {
  const { code, out } = await promtool('test', 'rules', 'alerts.promtool.yaml');
  assert.equal(code, 0, out);
  assert.match(out, /SUCCESS/);

  // promtool passes a quiet case of an alert that does not exist, so the cases are
  // matched against the rendered alerts: none of a name the chart lacks, and for every
  // alert of the chart at least one case where it fires and one where it does not.
  const cases = (
    parse(readFileSync(unitTests, 'utf8')) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    }
  ).tests.flatMap((t) => t.alert_rule_test);
  const alerts = rendered.ruleGroups.flatMap((g) => g.rules.map((r) => r.alert));
  for (const c of cases) assert.ok(alerts.includes(c.alertname), `no alert ${c.alertname}`);
  for (const alert of alerts) {
    const mine = cases.filter((c) => c.alertname === alert);
    assert.ok(
      mine.some((c) => c.exp_alerts.length > 0),
      `${alert}: no case where it fires`,
    );
    assert.ok(
      mine.some((c) => c.exp_alerts.length === 0),
      `${alert}: no case where it stays quiet`,
    );
  }
});

test('the thresholds of the error-rate and queue-age alerts come from the values', async () => {
  const custom = await renderMonitoring({
    // --set would pass 0.2 as a string, which the schema refuses.
    args: [
      '--set-json',
      'metrics.prometheusRule.errorRateThreshold=0.2',
      '--set',
      'metrics.prometheusRule.queueAgeSeconds=60',
    ],
  });
  const expr = (alert: string) =>
    custom.ruleGroups.flatMap((g) => g.rules).find((r) => r.alert === alert)!.expr;
  assert.match(expr('SelflessFunctionErrorRate'), />\s*0\.2\s*$/);
  assert.match(expr('SelflessAsyncQueueAge'), />\s*60\s*$/);
});

test('every panel query of the dashboard is valid PromQL', async () => {
  const queries = panelQueries(rendered.dashboard);
  assert.ok(queries.length > 0);
  // promtool parses rules offline: each query becomes a recording rule. Grafana puts a
  // regex of the chosen functions where $function stands.
  const rules = queries.map((q, i) => ({
    record: `dashboard:query_${i}`,
    expr: q.expr.replaceAll('$function', '.+'),
  }));
  writeFileSync(
    join(work, 'dashboard-rules.yaml'),
    stringify({ groups: [{ name: 'dashboard', rules }] }, { lineWidth: 0 }),
  );
  const { code, out } = await promtool('check', 'rules', 'dashboard-rules.yaml');
  assert.equal(code, 0, out);
  assert.match(out, new RegExp(`SUCCESS: ${queries.length} rules found`));
});

test('the ServiceMonitor and PrometheusRule pass the Prometheus Operator’s CRD schemas on a real API server', async () => {
  const { kubeconfig } = await testServices();
  const kc = await testKubeConfig();
  await run(kubectlBinary(), [
    '--kubeconfig',
    kubeconfig,
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=selfless-tests',
    '-f',
    prometheusOperatorCrds(),
  ]);
  for (const crd of ['servicemonitors', 'prometheusrules']) {
    await eventually(`CRD ${crd} established`, async () => {
      const { stdout } = await run(kubectlBinary(), [
        '--kubeconfig',
        kubeconfig,
        'get',
        'crd',
        `${crd}.monitoring.coreos.com`,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Established")].status}',
      ]);
      return stdout === 'True';
    });
  }
  const namespace = await makeNamespace(kc, 'monitoring');
  const monitoring = await renderMonitoring({ namespace });

  const { code, out } = await dryRunApply(kubeconfig, namespace, monitoring.yaml);
  assert.equal(code, 0, out);
  assert.match(out, /servicemonitor\.monitoring\.coreos\.com\/selfless serverside-applied/);
  assert.match(out, /prometheusrule\.monitoring\.coreos\.com\/selfless serverside-applied/);

  // The schemas are enforced, not merely present: a malformed interval is refused.
  const bad = monitoring.yaml.replace(/interval: 30s/, 'interval: often');
  assert.notEqual(bad, monitoring.yaml);
  const refused = await dryRunApply(kubeconfig, namespace, bad);
  assert.notEqual(refused.code, 0, refused.out);
  assert.match(refused.out, /spec\.endpoints\[0\]\.interval/);
});
