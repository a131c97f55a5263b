import ZongJi, { type ZongJiEvent } from '@vlasky/zongji';
import { BoundedQueue } from '#core/bounded-queue.ts';
import { classifyMySqlError, mySqlOptions, type MySqlConnectionConfig } from './connection.ts';
import type { BinlogCoordinates } from './position.ts';

export interface BinlogItem {
  event: ZongJiEvent;
  /**
   * The safe resume point when this event was delivered: inside a transaction it stays at the transaction's
   * start; at the commit marker it is the position just after the commit (zongji keeps it so).
   */
  resume: BinlogCoordinates;
}

export interface BinlogReaderOptions {
  connection: MySqlConnectionConfig;
  /** The replica server id this reader registers with; unique among the server's replicas. */
  serverId: number;
  from: BinlogCoordinates;
  /** Bytes of decoded events buffered before the socket is paused. */
  maxQueueBytes: number;
}

/** The binlog and a way to deliver a boundary without waiting for the server's next event. */
export interface BinlogStream extends AsyncIterable<BinlogItem> {
  /**
   * Delivers a `tributary-wake` item at the position read so far, when that is between transactions: the source
   * does there what it does between transactions (an ad-hoc snapshot's next chunk) although the server is idle.
   */
  wake(): void;
}

const WAKE_EVENT = { getEventName: () => 'tributary-wake' } as unknown as ZongJiEvent;

const EVENTS = [
  'rotate',
  'tablemap',
  'writerows',
  'updaterows',
  'deleterows',
  'query',
  'xid',
  'gtid',
  'mariadbgtid',
  'heartbeat',
];

/**
 * The binlog as a bounded pull stream. zongji pushes decoded events; past `maxQueueBytes` the replication
 * socket is paused until the consumer has drained half, so a huge transaction or a slow Kafka never grows memory.
 */
/**
 * On `signal` the reader stops at the next transaction boundary, not in the middle of a transaction, so that a
 * shutdown publishes the source transaction in flight whole; an idle reader stops at once.
 */
export function readBinlog(options: BinlogReaderOptions, signal: AbortSignal): BinlogStream {
  const zongji = new ZongJi(mySqlOptions(options.connection));
  const queue = new BoundedQueue<BinlogItem>(options.maxQueueBytes, {
    pause: () => zongji.connection?.pause(),
    resume: () => zongji.connection?.resume(),
  });
  let inTransaction = false;
  const stopAtBoundary = () => {
    if (!inTransaction) zongji.stop();
  };
  signal.addEventListener('abort', stopAtBoundary, { once: true });
  zongji.on('binlog', (event: ZongJiEvent) => {
    inTransaction = opensOrContinuesTransaction(event, inTransaction);
    const resume = {
      file: zongji.options.filename ?? options.from.file,
      pos: String(zongji.options.position ?? options.from.pos),
      gtids: zongji.gtidSet ?? '',
    };
    // Decoded rows take several times their binlog size in memory; the estimate only needs to be proportional.
    queue.push({ event, resume }, 256 + (event.size || 0) * 4);
    if (signal.aborted) stopAtBoundary();
  });
  zongji.on('error', (error: unknown) => {
    queue.fail(classifyMySqlError(`reading the binlog from ${options.from.file}:${options.from.pos}`, error));
    zongji.stop();
  });
  zongji.on('stopped', () => queue.end());

  zongji.start({
    serverId: options.serverId,
    filename: options.from.file,
    position: Number(options.from.pos),
    includeEvents: EVENTS,
  });

  return {
    wake: () => {
      if (inTransaction) return; // its commit comes, and is a boundary
      const resume = { file: zongji.options.filename ?? options.from.file, pos: String(zongji.options.position ?? options.from.pos), gtids: zongji.gtidSet ?? '' };
      queue.push({ event: WAKE_EVENT, resume }, 256);
    },
    [Symbol.asyncIterator]: () => ({
      next: () => queue.next(),
      return: async () => {
        signal.removeEventListener('abort', stopAtBoundary);
        zongji.stop();
        return { value: undefined, done: true };
      },
    }),
  };
}

/** Whether the stream is inside a transaction after `event`: BEGIN (or a transactional GTID) to COMMIT / XID. */
function opensOrContinuesTransaction(event: ZongJiEvent, inTransaction: boolean): boolean {
  switch (event.getEventName()) {
    case 'mariadbgtid':
      return !event.standalone && !event.isDdl;
    case 'xid':
      return false;
    case 'writerows':
    case 'updaterows':
    case 'deleterows':
    case 'tablemap':
      return true;
    case 'query': {
      const query = (event.query ?? '').trim();
      if (/^BEGIN$/i.test(query)) return true;
      if (/^COMMIT$/i.test(query)) return false;
      return inTransaction;
    }
    default:
      return inTransaction;
  }
}
