/**
 * Pod IPs for one region: 127.<region byte>.x.y, handed out in order and reused only after
 * release (and only once the fresh range is exhausted), so a stale proxy view never reaches a new
 * pod at an old pod's address.
 */
export class LoopbackAllocator {
  // A random start, so sandboxes in parallel test processes rarely race for the same address.
  private next = 1 + Math.floor(Math.random() * 30_000);
  private readonly released: string[] = [];
  private readonly capacity = 254 * 256 - 1;

  constructor(private readonly regionByte: number) {
    if (!Number.isInteger(regionByte) || regionByte < 1 || regionByte > 254) throw new Error(`sandbox: region byte ${regionByte} out of range 1..254`);
  }

  allocate(): string {
    if (this.next <= this.capacity) {
      const n = this.next++;
      return `127.${this.regionByte}.${Math.floor(n / 254)}.${(n % 254) + 1}`;
    }
    const reused = this.released.shift();
    if (!reused) throw new Error(`sandbox: no loopback address left in 127.${this.regionByte}.0.0/16`);
    return reused;
  }

  release(address: string): void {
    this.released.push(address);
  }
}
