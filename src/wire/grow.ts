/**
 * Typed-array growth, the one way every column, table and buffer here grows: by doubling, so
 * that n appends cost O(n) copies in all. Growth is rare (start-up, a new largest request), so
 * the constructor call through `a.constructor` being polymorphic costs nothing measurable;
 * the hot loops only compare a length and index.
 */
type Grown = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;

/**
 * `a` when it holds `need` elements, else a copy with room for at least `need` (doubled until
 * it fits); new elements are 0, or `fill` when given.
 */
export function grown<T extends Grown>(a: T, need: number, fill?: number): T {
  if (a.length >= need) return a;
  const n = grownLength(a.length, need);
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  if (fill !== undefined) b.fill(fill, a.length);
  return b;
}

/** The length grown() gives an array of `length` elements that must hold `need` (`length` when it does). */
export function grownLength(length: number, need: number): number {
  if (length >= need) return length;
  let n = Math.max(length * 2, 16);
  while (n < need) n *= 2;
  return n;
}

/** A reused output buffer's size for `n` bytes: rounded up to 64 KiB (a memory budget counts it before it is allocated). */
export function bufferSize(n: number): number {
  return Math.ceil(n / 65536) * 65536;
}
