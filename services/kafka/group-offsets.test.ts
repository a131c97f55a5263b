import { describe, expect, it } from 'vitest';
import { TributaryError } from '#core/errors.ts';
import { explicitMoves, lagMessages, parseReplayTarget, resumeOffset, type PartitionOffsets } from './group-offsets.ts';

function rejection(run: () => unknown): TributaryError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as TributaryError).code).toBe('CONFIG_INVALID');
    return error as TributaryError;
  }
  throw new Error('expected a TributaryError');
}

describe('parseReplayTarget', () => {
  it('reads earliest and latest', () => {
    expect(parseReplayTarget('earliest')).toEqual({ to: 'earliest' });
    expect(parseReplayTarget(' Latest ')).toEqual({ to: 'latest' });
  });

  it('reads an ISO-8601 time in UTC or with an offset, to the millisecond', () => {
    expect(parseReplayTarget('2024-05-01T12:00:00Z')).toEqual({ to: 'timestamp', ms: Date.UTC(2024, 4, 1, 12) });
    expect(parseReplayTarget('2024-05-01T14:00:00+02:00')).toEqual({ to: 'timestamp', ms: Date.UTC(2024, 4, 1, 12) });
    expect(parseReplayTarget('2024-05-01T06:30-0530')).toEqual({ to: 'timestamp', ms: Date.UTC(2024, 4, 1, 12) });
    expect(parseReplayTarget('2024-05-01 12:00:00.123456z')).toEqual({ to: 'timestamp', ms: Date.UTC(2024, 4, 1, 12, 0, 0, 123) });
  });

  it('refuses a time without its zone, and dates that do not exist', () => {
    expect(rejection(() => parseReplayTarget('2024-05-01T12:00:00')).message).toContain('"2024-05-01T12:00:00" has no time zone: add Z for UTC');
    expect(rejection(() => parseReplayTarget('2024-02-30T00:00:00Z')).message).toContain('"2024-02-30T00:00:00Z" is not a valid date and time');
    expect(rejection(() => parseReplayTarget('2024-05-01T24:00:00Z')).message).toContain('is not a valid date and time');
    expect(rejection(() => parseReplayTarget('2024-05-01T12:00:00+25:00')).message).toContain('invalid zone offset "+25:00"');
    expect(rejection(() => parseReplayTarget('2024-05-01')).message).toContain('"2024-05-01" is not an ISO-8601 time');
  });

  it('reads partition:offset and topic:partition:offset lists, offsets beyond 2^53 exactly', () => {
    expect(parseReplayTarget('0:15, 2:007')).toEqual({ to: 'offsets', offsets: [{ partition: 0, offset: '15' }, { partition: 2, offset: '7' }] });
    expect(parseReplayTarget('shop.orders:1:9007199254740993')).toEqual({
      to: 'offsets',
      offsets: [{ topic: 'shop.orders', partition: 1, offset: '9007199254740993' }],
    });
  });

  it('names the bad entry and the accepted forms', () => {
    const bad = rejection(() => parseReplayTarget('0:1,soon'));
    expect(bad.message).toContain('"soon" in "0:1,soon" is not partition:offset or topic:partition:offset');
    expect(bad.message).toContain('expected earliest, latest, an ISO-8601 time with its zone');
    expect(rejection(() => parseReplayTarget('0:-1')).message).toContain('"0:-1": offset "-1" is not an offset');
    expect(rejection(() => parseReplayTarget('x:5')).message).toContain('"x:5": partition "x" is not a partition number');
    expect(rejection(() => parseReplayTarget('0:9223372036854775808')).message).toContain('offset "9223372036854775808" is not an offset');
    expect(rejection(() => parseReplayTarget('a b:0:1')).message).toContain('"a b" is not a topic name');
    expect(rejection(() => parseReplayTarget('0:1,')).message).toContain('"" in "0:1," is not partition:offset');
    expect(rejection(() => parseReplayTarget('')).message).toContain('the replay target is empty');
  });
});

const partitions: PartitionOffsets[] = [
  { topic: 'shop.orders', partition: 0, committed: '4', low: '2', high: '10' },
  { topic: 'shop.orders', partition: 1, committed: null, low: '0', high: '3' },
  { topic: 'shop.items', partition: 0, committed: '1', low: '5', high: '9' },
];

describe('lag arithmetic', () => {
  it('resumes at the commit, or the low watermark without one or below it', () => {
    expect(partitions.map(resumeOffset)).toEqual(['4', '0', '5']);
    expect(partitions.map((p) => lagMessages(p).toString())).toEqual(['6', '3', '4']);
  });

  it('stays exact beyond 2^53 and is never negative', () => {
    expect(lagMessages({ committed: '9007199254740993', low: '0', high: '9007199254740999' })).toBe(6n);
    expect(lagMessages({ committed: '12', low: '0', high: '10' })).toBe(0n);
  });
});

describe('explicitMoves', () => {
  const one = partitions.filter((p) => p.topic === 'shop.orders');

  it('fills in the topic when the group consumes only one, and keeps where each partition was', () => {
    expect(explicitMoves('g', [{ partition: 1, offset: '3' }, { topic: 'shop.orders', partition: 0, offset: '2' }], one)).toEqual([
      { topic: 'shop.orders', partition: 1, from: null, to: '3' },
      { topic: 'shop.orders', partition: 0, from: '4', to: '2' },
    ]);
  });

  it('refuses a missing topic that is ambiguous, an unknown topic or partition, an offset out of range, a repeat', () => {
    expect(rejection(() => explicitMoves('g', [{ partition: 0, offset: '5' }], partitions)).message).toContain(
      '"0:5" names no topic, and group "g" does not consume exactly one topic (its topics are shop.orders, shop.items)',
    );
    expect(rejection(() => explicitMoves('g', [{ partition: 0, offset: '5' }], [])).message).toContain('no topic exists yet');
    expect(rejection(() => explicitMoves('g', [{ topic: 'shop.other', partition: 0, offset: '5' }], partitions)).message).toContain(
      'topic "shop.other" is not one of the topics of group "g"',
    );
    expect(rejection(() => explicitMoves('g', [{ partition: 2, offset: '0' }], one)).message).toContain(
      '"2:0": topic "shop.orders" has no partition 2 (it has 2: 0 to 1)',
    );
    expect(rejection(() => explicitMoves('g', [{ partition: 0, offset: '1' }], one)).message).toContain(
      '"0:1": offset 1 is outside what shop.orders/0 holds (2 to 10)',
    );
    expect(rejection(() => explicitMoves('g', [{ partition: 0, offset: '11' }], one)).message).toContain('outside');
    expect(rejection(() => explicitMoves('g', [{ partition: 0, offset: '3' }, { partition: 0, offset: '4' }], one)).message).toContain(
      'shop.orders/0 is given more than once',
    );
  });
});
