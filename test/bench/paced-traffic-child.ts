/** Child process side of startPacedTrafficProcess: start on request, report the counters on stop. */
import { startPacedTraffic, type PacedOptions, type PacedTraffic } from './paced-traffic.js';

let traffic: PacedTraffic | null = null;
process.on('message', (message: { type: 'start'; options: PacedOptions } | { type: 'snapshot' } | { type: 'stop' }) => {
  if (message.type === 'start') {
    traffic = startPacedTraffic(message.options);
    process.send!({ type: 'started' });
  } else if (message.type === 'snapshot') {
    process.send!({ type: 'snapshot', counters: traffic!.counters() });
  } else if (traffic) {
    void traffic.stop().then((counters) => {
      process.send!({ type: 'stopped', counters });
      process.disconnect();
    });
  }
});
