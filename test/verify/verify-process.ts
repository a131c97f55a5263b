import { spawn } from 'node:child_process';

const cli = new URL('./cli.ts', import.meta.url).pathname;

/** `tributary verify --source src --config <config> <args>` as a process (test/verify/cli.ts): its exit code and its output. */
export async function verifyProcess(config: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'verify', '--source', 'src', '--config', config, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'warn' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close' comes after the process exited and its pipes were read to the end.
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}
