// One flat view of the @vlasky/zongji events Tributary reads. The package ships its own types as a union of event
// interfaces; this declaration replaces them so the reader can handle every event through one shape. Moving to the
// shipped union (narrowing on getEventName) is the cleaner end state.
declare module '@vlasky/zongji' {
  import type { EventEmitter } from 'node:events';

  export interface ZongJiColumn {
    name: string;
    type: number;
    metadata: Record<string, number | undefined> | null;
    charset?: string | null;
    nullable?: boolean;
  }

  export interface ZongJiTableMapEntry {
    parentSchema: string;
    tableName: string;
    columns: ZongJiColumn[];
    columnSchemas: Array<Record<string, unknown>>;
  }

  export interface ZongJiEvent {
    getEventName(): string;
    getTypeName(): string;
    timestamp: number;
    nextPosition: number;
    size: number;
    gtid?: string;
    /** Row events. */
    tableId?: number;
    tableMap?: Record<number, ZongJiTableMapEntry>;
    rows?: Array<Record<string, unknown>>;
    /** Query events. */
    query?: string;
    schema?: string;
    /** Rotate and heartbeat events. */
    binlogName?: string;
    /** MariaDB GTID events. */
    isDdl?: boolean;
    standalone?: boolean;
  }

  export interface ZongJiStartOptions {
    serverId: number;
    filename?: string;
    position?: number;
    gtidSet?: string;
    startAtEnd?: boolean;
    includeEvents?: string[];
    excludeEvents?: string[];
    includeSchema?: Record<string, true | string[]>;
    excludeSchema?: Record<string, true | string[]>;
  }

  export default class ZongJi extends EventEmitter {
    constructor(dsn: object);
    start(options: ZongJiStartOptions): void;
    stop(): void;
    connection: { pause(): void; resume(): void } | null;
    options: { filename?: string; position?: number };
    gtidSet?: string;
    tableMap: Record<number, ZongJiTableMapEntry>;
  }
}
