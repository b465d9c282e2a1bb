// The second half of `npm run build`: bundles the CLI that tsc emitted (dist/src/cli.js, already
// type-checked) with its packages into dist/cli/, which bin/cutover.js runs. Node 20 spends most of
// a CLI start resolving and reading modules one file at a time (@kubernetes/client-node alone is
// about 2,800 files); one bundle split at the CLI's dynamic imports loads `status` in about half
// the CPU time, and `--help` still loads none of the command modules. The web and worker processes
// run tsc's dist/ as it is: their start-up time does not matter.
//
//   node scripts/bundle-cli.mjs [dist directory, default ./dist]
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'esbuild';

const dist = resolve(process.argv[2] ?? 'dist');
rmSync(resolve(dist, 'cli'), { recursive: true, force: true });
await build({
  entryPoints: [resolve(dist, 'src/cli.js')],
  outdir: resolve(dist, 'cli'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  // Loaded from node_modules, not inlined: its URL parser requires Node's deprecated `punycode`,
  // which Node 22+ warns about on stderr unless the require comes from inside node_modules.
  external: ['node-fetch'],
  // CommonJS packages inside an ES module bundle call require() for Node's built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
