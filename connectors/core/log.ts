import { pino, type Logger } from 'pino';

/**
 * The process logger: JSON lines on stderr (stdout belongs to command output such as `tributary tail`).
 * `TRIBUTARY_LOG_LEVEL` sets the level; tests run silent unless it is set.
 */
export const log: Logger = pino(
  {
    level: process.env.TRIBUTARY_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
    base: undefined,
    // Belt and braces: config values are never logged whole, but a secret under these keys is masked anyway.
    redact: { paths: ['password', '*.password', '*.*.password', 'token', '*.token'], censor: '***' },
  },
  pino.destination(2),
);

export type { Logger };
