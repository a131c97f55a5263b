/** The moments of a file's life at which the crash tests kill the sink (see faultAt). */
export type FaultPoint = 'row-group' | 'renaming' | 'renamed' | 'published';

const counts = new Map<FaultPoint, number>();

/**
 * Fault injection for the crash tests: `TRIBUTARY_TEST_KILL_LAKE=<point>:<n>` kills the process with SIGKILL the
 * n-th time it reaches `point`: `row-group` after a row group reached a temporary file (a half-written file),
 * `renaming` after the manifest's intent line and before the rename, `renamed` after the rename and before the
 * manifest lists the file, `published` after it lists it and before the runner commits the offset.
 */
export function faultAt(point: FaultPoint): void {
  const setting = process.env.TRIBUTARY_TEST_KILL_LAKE;
  if (!setting) return;
  const [wanted, nth] = setting.split(':');
  if (wanted !== point) return;
  const count = (counts.get(point) ?? 0) + 1;
  counts.set(point, count);
  if (count === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
}
