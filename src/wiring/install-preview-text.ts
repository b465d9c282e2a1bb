import { stringify } from 'yaml';
import type { InstallPreview } from '../kube/install/version-installer.js';

/**
 * The dry run of an install from manifests or a chart, as the CLI prints it: the server-side dry
 * run of every object per region, then the objects of the first region as YAML (the regions
 * differ only where a template uses {{region}}).
 */
export function installPreviewLines(previews: readonly { region: string; preview: InstallPreview }[]): string[] {
  if (previews.length === 0) return [];
  const lines: string[] = [''];
  for (const { region, preview } of previews) {
    const refused = preview.dryRun.filter((d) => d.outcome !== 'ok').length;
    lines.push(`${region}: ${preview.source}: ${preview.objects.length} objects, server-side dry run: ${refused === 0 ? 'all accepted' : `${refused} refused`}`);
    for (const note of preview.notes) lines.push(`  note: ${note}`);
    for (const result of preview.dryRun) lines.push(`  ${result.outcome === 'ok' ? 'ok     ' : 'REFUSED'} ${result.object}${result.outcome === 'ok' ? '' : `: ${result.outcome}`}`);
  }
  const first = previews[0]!;
  lines.push('', `# the objects as cutover would apply them in ${first.region}`);
  for (const object of first.preview.objects) lines.push('---', stringify(object).trimEnd());
  return lines;
}
