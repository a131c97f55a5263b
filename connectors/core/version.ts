/** Written into every event's `source.version`, as Debezium writes its connector version there. */
export const TRIBUTARY_VERSION = '0.1.0';
