import { describe, expect, it } from 'vitest';
import { TributaryError } from '#core/errors.ts';
import { decodePgOutput, UNCHANGED } from './pgoutput.ts';

// Messages are built byte by byte as the docs lay them out ("Logical Replication Message Formats", protocol 1).

class Bytes {
  private readonly parts: Buffer[] = [];
  byte(value: number | string): this {
    this.parts.push(Buffer.from([typeof value === 'string' ? value.charCodeAt(0) : value]));
    return this;
  }
  int16(value: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(value);
    this.parts.push(b);
    return this;
  }
  int32(value: number): this {
    const b = Buffer.alloc(4);
    if (value < 0) b.writeInt32BE(value);
    else b.writeUInt32BE(value);
    this.parts.push(b);
    return this;
  }
  int64(value: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(value);
    this.parts.push(b);
    return this;
  }
  cstring(value: string): this {
    this.parts.push(Buffer.from(value, 'utf8'), Buffer.from([0]));
    return this;
  }
  raw(value: Buffer): this {
    this.parts.push(value);
    return this;
  }
  /** TupleData: strings as 't', null as 'n', UNCHANGED as 'u', Buffers as 'b'. */
  tuple(values: Array<string | null | typeof UNCHANGED | Buffer>): this {
    this.int16(values.length);
    for (const value of values) {
      if (value === null) this.byte('n');
      else if (value === UNCHANGED) this.byte('u');
      else if (Buffer.isBuffer(value)) this.byte('b').int32(value.length).raw(value);
      else {
        const text = Buffer.from(value, 'utf8');
        this.byte('t').int32(text.length).raw(text);
      }
    }
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// 2024-02-29 12:34:56.789012 UTC in microseconds since 2000-01-01.
const commitMicros = BigInt(Date.UTC(2024, 1, 29, 12, 34, 56, 789) - Date.UTC(2000, 0, 1)) * 1000n + 12n;
const commitMs = Date.UTC(2024, 1, 29, 12, 34, 56, 789);

describe('decodePgOutput', () => {
  it('decodes Begin, with the commit time in epoch ms and in exact µs', () => {
    const message = new Bytes().byte('B').int64(0x16b374d848n).int64(commitMicros).int32(0xfffffff0).build();
    expect(decodePgOutput(message)).toEqual({
      tag: 'begin',
      finalLsn: 0x16b374d848n,
      commitTime: commitMs,
      commitTimeMicros: commitMicros,
      xid: 0xfffffff0,
    });
  });

  it('decodes Commit', () => {
    const message = new Bytes().byte('C').byte(0).int64(0x16b374d848n).int64(0x16b374d878n).int64(commitMicros).build();
    expect(decodePgOutput(message)).toEqual({
      tag: 'commit',
      flags: 0,
      commitLsn: 0x16b374d848n,
      endLsn: 0x16b374d878n,
      commitTime: commitMs,
      commitTimeMicros: commitMicros,
    });
  });

  it('rounds a commit time before the Unix epoch down to the millisecond, as Date does', () => {
    const micros = -(BigInt(Date.UTC(2000, 0, 1)) * 1000n) - 1500n; // 1969-12-31T23:59:59.998500Z
    const message = new Bytes().byte('B').int64(1n).int64(micros).int32(1).build();
    const begin = decodePgOutput(message);
    expect(begin.tag === 'begin' && begin.commitTime).toBe(-2);
  });

  it('decodes Origin', () => {
    const message = new Bytes().byte('O').int64(0xabcdefn).cstring('pg_16384').build();
    expect(decodePgOutput(message)).toEqual({ tag: 'origin', commitLsn: 0xabcdefn, name: 'pg_16384' });
  });

  it('decodes Relation with key flags, type OIDs and modifiers, and multibyte names', () => {
    const message = new Bytes()
      .byte('R')
      .int32(16_390)
      .cstring('public')
      .cstring('commandes_été')
      .byte('d')
      .int16(3)
      .byte(1)
      .cstring('id')
      .int32(20)
      .int32(-1)
      .byte(0)
      .cstring('prix')
      .int32(1700)
      .int32(((10 << 16) | 2) + 4)
      .byte(0)
      .cstring('名前')
      .int32(1043)
      .int32(68)
      .build();
    expect(decodePgOutput(message)).toEqual({
      tag: 'relation',
      relationId: 16_390,
      namespace: 'public',
      name: 'commandes_été',
      replicaIdentity: 'd',
      columns: [
        { isKey: true, name: 'id', typeOid: 20, typeModifier: -1 },
        { isKey: false, name: 'prix', typeOid: 1700, typeModifier: ((10 << 16) | 2) + 4 },
        { isKey: false, name: '名前', typeOid: 1043, typeModifier: 68 },
      ],
    });
  });

  it('decodes a Relation of pg_catalog (empty namespace) with no columns', () => {
    const message = new Bytes().byte('R').int32(0xfffffffe).cstring('').cstring('t').byte('n').int16(0).build();
    expect(decodePgOutput(message)).toEqual({ tag: 'relation', relationId: 0xfffffffe, namespace: '', name: 't', replicaIdentity: 'n', columns: [] });
  });

  it('decodes Type', () => {
    const message = new Bytes().byte('Y').int32(16_400).cstring('public').cstring('mood').build();
    expect(decodePgOutput(message)).toEqual({ tag: 'type', typeOid: 16_400, namespace: 'public', name: 'mood' });
  });

  it('decodes Insert with text (multibyte UTF-8, empty), null and binary values', () => {
    const binary = Buffer.from([0, 1, 2, 0xff]);
    const message = new Bytes().byte('I').int32(16_390).byte('N').tuple(['42', 'Zoë 😀 日本', '', null, binary]).build();
    const decoded = decodePgOutput(message);
    expect(decoded).toEqual({ tag: 'insert', relationId: 16_390, newTuple: ['42', 'Zoë 😀 日本', '', null, binary] });
  });

  it('decodes each text value as its own bytes decode, whatever bytes surround it in the tuple', () => {
    // Text values are decoded in one pass over the tuple when that is exact (tuple()): these cases must not tell.
    const textTuple = (values: Buffer[]) => {
      const bytes = new Bytes().byte('I').int32(1).byte('N').int16(values.length);
      for (const value of values) bytes.byte('t').int32(value.length).raw(value);
      return bytes.build();
    };
    const cases: Buffer[][] = [
      // Lengths whose low byte has the high bit set (0xC8, 0xE2) between ASCII values.
      [Buffer.from('a'.repeat(200)), Buffer.from('7'), Buffer.from('b'.repeat(0xe2))],
      // Invalid UTF-8 alone in a value: each byte is U+FFFD both ways.
      [Buffer.from('x'), Buffer.from([0xff, 0x41, 0x80]), Buffer.from('y')],
      // A length byte 0xE2 followed by a value starting 0x82 0xAC: '€' across the boundary, never in a value.
      [Buffer.concat([Buffer.from([0x82, 0xac]), Buffer.alloc(0xe0, 0x61)]), Buffer.from('z')],
      // A value cut in the middle of a character, then an ASCII one.
      [Buffer.from([0x5a, 0xc3]), Buffer.from('ok')],
    ];
    // And random bytes, mostly ASCII with some high ones, in values of random lengths up to 300.
    let seed = 12345;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    for (let n = 0; n < 200; n++) {
      cases.push(
        Array.from({ length: 1 + Math.floor(random() * 6) }, () =>
          Buffer.from(Array.from({ length: Math.floor(random() * 300) }, () => (random() < 0.97 ? 32 + Math.floor(random() * 95) : Math.floor(random() * 256)))),
        ),
      );
    }
    for (const values of cases) {
      const decoded = decodePgOutput(textTuple(values));
      expect(decoded.tag === 'insert' && decoded.newTuple).toEqual(values.map((value) => value.toString('utf8')));
    }
  });

  it('copies binary values, so reusing the input buffer does not change them', () => {
    const message = new Bytes().byte('I').int32(1).byte('N').tuple([Buffer.from('abc')]).build();
    const decoded = decodePgOutput(message);
    message.fill(0);
    expect(decoded.tag === 'insert' && decoded.newTuple[0]).toEqual(Buffer.from('abc'));
  });

  it('decodes Update with only a new tuple, marking unchanged TOASTed columns', () => {
    const message = new Bytes().byte('U').int32(7).byte('N').tuple(['1', UNCHANGED, null]).build();
    const decoded = decodePgOutput(message);
    expect(decoded).toEqual({ tag: 'update', relationId: 7, keyTuple: null, oldTuple: null, newTuple: ['1', UNCHANGED, null] });
    expect(decoded.tag === 'update' && decoded.newTuple[1]).toBe(UNCHANGED);
  });

  it('decodes Update with the old key (K)', () => {
    const message = new Bytes().byte('U').int32(7).byte('K').tuple(['1', null]).byte('N').tuple(['2', 'b']).build();
    expect(decodePgOutput(message)).toEqual({ tag: 'update', relationId: 7, keyTuple: ['1', null], oldTuple: null, newTuple: ['2', 'b'] });
  });

  it('decodes Update with the old row (O, replica identity full)', () => {
    const message = new Bytes().byte('U').int32(7).byte('O').tuple(['1', 'a']).byte('N').tuple(['1', 'b']).build();
    expect(decodePgOutput(message)).toEqual({ tag: 'update', relationId: 7, keyTuple: null, oldTuple: ['1', 'a'], newTuple: ['1', 'b'] });
  });

  it('decodes Delete with the key (K) or the old row (O)', () => {
    const byKey = new Bytes().byte('D').int32(7).byte('K').tuple(['1', null]).build();
    expect(decodePgOutput(byKey)).toEqual({ tag: 'delete', relationId: 7, keyTuple: ['1', null], oldTuple: null });
    const full = new Bytes().byte('D').int32(7).byte('O').tuple(['1', 'ü']).build();
    expect(decodePgOutput(full)).toEqual({ tag: 'delete', relationId: 7, keyTuple: null, oldTuple: ['1', 'ü'] });
  });

  it('decodes Truncate with its options', () => {
    const plain = new Bytes().byte('T').int32(2).byte(0).int32(16_390).int32(16_400).build();
    expect(decodePgOutput(plain)).toEqual({ tag: 'truncate', relationIds: [16_390, 16_400], cascade: false, restartIdentity: false });
    const both = new Bytes().byte('T').int32(1).byte(3).int32(16_390).build();
    expect(decodePgOutput(both)).toEqual({ tag: 'truncate', relationIds: [16_390], cascade: true, restartIdentity: true });
    const restart = new Bytes().byte('T').int32(1).byte(2).int32(16_390).build();
    expect(decodePgOutput(restart)).toMatchObject({ cascade: false, restartIdentity: true });
  });

  it('decodes Message (pg_logical_emit_message), transactional or not', () => {
    const content = Buffer.from('{"beat":1} ✓', 'utf8');
    const message = new Bytes().byte('M').byte(0).int64(0x1234n).cstring('tributary.heartbeat').int32(content.length).raw(content).build();
    expect(decodePgOutput(message)).toEqual({ tag: 'message', transactional: false, lsn: 0x1234n, prefix: 'tributary.heartbeat', content });
    const inTransaction = new Bytes().byte('M').byte(1).int64(0x1234n).cstring('p').int32(0).build();
    expect(decodePgOutput(inTransaction)).toEqual({ tag: 'message', transactional: true, lsn: 0x1234n, prefix: 'p', content: Buffer.alloc(0) });
  });

  it('decodes at an offset, as inside an XLogData message', () => {
    const payload = new Bytes().byte('I').int32(3).byte('N').tuple(['x']).build();
    const xlogData = Buffer.concat([Buffer.alloc(25, 0x77), payload]);
    expect(decodePgOutput(xlogData, 25)).toEqual({ tag: 'insert', relationId: 3, newTuple: ['x'] });
  });

  it('refuses unknown, truncated and malformed messages with a TributaryError', () => {
    const cases: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('S'), // stream start: protocol 2, never requested
      new Bytes().byte('B').int64(1n).build(),
      new Bytes().byte('I').int32(1).byte('N').int16(1).byte('t').int32(10).raw(Buffer.from('abc')).build(),
      new Bytes().byte('I').int32(1).byte('N').int16(2).byte('n').build(),
      new Bytes().byte('I').int32(1).byte('N').int16(1).byte('x').build(),
      new Bytes().byte('I').int32(1).byte('K').tuple(['1']).build(),
      new Bytes().byte('D').int32(1).byte('N').tuple(['1']).build(),
      new Bytes().byte('Y').int32(1).raw(Buffer.from('public')).build(),
      new Bytes().byte('M').byte(0).int64(1n).cstring('p').int32(5).raw(Buffer.from('ab')).build(),
    ];
    for (const message of cases) {
      let caught: unknown;
      try {
        decodePgOutput(message);
      } catch (error) {
        caught = error;
      }
      expect(caught, message.toString('hex')).toBeInstanceOf(TributaryError);
      expect((caught as TributaryError).code).toBe('INTERNAL');
      expect((caught as TributaryError).message).toMatch(/^decoding a pgoutput message: /);
    }
  });
});
