import type { Readable } from 'node:stream';

/**
 * Calls `onLine` for every complete line a process prints, with the line parsed when it is one
 * JSON object (a structured log line) and null otherwise.
 */
export function onJsonLines(stream: Readable, onLine: (line: string, parsed: Record<string, unknown> | null) => void): void {
  let buffer = '';
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let parsed: Record<string, unknown> | null = null;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        // not a log line
      }
      onLine(line, parsed);
    }
  });
}
