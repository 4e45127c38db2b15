/**
 * The rows of a batch seen so far, by identity, in constant memory per row: a 64-bit hash
 * and the line number, 12 bytes a slot in an open-addressing table (a million rows take
 * about 24 MB, where a Map of strings took 200 MB). Two different rows would have to share
 * all 64 bits to be mistaken for each other: about one chance in 10^7 for a million rows,
 * and even then the row is reported as a duplicate, never dropped silently.
 */
export class SeenRows {
  private hashA: Uint32Array;
  private hashB: Uint32Array;
  private lines: Uint32Array;
  private count = 0;

  constructor(capacity = 1 << 12) {
    const size = 2 ** Math.ceil(Math.log2(Math.max(16, capacity)));
    this.hashA = new Uint32Array(size);
    this.hashB = new Uint32Array(size);
    this.lines = new Uint32Array(size);
  }

  get size(): number {
    return this.count;
  }

  /** Records `identity` at `line` (>= 1) and returns undefined, or returns the line it was first seen on. */
  firstLine(identity: string, line: number): number | undefined {
    if (this.count * 2 >= this.lines.length) this.grow();
    const a = hash(identity, 0x811c9dc5);
    const b = hash(identity, 0x9747b28c);
    const found = this.find(a, b);
    if (this.lines[found] !== 0) return this.lines[found];
    this.hashA[found] = a;
    this.hashB[found] = b;
    this.lines[found] = line;
    this.count++;
    return undefined;
  }

  private find(a: number, b: number): number {
    const mask = this.lines.length - 1;
    let slot = a & mask;
    while (this.lines[slot] !== 0 && (this.hashA[slot] !== a || this.hashB[slot] !== b)) {
      slot = (slot + 1) & mask;
    }
    return slot;
  }

  private grow(): void {
    const { hashA, hashB, lines } = this;
    this.hashA = new Uint32Array(lines.length * 2);
    this.hashB = new Uint32Array(lines.length * 2);
    this.lines = new Uint32Array(lines.length * 2);
    for (let i = 0; i < lines.length; i++) {
      if (lines[i] === 0) continue;
      const slot = this.find(hashA[i] as number, hashB[i] as number);
      this.hashA[slot] = hashA[i] as number;
      this.hashB[slot] = hashB[i] as number;
      this.lines[slot] = lines[i] as number;
    }
  }
}

/** FNV-1a over UTF-16 code units with a final avalanche (murmur3's fmix32). */
function hash(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
