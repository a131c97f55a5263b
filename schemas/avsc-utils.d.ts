// avsc's Tap (the byte cursor its types write through), which avsc does not export from its main module.
declare module 'avsc/lib/utils.js' {
  export class Tap {
    constructor(buf: Buffer, pos?: number);
    buf: Buffer;
    pos: number;
    writeLong(n: number): void;
    writeString(s: string): void;
    writeBinary(s: string, length: number): void;
  }
  const utils: { Tap: typeof Tap };
  export default utils;
}
