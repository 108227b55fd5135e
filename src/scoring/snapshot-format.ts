/**
 * The model-state snapshot file (`<state.path>/scoring.snapshot`), version 1. Little-endian,
 * every part 8-byte aligned so that model slots are copied as Float64 runs:
 *
 *   header   'ANOMSNAP'  u32 version  u32 0x01020304 (byte order)  f64 written_at (wall ms)
 *            u32 J  u32 0  J bytes of JSON, padded to 8:
 *              {"anomstream": version, "instances": [{"query", "model", "fingerprint", "slots"}, ...]}
 *   records  one per scored series:
 *              u32 record length (a multiple of 8, this field included)
 *              u32 idle age at written_at (s, on the idle clock: scoring/clock.ts)
 *              u32 tenant (index into the trailer's tenants)
 *              u32 L (label bytes)  u32 N (links)  u32 0
 *              L bytes: the series' protobuf Label entries as the sender wrote them, padded to 8
 *              N links: u32 instance (index into the header's instances)  u32 0
 *                       f64 previous raw value  f64 its timestamp (transform state)
 *                       f64 x slots (the instance's model state: an opaque block)
 *   end      u32 0  u32 0 (a record length of 0)
 *   trailer  T bytes of JSON, padded to 8: {"series": count, "tenants": [null | "A:B", ...]}
 *   footer   u32 CRC-32 of every byte before the footer  u32 T  'ANOMEND\0'
 *
 * State is keyed by the series' full label set and tenant, and per link by (query alias,
 * model alias, fingerprint of the settings that shape the state, slot count): a link whose
 * key no current instance has is skipped (that model starts cold). A new layout is a new
 * version; a reader refuses versions it does not know (the file is moved aside, start cold).
 */
export const SNAPSHOT_FILE = 'scoring.snapshot';
/** Where a snapshot is written before it is renamed over SNAPSHOT_FILE. */
export const SNAPSHOT_TMP = 'scoring.snapshot.tmp';
/** Where an unreadable snapshot is moved aside (the previous one there is replaced). */
export const SNAPSHOT_BAD = 'scoring.snapshot.bad';

export const MAGIC = 'ANOMSNAP';
export const END_MAGIC = 'ANOMEND\0';
export const VERSION = 1;
export const BYTE_ORDER = 0x01020304;

/** Header bytes before its JSON. */
export const HEADER_FIXED = 32;
/** Record bytes before its labels. */
export const RECORD_FIXED = 24;
/** Link bytes before its slots. */
export const LINK_FIXED = 24;
export const FOOTER = 16;

export interface HeaderJson {
  anomstream: string;
  instances: { query: string; model: string; fingerprint: string; slots: number }[];
}

export interface TrailerJson {
  series: number;
  tenants: (string | null)[];
}

/** n rounded up to a multiple of 8. */
export function pad8(n: number): number {
  return (n + 7) & ~7;
}
