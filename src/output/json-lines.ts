/**
 * Generated series as JSON lines, VictoriaMetrics' /api/v1/import format (the transport of
 * vmanomaly's VmWriter, used when writer.import_json_path is set):
 *
 *   {"metric":{"__name__":"anomaly_score","for":"cpu",...},"values":[0.4,1.2],"timestamps":[1700000000000,1700000015000]}
 *
 * Input is the uncompressed WriteRequest the GeneratedEncoder built (its body() view), read
 * once more; only the fields that encoder writes are expected (Label, Sample), others skipped.
 * Non-finite values: the stale marker (the only NaN the encoder writes) becomes `null`, which
 * VictoriaMetrics reads as NaN; ±Inf become "Inf"/"-Inf", which it also accepts.
 */
const td = new TextDecoder();

export function writeRequestToJsonLines(buf: Uint8Array): string {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const lines: string[] = [];
  let p = 0;
  const varint = (): number => {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = buf[p++];
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 128;
    }
  };
  const skip = (wire: number): void => {
    if (wire === 0) varint();
    else if (wire === 1) p += 8;
    else if (wire === 2) {
      const len = varint(); // not `p += varint()`: that adds to p as it was before varint() moved it
      p += len;
    }
    else if (wire === 5) p += 4;
    else throw new Error(`generated WriteRequest: unexpected wire type ${wire}`);
  };
  while (p < buf.length) {
    const tag = varint();
    if (tag !== 0x0a) {
      skip(tag & 7);
      continue;
    }
    const end = varint() + p;
    let metric = '';
    let values = '';
    let timestamps = '';
    while (p < end) {
      const t = varint();
      if (t === 0x0a) {
        const le = varint() + p;
        let name = '';
        let value = '';
        while (p < le) {
          const lt = varint();
          if (lt === 0x0a || lt === 0x12) {
            const n = varint();
            const s = td.decode(buf.subarray(p, p + n));
            p += n;
            if (lt === 0x0a) name = s;
            else value = s;
          } else skip(lt & 7);
        }
        metric += `${metric ? ',' : ''}${JSON.stringify(name)}:${JSON.stringify(value)}`;
      } else if (t === 0x12) {
        const se = varint() + p;
        let v = 0;
        let ts = 0;
        while (p < se) {
          const st = varint();
          if (st === 0x09) {
            v = dv.getFloat64(p, true);
            p += 8;
          } else if (st === 0x10) ts = varint();
          else skip(st & 7);
        }
        values += `${values ? ',' : ''}${jsonNumber(v)}`;
        timestamps += `${timestamps ? ',' : ''}${ts}`;
      } else skip(t & 7);
    }
    if (values) lines.push(`{"metric":{${metric}},"values":[${values}],"timestamps":[${timestamps}]}\n`);
  }
  return lines.join('');
}

function jsonNumber(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return v !== v ? 'null' : v > 0 ? '"Inf"' : '"-Inf"';
}
