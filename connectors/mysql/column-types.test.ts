import { describe, expect, it } from 'vitest';
import { mySqlColumnType, parseMySqlType } from './column-types.ts';

describe('mySqlColumnType', () => {
  it.each([
    ['tinyint(4)', { kind: 'int16' }],
    ['tinyint(1)', { kind: 'int16' }],
    ['smallint(5) unsigned', { kind: 'int32' }],
    ['mediumint(8) unsigned zerofill', { kind: 'int32' }],
    ['int(11)', { kind: 'int32' }],
    ['int(10) unsigned', { kind: 'int64' }],
    ['bigint(20)', { kind: 'int64' }],
    ['bigint(20) unsigned', { kind: 'decimal', precision: 20, scale: 0 }],
    ['decimal(65,30)', { kind: 'decimal', precision: 65, scale: 30 }],
    ['decimal(10,0) unsigned', { kind: 'decimal', precision: 10, scale: 0 }],
    ['float', { kind: 'float32' }],
    ['double', { kind: 'float64' }],
    ['varchar(255)', { kind: 'string', length: 255 }],
    ['longtext', { kind: 'string' }],
    ['varbinary(16)', { kind: 'bytes', length: 16 }],
    ['mediumblob', { kind: 'bytes' }],
    ['bit(1)', { kind: 'boolean' }],
    ['bit(64)', { kind: 'bits', length: 64 }],
    ['date', { kind: 'date' }],
    ['datetime(6)', { kind: 'timestamp' }],
    ['timestamp(6)', { kind: 'timestamptz' }],
    ['time(6)', { kind: 'time' }],
    ['year(4)', { kind: 'year' }],
    ['json', { kind: 'json' }],
    ['uuid', { kind: 'uuid' }],
  ])('maps %s', (text, expected) => {
    expect(mySqlColumnType(text)).toEqual(expected);
  });

  it('reads ENUM and SET members with quotes, commas and spaces in them', () => {
    expect(mySqlColumnType("enum('new','it''s',' a,b ','')")).toEqual({ kind: 'enum', values: ['new', "it's", ' a,b ', ''] });
    expect(mySqlColumnType("set('red','green')")).toEqual({ kind: 'set', values: ['red', 'green'] });
  });

  it('names unsupported types and how to get past them', () => {
    expect(() => mySqlColumnType('geometry')).toThrow(/"geometry" is not supported; exclude the column/);
  });

  it('parses flags apart from arguments', () => {
    expect(parseMySqlType('DECIMAL(10,2) UNSIGNED ZEROFILL')).toEqual({ base: 'decimal', args: ['10', '2'], unsigned: true });
  });
});
