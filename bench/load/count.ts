// Counts samples in a decoded WriteRequest, walking the protobuf just enough: TimeSeries (field 1) ->
// Label (field 1) names compared against "for", Sample (field 2) counted, everything else skipped by wire
// type. A series carrying a label named `for` is a generated one (anomstream's output); others are raw.

export interface SampleCounts {
  rawSeries: number;
  rawSamples: number;
  generatedSeries: number;
  generatedSamples: number;
}

export function zeroCounts(): SampleCounts {
  return { rawSeries: 0, rawSamples: 0, generatedSeries: 0, generatedSamples: 0 };
}

// The read position, module-level so varint reads return only the value (no object per field).
let pos = 0;

function readVarint(b: Uint8Array, end: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new Error('truncated varint');
    const x = b[pos++];
    if (mul < 2 ** 49) v += (x & 0x7f) * mul; // bits past 2^56 only matter for values we skip
    if (x < 0x80) return v;
    mul *= 128;
  }
  throw new Error('varint longer than 10 bytes');
}

function skip(b: Uint8Array, wire: number, end: number): void {
  switch (wire) {
    case 0:
      readVarint(b, end);
      return;
    case 1:
      pos += 8;
      break;
    case 2: {
      const len = readVarint(b, end);
      pos += len;
      break;
    }
    case 5:
      pos += 4;
      break;
    default:
      throw new Error(`unsupported wire type ${wire}`);
  }
  if (pos > end) throw new Error('field past end of message');
}

/** Is the TimeSeries in b[start, end) a generated one? Also counts its samples into `out`. */
function walkSeries(b: Uint8Array, start: number, end: number, out: SampleCounts): void {
  pos = start;
  let generated = false;
  let samples = 0;
  while (pos < end) {
    const tag = b[pos] < 0x80 ? b[pos++] : readVarint(b, end);
    if (tag === 0x0a) {
      const len = b[pos] < 0x80 ? b[pos++] : readVarint(b, end);
      const labelEnd = pos + len;
      if (labelEnd > end) throw new Error('label past end of series');
      // Label{1: name}: name first in every encoder we know; `0a 03 'f' 'o' 'r'`.
      if (!generated && len >= 5 && b[pos] === 0x0a && b[pos + 1] === 3 && b[pos + 2] === 0x66 && b[pos + 3] === 0x6f && b[pos + 4] === 0x72) generated = true;
      pos = labelEnd;
    } else if (tag === 0x12) {
      const len = b[pos] < 0x80 ? b[pos++] : readVarint(b, end);
      pos += len;
      if (pos > end) throw new Error('sample past end of series');
      samples++;
    } else {
      skip(b, tag & 7, end);
    }
  }
  if (generated) {
    out.generatedSeries++;
    out.generatedSamples += samples;
  } else {
    out.rawSeries++;
    out.rawSamples += samples;
  }
}

/** Walks a whole WriteRequest in b[0, len). Throws on malformed input (counts may then be partial). */
export function countWriteRequest(b: Uint8Array, len: number, out: SampleCounts): void {
  pos = 0;
  while (pos < len) {
    const tag = b[pos] < 0x80 ? b[pos++] : readVarint(b, len);
    if (tag === 0x0a) {
      const l = b[pos] < 0x80 ? b[pos++] : readVarint(b, len);
      const end = pos + l;
      if (end > len) throw new Error('series past end of request');
      walkSeries(b, pos, end, out);
      pos = end;
    } else {
      skip(b, tag & 7, len);
    }
  }
}

/**
 * Looks only at the first TimeSeries in b[0, len) (len may be a prefix of the request): true if it carries
 * `for`, false if not, null if the prefix is too short to tell.
 */
export function firstSeriesGenerated(b: Uint8Array, len: number): boolean | null {
  try {
    pos = 0;
    while (pos < len) {
      const tag = b[pos] < 0x80 ? b[pos++] : readVarint(b, len);
      if (tag !== 0x0a) {
        skip(b, tag & 7, len);
        continue;
      }
      const l = readVarint(b, len);
      const fullEnd = pos + l;
      const end = Math.min(fullEnd, len);
      while (pos < end) {
        const t = readVarint(b, end);
        if (t === 0x0a) {
          const ll = readVarint(b, end);
          if (pos + 5 > end) return null;
          if (ll >= 5 && b[pos] === 0x0a && b[pos + 1] === 3 && b[pos + 2] === 0x66 && b[pos + 3] === 0x6f && b[pos + 4] === 0x72) return true;
          pos += ll;
        } else if (t === 0x12) {
          return false; // labels come before samples: no `for` among them
        } else skip(b, t & 7, end);
      }
      return end === fullEnd ? false : null;
    }
    return null;
  } catch {
    return null;
  }
}
