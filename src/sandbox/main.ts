import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startSandbox } from './sandbox.js';

/**
 * `npm run sandbox`: two regions on loopback until Ctrl-C, on the fixed ports and kubeconfig path
 * that config/cutover.example.yaml names (APIs 16443-16445, ingresses 18081-18083,
 * .sandbox/kubeconfig), so the CLI can be pointed at it.
 */
async function main(): Promise<void> {
  await mkdir(resolve('.sandbox'), { recursive: true });
  // A third cluster stands for staging: its live route "/" must not share an ingress with production's.
  const sandbox = await startSandbox({
    regions: ['eu-west', 'us-east', 'staging'],
    extraNamespaces: ['staging'],
    apiPorts: [16443, 16444, 16445],
    ingressPorts: [18081, 18082, 18083],
    ingressMetricsPorts: [10254, 10255, 10256],
    kubeconfigPath: resolve('.sandbox/kubeconfig'),
  });
  const lines = ['cutover sandbox is running', ''];
  for (const region of sandbox.regions) {
    lines.push(`  ${region.name.padEnd(10)} API ${region.apiUrl}   ingress ${region.ingressUrl}   metrics ${region.ingressMetricsUrl}`);
  }
  const first = sandbox.regions[0]!;
  lines.push(
    '',
    `  kubeconfig ${sandbox.kubeconfigPath}`,
    '',
    `  try:  kubectl --kubeconfig ${sandbox.kubeconfigPath} --context ${first.name} get namespaces`,
    `        curl -i ${first.ingressUrl}/`,
    '',
    'Ctrl-C stops every pod server and listener.',
  );
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the sandbox`);
    sandbox.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
