/** Slack message timestamps: "<unix seconds>.<6 digits>", unique and strictly increasing per stand-in. */
export function createTsClock(nowMs: () => number = Date.now): () => string {
  let lastMicros = 0;
  return () => {
    const micros = Math.max(Math.floor(nowMs() * 1000), lastMicros + 1);
    lastMicros = micros;
    const seconds = Math.floor(micros / 1_000_000);
    const fraction = String(micros % 1_000_000).padStart(6, '0');
    return `${seconds}.${fraction}`;
  };
}

export const SLACK_TS_PATTERN = /^\d{10}\.\d{6}$/;
