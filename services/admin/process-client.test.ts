import { describe, expect, it } from 'vitest';
import { processUrl } from './process-client.ts';

describe('processUrl', () => {
  it('asks a process where the config says it listens, a wildcard address on this machine', () => {
    expect(processUrl({ host: '127.0.0.1', port: 9101 })).toEqual({ url: 'http://127.0.0.1:9101' });
    expect(processUrl({ host: 'capture-shop.internal', port: 80 })).toEqual({ url: 'http://capture-shop.internal:80' });
    expect(processUrl({ host: '0.0.0.0', port: 9101 })).toEqual({ url: 'http://127.0.0.1:9101' });
    expect(processUrl({ host: '::', port: 9101 })).toEqual({ url: 'http://[::1]:9101' });
    expect(processUrl({ host: 'fd00::7', port: 9101 })).toEqual({ url: 'http://[fd00::7]:9101' });
  });

  it('says why a process cannot be asked: no endpoint, or a port only the process knows', () => {
    expect(processUrl(undefined)).toEqual({ missing: 'no http endpoint configured' });
    expect(processUrl({ host: '127.0.0.1', port: 0 })).toEqual({ missing: expect.stringContaining('http port 0') });
  });
});
