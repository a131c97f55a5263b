import { TributaryError } from '#core/errors.ts';

// kafkajs marks its errors `retriable`; connection failures and timeouts are retriable, authorization and
// invalid requests are not. Classification keeps that verdict and adds the action that failed.
export function classifyKafkaError(action: string, error: unknown): TributaryError {
  if (error instanceof TributaryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const retriable = (error as { retriable?: boolean }).retriable === true || /ECONNREFUSED|Connection error|timed? ?out/i.test(message);
  return new TributaryError(retriable ? 'KAFKA_UNAVAILABLE' : 'KAFKA_REJECTED', `${action}: ${message}`, {
    retriable,
    cause: error,
  });
}
