import * as zlib from 'node:zlib';

/**
 * CRC-32 (IEEE, zlib's), continuing from `value`: node:zlib's native crc32 (Node >= 20.15), or
 * a table-driven one for older Node 20 releases (the same results, ~10x slower).
 */
export const crc32: (data: Uint8Array, value?: number) => number = typeof zlib.crc32 === 'function' ? zlib.crc32 : crc32Table;

let table: Int32Array | undefined;

export function crc32Table(data: Uint8Array, value = 0): number {
  if (table === undefined) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
