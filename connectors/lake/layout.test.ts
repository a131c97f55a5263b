import { describe, expect, it } from 'vitest';
import { dataFileName, isTempFileOf, manifestFile, partitionDir, partitionValue, tempFile, utcDate } from './layout.ts';

describe('lake layout', () => {
  const partition = { topic: 'cdc.shop.orders', partition: 3 };

  it('names a data file by topic, partition and offset range, under table and UTC date', () => {
    expect(partitionDir({ namespace: 'shop', table: 'orders' }, '2024-02-29')).toBe('table=shop.orders/date=2024-02-29');
    expect(dataFileName(partition, '100', '250')).toBe('cdc.shop.orders+3+100+250.parquet');
    expect(manifestFile(partition)).toBe('_tributary/manifest/cdc.shop.orders+3.jsonl');
  });

  it('dates by UTC, the last millisecond of a day included', () => {
    expect(utcDate(Date.UTC(2024, 1, 29, 23, 59, 59, 999))).toBe('2024-02-29');
    expect(utcDate(Date.UTC(2024, 2, 1))).toBe('2024-03-01');
    expect(utcDate(0)).toBe('1970-01-01');
  });

  it('percent-encodes what a path or a Hive reader treats specially', () => {
    expect(partitionValue('shop.order_lines-2$')).toBe('shop.order_lines-2$');
    expect(partitionValue('a/b=c%d e')).toBe('a%2Fb%3Dc%25d%20e');
    expect(partitionValue('tab+le')).toBe('tab%2Ble');
    expect(partitionValue('café')).toBe('caf%C3%A9');
    expect(partitionDir({ namespace: 'db', table: '../x' }, '2024-01-01')).toBe('table=db...%2Fx/date=2024-01-01');
  });

  it('keeps temporary files out of a **/*.parquet glob and tells them apart by partition', () => {
    const temp = tempFile(partition, '100');
    expect(temp.startsWith('_tributary/tmp/cdc.shop.orders+3+100.')).toBe(true);
    expect(temp.endsWith('.parquet')).toBe(false);
    const name = temp.split('/').at(-1) as string;
    expect(isTempFileOf(name, partition)).toBe(true);
    expect(isTempFileOf(name, { topic: 'cdc.shop.orders', partition: 33 })).toBe(false);
    expect(isTempFileOf(name, { topic: 'cdc.shop.order', partition: 3 })).toBe(false);
  });
});
