/**
 * The soak bench's processes and what it samples from them: the built web and worker processes
 * started as production starts them (`node dist/...`, with the NODE_OPTIONS of their deploy/
 * manifest), RSS from /proc/<pid>/status and the V8 heap from the process's own /metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { onJsonLines } from '../support/json-lines.js';

export interface ProductProcess {
  name: string;
  child: ChildProcess;
  /** Every JSON log line it printed. */
  lines: Record<string, unknown>[];
  /** Its non-JSON output (stderr, crashes), for the report. */
  other: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `node <entry> <args>` from the repository root: the build, never the sources through tsx. */
export function startProduct(root: string, name: string, entry: string, args: string[], env: Record<string, string>): ProductProcess {
  const child = spawn(process.execPath, [path.join(root, entry), ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const product: ProductProcess = {
    name,
    child,
    lines: [],
    other: [],
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  onJsonLines(child.stdout, (line, parsed) => {
    if (parsed) product.lines.push(parsed);
    else product.other.push(line);
    // Only the start-up lines are kept: a long soak must not grow the bench's own memory.
    if (product.lines.length > 200) product.lines.splice(20, product.lines.length - 200);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    product.other.push(chunk.toString());
    if (product.other.length > 50) product.other.shift();
  });
  return product;
}

/** Wait for a log line matching `test`, or fail when the process exits first. */
export async function logLine(product: ProductProcess, test: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = product.lines.find(test);
    if (found) return found;
    if (product.child.exitCode !== null || product.child.signalCode !== null || Date.now() > deadline) {
      throw new Error(`${product.name} (pid ${product.child.pid}) ${Date.now() > deadline ? 'did not get ready in time' : 'exited'}:\n${product.other.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const MiB = 1024 * 1024;

/** VmRSS and VmHWM (the kernel's peak RSS of the process) in MiB. */
export async function rssOf(pid: number): Promise<{ rssMiB: number; hwmMiB: number } | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  if (status === null) return null;
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}

/** prom-client's default Node metrics from a process's /metrics: heap used and total, external memory, in MiB. */
export async function heapOf(metricsUrl: string): Promise<{ heapUsedMiB: number; heapTotalMiB: number; externalMiB: number } | null> {
  const text = await fetch(metricsUrl, { signal: AbortSignal.timeout(2000) }).then(
    (r) => (r.ok ? r.text() : null),
    () => null,
  );
  if (text === null) return null;
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / MiB;
  return { heapUsedMiB: value('nodejs_heap_size_used_bytes'), heapTotalMiB: value('nodejs_heap_size_total_bytes'), externalMiB: value('nodejs_external_memory_bytes') };
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (clock ticks of 1/100 s). */
export async function cpuSecondsOf(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return null;
  // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface Sample {
  at: number;
  phase: string;
  rssMiB: number;
  heapUsedMiB: number | null;
  heapTotalMiB: number | null;
}

/** Samples one process: RSS every `rssEveryMs`, the heap from /metrics every `heapEveryMs`. */
export class MemorySampler {
  readonly samples: Sample[] = [];
  private hwmMiB = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastHeap: { heapUsedMiB: number; heapTotalMiB: number } | null = null;
  private lastHeapAt = 0;
  private busy = false;

  constructor(
    private readonly pid: number,
    private readonly metricsUrl: string,
    private readonly phase: () => string,
    private readonly rssEveryMs = 250,
    private readonly heapEveryMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sample(), this.rssEveryMs);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = Date.now();
      let heapUsedMiB: number | null = null;
      let heapTotalMiB: number | null = null;
      if (now - this.lastHeapAt >= this.heapEveryMs) {
        this.lastHeapAt = now;
        this.lastHeap = await heapOf(this.metricsUrl);
        heapUsedMiB = this.lastHeap?.heapUsedMiB ?? null;
        heapTotalMiB = this.lastHeap?.heapTotalMiB ?? null;
      }
      const rss = await rssOf(this.pid);
      if (rss === null) return;
      this.hwmMiB = Math.max(this.hwmMiB, rss.hwmMiB);
      this.samples.push({ at: now, phase: this.phase(), rssMiB: rss.rssMiB, heapUsedMiB, heapTotalMiB });
    } finally {
      this.busy = false;
    }
  }

  /** Stop sampling; the kernel's peak (VmHWM) read one last time. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const rss = await rssOf(this.pid);
    if (rss) this.hwmMiB = Math.max(this.hwmMiB, rss.hwmMiB);
  }

  /** The peak RSS: VmHWM, which also sees peaks between two samples. */
  get peakRssMiB(): number {
    return Math.max(this.hwmMiB, ...this.samples.map((s) => s.rssMiB));
  }

  peakIn(phase: string): { rssMiB: number; heapUsedMiB: number; heapTotalMiB: number } {
    const own = this.samples.filter((s) => s.phase === phase);
    return {
      rssMiB: Math.max(0, ...own.map((s) => s.rssMiB)),
      heapUsedMiB: Math.max(0, ...own.map((s) => s.heapUsedMiB ?? 0)),
      heapTotalMiB: Math.max(0, ...own.map((s) => s.heapTotalMiB ?? 0)),
    };
  }

  /** Median heap used over a slice of the heap samples (0..1 of the run), to compare the start of a soak with its end. */
  heapMedian(from: number, to: number): number {
    const heap = this.samples.filter((s) => s.heapUsedMiB !== null && s.phase !== 'idle').map((s) => s.heapUsedMiB!);
    const slice = heap.slice(Math.floor(from * heap.length), Math.ceil(to * heap.length)).sort((a, b) => a - b);
    return slice[Math.floor(slice.length / 2)] ?? 0;
  }
}

export const round1 = (n: number): number => Math.round(n * 10) / 10;
