import { createServer } from 'node:net';

/** A TCP port nothing listens on right now (the OS picks it), for a process the test configures to listen there. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** GET `url` with an optional bearer token: the status and the body as text. */
export async function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: response.status, body: await response.text() };
}
