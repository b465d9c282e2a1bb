import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { goJsonSyntaxError } from './json-syntax.js';
import { ApiError, badRequest, internalError } from './status.js';

const maxBodyBytes = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) throw new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** JSON as the real server decodes it: a syntax error is a 400 quoting Go's message. */
export function parseJson(text: string, prefix: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest(`${prefix}${goJsonSyntaxError(text)}`);
  }
}

/** A request body that is JSON or (for application/yaml and apply patches) YAML. */
export function parseDocument(text: string, contentType: string, prefix: string): unknown {
  if (contentType.includes('yaml')) {
    try {
      return parseYaml(text) as unknown;
    } catch (error) {
      throw badRequest(`error decoding YAML: ${(error as Error).message}`);
    }
  }
  return parseJson(text, prefix);
}

function wantsPretty(req: IncomingMessage, url: URL): boolean {
  const pretty = url.searchParams.get('pretty');
  if (pretty !== null) return pretty === 'true' || pretty === '1';
  return /^(curl|Wget)\//.test(req.headers['user-agent'] ?? '');
}

export function sendJson(req: IncomingMessage, res: ServerResponse, url: URL, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = (wantsPretty(req, url) ? JSON.stringify(body, null, 4) : JSON.stringify(body)) + '\n';
  res.writeHead(code, {
    'Audit-Id': randomUUID(),
    'Cache-Control': 'no-cache, private',
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(req: IncomingMessage, res: ServerResponse, url: URL, error: unknown): void {
  const apiError = error instanceof ApiError ? error : internalError(error instanceof Error ? error.message : String(error));
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(req, res, url, apiError.code, apiError.body, apiError.headers);
}
