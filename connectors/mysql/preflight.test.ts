import { describe, expect, it } from 'vitest';
import { checkSettings, flavorOf, parseGrant, settingWarnings } from './preflight.ts';

const MARIADB = '10.11.19-MariaDB-0+deb12u1-log';
const MYSQL = '8.0.36';

const GOOD_MARIADB = {
  log_bin: 'ON',
  binlog_format: 'ROW',
  binlog_row_image: 'FULL',
  binlog_row_metadata: 'FULL',
  server_id: '1',
  gtid_strict_mode: 'ON',
};
const GOOD_MYSQL = {
  log_bin: 'ON',
  binlog_format: 'ROW',
  binlog_row_image: 'FULL',
  binlog_row_metadata: 'FULL',
  server_id: '1',
  gtid_mode: 'ON',
  enforce_gtid_consistency: 'ON',
};
const ALL = ["GRANT ALL PRIVILEGES ON *.* TO `cdc`@`%` IDENTIFIED BY PASSWORD '*DF595CEE9854D3359E12567555C579FB692D1751' WITH GRANT OPTION"];
const MARIADB_MINIMAL = ['GRANT SELECT, RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `cdc`@`10.0.%`'];
const MYSQL_MINIMAL = ["GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'cdc'@'%'"];

describe('flavorOf', () => {
  it('tells MariaDB from MySQL by the version text', () => {
    expect(flavorOf(MARIADB)).toBe('mariadb');
    expect(flavorOf('5.5.5-10.6.16-MariaDB')).toBe('mariadb');
    expect(flavorOf(MYSQL)).toBe('mysql');
    expect(flavorOf('8.0.35-0ubuntu0.22.04.1')).toBe('mysql');
  });
});

describe('checkSettings', () => {
  it('passes a correctly set up MariaDB and MySQL', () => {
    expect(checkSettings(GOOD_MARIADB, ALL, 'mariadb', MARIADB)).toEqual([]);
    expect(checkSettings(GOOD_MARIADB, MARIADB_MINIMAL, 'mariadb', MARIADB)).toEqual([]);
    expect(checkSettings(GOOD_MYSQL, ALL, 'mysql', MYSQL)).toEqual([]);
    expect(checkSettings(GOOD_MYSQL, MYSQL_MINIMAL, 'mysql', MYSQL)).toEqual([]);
  });

  it('names a disabled binary log and says a restart is needed', () => {
    expect(checkSettings({ ...GOOD_MARIADB, log_bin: 'OFF' }, ALL, 'mariadb', MARIADB)).toEqual([
      'log_bin is OFF; enable the binary log with log-bin=<basename> in the server config and restart the server ' +
        '(log_bin cannot be changed at runtime)',
    ]);
  });

  it('names binlog_format with its value and the statement that fixes it', () => {
    expect(checkSettings({ ...GOOD_MARIADB, binlog_format: 'STATEMENT' }, ALL, 'mariadb', MARIADB)).toEqual([
      "binlog_format is STATEMENT; set binlog_format=ROW in the server config (SET GLOBAL binlog_format='ROW' takes effect for new sessions)",
    ]);
    expect(checkSettings({ ...GOOD_MYSQL, binlog_format: 'MIXED' }, ALL, 'mysql', MYSQL)).toEqual([
      "binlog_format is MIXED; run SET PERSIST binlog_format='ROW' (takes effect for new sessions; it also survives restarts)",
    ]);
  });

  it('names binlog_row_image', () => {
    expect(checkSettings({ ...GOOD_MARIADB, binlog_row_image: 'MINIMAL' }, ALL, 'mariadb', MARIADB)).toEqual([
      "binlog_row_image is MINIMAL; set binlog_row_image=FULL in the server config (SET GLOBAL binlog_row_image='FULL' takes effect for new sessions)",
    ]);
  });

  it('names binlog_row_metadata, or the version that lacks it', () => {
    expect(checkSettings({ ...GOOD_MARIADB, binlog_row_metadata: 'NO_LOG' }, ALL, 'mariadb', MARIADB)).toEqual([
      'binlog_row_metadata is NO_LOG; set binlog_row_metadata=FULL in the server config ' +
        "(SET GLOBAL binlog_row_metadata='FULL' takes effect for events written after it)",
    ]);
    const { binlog_row_metadata: _mariadb, ...oldMariaDb } = GOOD_MARIADB;
    expect(checkSettings(oldMariaDb, ALL, 'mariadb', '10.4.32-MariaDB-log')).toEqual([
      'binlog_row_metadata is not available in MariaDB 10.4.32; upgrade to MariaDB 10.5 or later and set ' +
        'binlog_row_metadata=FULL, so row events carry column names',
    ]);
    const { binlog_row_metadata: _mysql, ...oldMySql } = GOOD_MYSQL;
    expect(checkSettings(oldMySql, ALL, 'mysql', '5.7.44-log')).toEqual([
      'binlog_row_metadata is not available in MySQL 5.7.44; upgrade to MySQL 8.0.1 or later and set ' +
        'binlog_row_metadata=FULL, so row events carry column names',
    ]);
  });

  it('requires gtid_mode and enforce_gtid_consistency on MySQL', () => {
    expect(checkSettings({ ...GOOD_MYSQL, gtid_mode: 'OFF', enforce_gtid_consistency: 'WARN' }, ALL, 'mysql', MYSQL)).toEqual([
      'gtid_mode is OFF; set gtid_mode=ON and enforce_gtid_consistency=ON in the server config (online: SET PERSIST ' +
        'enforce_gtid_consistency=ON, then SET PERSIST gtid_mode to OFF_PERMISSIVE, ON_PERMISSIVE, ON in turn)',
      'enforce_gtid_consistency is WARN; run SET PERSIST enforce_gtid_consistency=ON (before gtid_mode can be ON)',
    ]);
  });

  it('only warns about gtid_strict_mode on MariaDB', () => {
    const vars = { ...GOOD_MARIADB, gtid_strict_mode: 'OFF' };
    expect(checkSettings(vars, ALL, 'mariadb', MARIADB)).toEqual([]);
    expect(settingWarnings(vars, 'mariadb')).toEqual([
      'gtid_strict_mode is OFF; set gtid_strict_mode=ON in the server config (SET GLOBAL gtid_strict_mode=ON) so the ' +
        'server refuses out-of-order GTIDs that would make a GTID position ambiguous',
    ]);
    expect(settingWarnings(GOOD_MARIADB, 'mariadb')).toEqual([]);
    expect(settingWarnings(GOOD_MYSQL, 'mysql')).toEqual([]);
  });

  it('names a missing server_id', () => {
    expect(checkSettings({ ...GOOD_MARIADB, server_id: '0' }, ALL, 'mariadb', MARIADB)).toEqual([
      'server_id is 0; set server_id to a non-zero value unique among the servers in the server config ' +
        '(SET GLOBAL server_id=1 lasts until the next restart)',
    ]);
  });

  it('collects every failure, one line each', () => {
    const lines = checkSettings({ log_bin: 'OFF', binlog_format: 'MIXED' }, ["GRANT USAGE ON *.* TO 'x'@'%'"], 'mysql', MYSQL);
    expect(lines.map((line) => line.split(' ')[0] + ' ' + line.split(' ')[1])).toEqual([
      'log_bin is',
      'binlog_format is',
      'binlog_row_image is',
      'binlog_row_metadata is',
      'gtid_mode is',
      'enforce_gtid_consistency is',
      'server_id is',
      'privilege SELECT',
      'privilege REPLICATION',
      'privilege REPLICATION',
      'privilege RELOAD',
    ]);
    expect(lines[2]).toContain('binlog_row_image is not set;');
  });
});

describe('checkSettings privileges', () => {
  const check = (grants: string[], flavor: 'mariadb' | 'mysql' = 'mariadb', version = MARIADB, snapshot?: 'initial' | 'never') =>
    checkSettings(flavor === 'mariadb' ? GOOD_MARIADB : GOOD_MYSQL, grants, flavor, version, snapshot ? { snapshot } : {});

  it('names each missing privilege with the GRANT that fixes it, for the user as the server spells it', () => {
    expect(check(['GRANT USAGE ON *.* TO `cdc`@`%`', 'GRANT SELECT ON `shop`.* TO `cdc`@`%`'])).toEqual([
      'privilege REPLICATION SLAVE is not granted to `cdc`@`%` (needed to stream the binlog); run GRANT REPLICATION SLAVE ON *.* TO `cdc`@`%`',
      'privilege BINLOG MONITOR is not granted to `cdc`@`%` (needed to list binlog files and read the binlog position); ' +
        'run GRANT BINLOG MONITOR ON *.* TO `cdc`@`%`',
    ]);
  });

  it('asks for SELECT on all databases or each captured one', () => {
    expect(check(['GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `cdc`@`%`'])).toEqual([
      'privilege SELECT is not granted to `cdc`@`%` (needed to read table schemas and rows); run GRANT SELECT ON *.* TO `cdc`@`%` ' +
        '(or ON each captured database)',
    ]);
    expect(check(['GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `cdc`@`%`', 'GRANT ALL PRIVILEGES ON `shop`.* TO `cdc`@`%`'])).toEqual([]);
    expect(check(['GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `cdc`@`%`', 'GRANT EXECUTE ON FUNCTION `shop`.`f` TO `cdc`@`%`'])).toHaveLength(1);
  });

  it('accepts the old and new names of MariaDB privileges, and says REPLICATION CLIENT before 10.5.2', () => {
    expect(check(['GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `cdc`@`%`'])).toEqual([]);
    expect(check(['GRANT SELECT, REPLICATION REPLICA, BINLOG MONITOR ON *.* TO `cdc`@`%`'])).toEqual([]);
    expect(check(["GRANT SELECT, REPLICATION SLAVE ON *.* TO 'cdc'@'%'"], 'mariadb', '10.4.32-MariaDB')).toEqual([
      "privilege REPLICATION CLIENT is not granted to 'cdc'@'%' (needed to list binlog files and read the binlog position); " +
        "run GRANT REPLICATION CLIENT ON *.* TO 'cdc'@'%'",
    ]);
  });

  it('does not count REPLICATION SLAVE ADMIN, which manages replicas but cannot read the binlog', () => {
    expect(check(['GRANT SELECT, BINLOG MONITOR, REPLICATION SLAVE ADMIN ON *.* TO `cdc`@`%`'])).toEqual([
      'privilege REPLICATION SLAVE is not granted to `cdc`@`%` (needed to stream the binlog); run GRANT REPLICATION SLAVE ON *.* TO `cdc`@`%`',
    ]);
  });

  it('does not count global privileges granted on one database', () => {
    expect(check(['GRANT SELECT ON *.* TO `cdc`@`%`', 'GRANT ALL PRIVILEGES ON `shop`.* TO `cdc`@`%`'])).toHaveLength(2);
  });

  it('needs RELOAD on MySQL for the snapshot lock, unless no snapshot is taken; never on MariaDB', () => {
    const grants = ["GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'cdc'@'%'"];
    expect(check(grants, 'mysql', MYSQL)).toEqual([
      "privilege RELOAD is not granted to 'cdc'@'%' (needed for FLUSH TABLES WITH READ LOCK, held for an instant while the " +
        "snapshot starts); run GRANT RELOAD ON *.* TO 'cdc'@'%'",
    ]);
    expect(check(grants, 'mysql', MYSQL, 'never')).toEqual([]);
    expect(check(['GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `cdc`@`%`'])).toEqual([]);
  });

  it('reads MySQL 8 dynamic privileges and column lists without being confused by their commas', () => {
    expect(
      check(
        [
          "GRANT SELECT (`a`, `b`), RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'cdc'@'%'",
          "GRANT BACKUP_ADMIN,REPLICATION_SLAVE_ADMIN ON *.* TO 'cdc'@'%'",
          "GRANT `reader`@`%` TO 'cdc'@'%'",
        ],
        'mysql',
        MYSQL,
      ),
    ).toEqual([]);
  });

  it('never repeats the password hash of an IDENTIFIED BY clause', () => {
    const lines = check(["GRANT USAGE ON *.* TO `cdc`@`%` IDENTIFIED BY PASSWORD '*DF595CEE9854D3359E12567555C579FB692D1751'"]);
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).not.toMatch(/IDENTIFIED|DF595CEE/);
  });
});

describe('parseGrant', () => {
  it('splits privileges, target and grantee', () => {
    expect(parseGrant("GRANT SELECT, INSERT ON `shop`.`orders` TO 'a b'@'10.%' WITH GRANT OPTION")).toEqual({
      privileges: ['SELECT', 'INSERT'],
      target: '`shop`.`orders`',
      grantee: "'a b'@'10.%'",
    });
    expect(parseGrant('GRANT ALL ON *.* TO `x`@`%`')?.privileges).toEqual(['ALL PRIVILEGES']);
    expect(parseGrant('GRANT `role` TO `x`@`%`')).toBeNull();
  });
});
