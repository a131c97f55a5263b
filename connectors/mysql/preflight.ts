import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { MysqlSourceConfig } from '#config/schema.ts';
import { TributaryError } from '#core/errors.ts';
import { log } from '#core/log.ts';
import { classifyMySqlError } from './connection.ts';

// Before capture starts, the server is checked for everything the binlog reader and the snapshot rely on, and
// every problem is reported at once with the statement that fixes it: a DBA should need one round trip, not five.

export type MySqlFlavor = 'mariadb' | 'mysql';
export type SnapshotMode = MysqlSourceConfig['snapshot'];

const VARIABLES = [
  'log_bin',
  'binlog_format',
  'binlog_row_image',
  'binlog_row_metadata',
  'server_id',
  'gtid_strict_mode',
  'gtid_mode',
  'enforce_gtid_consistency',
];

/** Checks the server and the user's privileges; throws one PREFLIGHT_FAILED listing every failed check. */
export async function preflight(conn: Connection, options: { snapshot: SnapshotMode }): Promise<void> {
  let facts: ServerFacts;
  try {
    facts = await readServerFacts(conn);
  } catch (error) {
    throw classifyMySqlError('checking that the server is set up for capture', error);
  }
  for (const warning of settingWarnings(facts.vars, facts.flavor)) log.warn({ check: 'preflight' }, warning);
  const failures = checkSettings(facts.vars, facts.grants, facts.flavor, facts.version, options);
  if (failures.length > 0) throw new TributaryError('PREFLIGHT_FAILED', failures.join('\n'));
}

export async function detectFlavor(conn: Connection): Promise<MySqlFlavor> {
  return flavorOf(await serverVersion(conn));
}

export function flavorOf(version: string): MySqlFlavor {
  return /mariadb/i.test(version) ? 'mariadb' : 'mysql';
}

interface ServerFacts {
  version: string;
  flavor: MySqlFlavor;
  vars: Record<string, string>;
  grants: string[];
}

async function readServerFacts(conn: Connection): Promise<ServerFacts> {
  const version = await serverVersion(conn);
  const [variableRows] = await conn.query<RowDataPacket[]>('SHOW GLOBAL VARIABLES WHERE Variable_name IN (?)', [VARIABLES]);
  const vars = Object.fromEntries(variableRows.map((row) => [String(row.Variable_name).toLowerCase(), String(row.Value)]));
  const [grantRows] = await conn.query<RowDataPacket[]>('SHOW GRANTS FOR CURRENT_USER()');
  // The one column is named after the user ("Grants for app@%"), so take it by position.
  const grants = grantRows.map((row) => String(Object.values(row)[0]));
  return { version, flavor: flavorOf(version), vars, grants };
}

async function serverVersion(conn: Connection): Promise<string> {
  const [rows] = await conn.query<RowDataPacket[]>('SELECT VERSION() AS version');
  return String(rows[0]?.version ?? '');
}

/**
 * The failed checks, one line each: the setting, its current value and the statement that fixes it.
 * `vars` holds global variables by lower-case name as SHOW GLOBAL VARIABLES gives them; `grants` the lines of
 * SHOW GRANTS FOR CURRENT_USER(); `version` the text of SELECT VERSION().
 */
export function checkSettings(
  vars: Record<string, string>,
  grants: readonly string[],
  flavor: MySqlFlavor,
  version: string,
  options: { snapshot?: SnapshotMode } = {},
): string[] {
  return [...checkVariables(vars, flavor, version), ...checkPrivileges(grants, flavor, version, options.snapshot ?? 'initial')];
}

/** Settings that are worth fixing but do not stop capture. */
export function settingWarnings(vars: Record<string, string>, flavor: MySqlFlavor): string[] {
  if (flavor === 'mariadb' && value(vars, 'gtid_strict_mode') !== 'ON') {
    return [
      `gtid_strict_mode is ${shown(vars, 'gtid_strict_mode')}; set gtid_strict_mode=ON in the server config ` +
        `(SET GLOBAL gtid_strict_mode=ON) so the server refuses out-of-order GTIDs that would make a GTID position ambiguous`,
    ];
  }
  return [];
}

function checkVariables(vars: Record<string, string>, flavor: MySqlFlavor, version: string): string[] {
  const failures: string[] = [];
  const setGlobal = (name: string, wanted: string, when: string) =>
    flavor === 'mysql'
      ? `run SET PERSIST ${name}='${wanted}' (${when}; it also survives restarts)`
      : `set ${name}=${wanted} in the server config (SET GLOBAL ${name}='${wanted}' ${when})`;

  if (value(vars, 'log_bin') !== 'ON') {
    failures.push(
      `log_bin is ${shown(vars, 'log_bin')}; enable the binary log with log-bin=<basename> in the server config ` +
        `and restart the server (log_bin cannot be changed at runtime)`,
    );
  }
  if (value(vars, 'binlog_format') !== 'ROW') {
    failures.push(`binlog_format is ${shown(vars, 'binlog_format')}; ${setGlobal('binlog_format', 'ROW', 'takes effect for new sessions')}`);
  }
  if (value(vars, 'binlog_row_image') !== 'FULL') {
    failures.push(
      `binlog_row_image is ${shown(vars, 'binlog_row_image')}; ${setGlobal('binlog_row_image', 'FULL', 'takes effect for new sessions')}`,
    );
  }
  // Without FULL row metadata, row events carry column types but no names: rows could not be matched to columns
  // safely across DDL. The variable exists from MariaDB 10.5 and MySQL 8.0.1.
  if (vars.binlog_row_metadata === undefined) {
    const needed = flavor === 'mariadb' ? 'MariaDB 10.5' : 'MySQL 8.0.1';
    failures.push(
      `binlog_row_metadata is not available in ${flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} ${versionNumber(version)}; ` +
        `upgrade to ${needed} or later and set binlog_row_metadata=FULL, so row events carry column names`,
    );
  } else if (value(vars, 'binlog_row_metadata') !== 'FULL') {
    failures.push(
      `binlog_row_metadata is ${shown(vars, 'binlog_row_metadata')}; ` +
        `${setGlobal('binlog_row_metadata', 'FULL', 'takes effect for events written after it')}`,
    );
  }
  if (flavor === 'mysql') {
    if (value(vars, 'gtid_mode') !== 'ON') {
      failures.push(
        `gtid_mode is ${shown(vars, 'gtid_mode')}; set gtid_mode=ON and enforce_gtid_consistency=ON in the server config ` +
          `(online: SET PERSIST enforce_gtid_consistency=ON, then SET PERSIST gtid_mode to OFF_PERMISSIVE, ON_PERMISSIVE, ON in turn)`,
      );
    }
    if (value(vars, 'enforce_gtid_consistency') !== 'ON') {
      failures.push(
        `enforce_gtid_consistency is ${shown(vars, 'enforce_gtid_consistency')}; run SET PERSIST enforce_gtid_consistency=ON ` +
          `(before gtid_mode can be ON)`,
      );
    }
  }
  // MariaDB has GTIDs whenever the binlog is on; gtid_strict_mode is only advised (settingWarnings).
  const serverId = value(vars, 'server_id');
  if (serverId === '' || serverId === '0') {
    failures.push(
      `server_id is ${shown(vars, 'server_id')}; set server_id to a non-zero value unique among the servers in the server config ` +
        `(SET GLOBAL server_id=1 lasts until the next restart)`,
    );
  }
  return failures;
}

interface PrivilegeNeed {
  /** Names under which SHOW GRANTS may list the privilege. */
  names: string[];
  /** The name to put in the GRANT statement on this server. */
  grant: string;
  why: string;
  /** Granted on some databases only is enough (SELECT); otherwise it is a global privilege, ON *.* only. */
  anyLevel?: boolean;
}

function privilegeNeeds(flavor: MySqlFlavor, version: string, snapshot: SnapshotMode): PrivilegeNeed[] {
  // MariaDB 10.5.2 renamed REPLICATION CLIENT to BINLOG MONITOR (the old name is an alias, SHOW GRANTS prints the
  // new one). Its other new names (REPLICATION SLAVE ADMIN, REPLICA MONITOR) manage replicas and do not let a
  // client read the binlog, so they do not count.
  const binlogMonitor = flavor === 'mariadb' && atLeast(version, [10, 5, 2]) ? 'BINLOG MONITOR' : 'REPLICATION CLIENT';
  const needs: PrivilegeNeed[] = [
    { names: ['SELECT'], grant: 'SELECT', why: 'to read table schemas and rows', anyLevel: true },
    { names: ['REPLICATION SLAVE', 'REPLICATION REPLICA'], grant: 'REPLICATION SLAVE', why: 'to stream the binlog' },
    { names: ['REPLICATION CLIENT', 'BINLOG MONITOR'], grant: binlogMonitor, why: 'to list binlog files and read the binlog position' },
  ];
  // MariaDB hands out the snapshot's binlog position without any lock; MySQL needs FLUSH TABLES WITH READ LOCK for
  // an instant while the snapshot transaction starts (snapshot.ts), and that needs RELOAD.
  if (flavor === 'mysql' && snapshot !== 'never') {
    needs.push({ names: ['RELOAD'], grant: 'RELOAD', why: 'for FLUSH TABLES WITH READ LOCK, held for an instant while the snapshot starts' });
  }
  return needs;
}

function checkPrivileges(grants: readonly string[], flavor: MySqlFlavor, version: string, snapshot: SnapshotMode): string[] {
  const parsed = grants.map(parseGrant).filter((grant): grant is ParsedGrant => grant !== null);
  const global = new Set(parsed.filter((grant) => grant.target === '*.*').flatMap((grant) => grant.privileges));
  const onData = new Set(parsed.filter((grant) => !/^(FUNCTION|PROCEDURE|PACKAGE)\b/i.test(grant.target)).flatMap((grant) => grant.privileges));
  // SHOW GRANTS prints the grantee as the server spells it; never the password, which only follows IDENTIFIED BY.
  const grantee = parsed[0]?.grantee ?? 'CURRENT_USER()';

  const failures: string[] = [];
  for (const need of privilegeNeeds(flavor, version, snapshot)) {
    const held = need.anyLevel ? onData : global;
    if (held.has('ALL PRIVILEGES') || need.names.some((name) => held.has(name))) continue;
    const fix = `GRANT ${need.grant} ON *.* TO ${grantee}`;
    failures.push(
      `privilege ${need.grant} is not granted to ${grantee} (needed ${need.why}); run ${fix}` +
        (need.anyLevel ? ' (or ON each captured database)' : ''),
    );
  }
  return failures;
}

interface ParsedGrant {
  privileges: string[];
  target: string;
  grantee: string;
}

const QUOTED = "`(?:[^`]|``)*`|'(?:[^']|'')*'";
const GRANT_LINE = new RegExp(`^GRANT\\s+(.+?)\\s+ON\\s+(.+?)\\s+TO\\s+((?:${QUOTED}|[^\\s@]+)(?:@(?:${QUOTED}|[^\\s]+))?)`, 'is');

/** One line of SHOW GRANTS; role grants (`GRANT role TO user`) have no ON and give null. */
export function parseGrant(line: string): ParsedGrant | null {
  const match = GRANT_LINE.exec(line.trim());
  if (!match) return null;
  const [, privileges = '', target = '', grantee = ''] = match;
  return { privileges: splitPrivileges(privileges), target: target.trim(), grantee };
}

/** `SELECT (a, b), INSERT, BACKUP_ADMIN` → `SELECT`, `INSERT`, `BACKUP_ADMIN`: commas in column lists do not split. */
function splitPrivileges(text: string): string[] {
  const privileges: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      privileges.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  privileges.push(current);
  return privileges.map(normalizePrivilege).filter((name) => name !== '');
}

function normalizePrivilege(text: string): string {
  const name = text
    .replace(/\(.*\)/s, '')
    .trim()
    .replace(/\s+/g, ' ')
    .toUpperCase();
  return name === 'ALL' ? 'ALL PRIVILEGES' : name;
}

function value(vars: Record<string, string>, name: string): string {
  return (vars[name] ?? '').trim().toUpperCase();
}

function shown(vars: Record<string, string>, name: string): string {
  const text = vars[name];
  return text === undefined ? 'not set' : text === '' ? 'empty' : text;
}

/** `10.11.19-MariaDB-0+deb12u1-log` → `10.11.19`; the `5.5.5-` prefix old proxies add is skipped. */
function versionNumber(version: string): string {
  const match = /^(?:5\.5\.5-)?(\d+\.\d+\.\d+)/.exec(version.trim());
  return match?.[1] ?? version;
}

function atLeast(version: string, wanted: [number, number, number]): boolean {
  const parts = versionNumber(version).split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const part = parts[i] ?? 0;
    const want = wanted[i] ?? 0;
    if (part !== want) return part > want;
  }
  return true;
}
