/** A set of known order ids written as ranges: `1-1000,2000,5000-6000`. */
export interface OrderSet {
  has(orderId: number): boolean;
  readonly text: string;
}

export function parseOrderSet(text: string): OrderSet {
  const ranges = text.split(',').map((part) => {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!match) throw new Error(`"${part}" is not an order id or a range like 1-1000`);
    const low = Number(match[1]);
    const high = match[2] === undefined ? low : Number(match[2]);
    if (high < low) throw new Error(`"${part}": the range ends before it starts`);
    return [low, high] as const;
  });
  return { text, has: (id) => ranges.some(([low, high]) => id >= low && id <= high) };
}
