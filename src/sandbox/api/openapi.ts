/**
 * `/openapi/v2`, empty: kubectl apply fetches it (as protobuf) before it validates or computes a
 * patch; with no definitions it skips client-side schema validation and falls back to the
 * patch metadata compiled into kubectl, and the sandbox server validates on write.
 */
export function openApiV2(accept: string): { contentType: string; body: Buffer } {
  if (accept.includes('protobuf')) {
    // gnostic openapi_v2.Document { swagger: "2.0" (1), info (2) { title (1), version (2) } }
    const info = Buffer.concat([field(1, 'Kubernetes'), field(2, 'v1.28.0')]);
    const body = Buffer.concat([field(1, '2.0'), Buffer.from([0x12, info.length]), info]);
    return { contentType: 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', body };
  }
  const json = { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.28.0' }, paths: {}, definitions: {} };
  return { contentType: 'application/json', body: Buffer.from(JSON.stringify(json)) };
}

function field(number: number, text: string): Buffer {
  const bytes = Buffer.from(text);
  return Buffer.concat([Buffer.from([(number << 3) | 2, bytes.length]), bytes]);
}
