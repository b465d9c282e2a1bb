#!/usr/bin/env node
// `cutover`: the compiled CLI (dist/cli/, bundled by scripts/bundle-cli.mjs), under plain node.
// `npm ci` builds dist/ (the `prepare` script) and `npm run build` refreshes it. In a checkout
// whose dist/ is missing or older than a source file, the sources run through tsx (a
// devDependency) instead, so an edit is never answered by a stale build. The image ships dist/
// without src/ and without tsx.
import { existsSync, readdirSync, statSync } from 'node:fs';
import module from 'node:module';

// Node 22.1+ keeps V8's compiled code of dist/ and node_modules between runs (in the OS temp
// directory), which shortens every start; Node 20 has no such cache and skips this.
module.enableCompileCache?.();

const root = new URL('../', import.meta.url);
const compiled = new URL('../dist/cli/cli.js', import.meta.url);

const { main } = isBuildCurrent() ? await import(new URL('../dist/cli/cli.js', import.meta.url).href) : await fromSources();
await main();

function isBuildCurrent() {
  if (!existsSync(compiled)) return false;
  const built = statSync(compiled).mtimeMs;
  for (const dir of ['src/', 'jobs/']) {
    const path = new URL(dir, root);
    if (!existsSync(path)) continue;
    for (const name of readdirSync(path, { recursive: true })) {
      if (String(name).endsWith('.ts') && statSync(new URL(String(name), path)).mtimeMs > built) return false;
    }
  }
  return true;
}

async function fromSources() {
  const sources = new URL('../src/cli.ts', import.meta.url);
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    tsx = null;
  }
  if (!tsx || !existsSync(sources)) {
    console.error('cutover: dist/ is missing or older than the sources, and they cannot run without a build here: run `npm run build`');
    process.exit(2);
  }
  tsx.register();
  return import(new URL('../src/cli.ts', import.meta.url).href);
}
