import { describe, expect, it } from 'vitest';
import { cronRefusal } from '../../src/config/cron.js';

describe('cronRefusal', () => {
  it.each(['0 3 * * *', '*/15 * * * *', '0 0 3 * * mon-fri', '0 9 1,15 jan-jun ?', '30 2 * * 7', '0 0/30 8-18 * * *'])('accepts %s', (cron) => {
    expect(cronRefusal(cron)).toBeNull();
  });

  it.each([
    ['0 3 * *', 'expected 5 fields'],
    ['0 0 0 3 * * *', 'got 7'],
    ['60 * * * *', 'minute field "60" is out of range 0-59'],
    ['0 24 * * *', 'hour field "24" is out of range 0-23'],
    ['0 3 0 * *', 'day of month field "0" is out of range 1-31'],
    ['0 3 * 13 *', 'month field "13" is out of range 1-12'],
    ['0 3 * * funday', 'day of week field "funday" has an unknown name "funday"'],
    ['*/0 * * * *', 'has a step of 0'],
    ['? * * * *', 'minute field "?" may not be "?"'],
    ['0 3 * * $(reboot)', 'is not valid'],
  ])('refuses %s', (cron, reason) => {
    expect(cronRefusal(cron)).toContain(reason);
  });
});
