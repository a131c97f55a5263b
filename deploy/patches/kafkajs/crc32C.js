// Tributary's replacement for kafkajs 2.2.4's src/protocol/recordBatch/crc32C/crc32C.js (applied by
// deploy/patches/apply.cjs at install). The original looks up one table entry per byte; every produced record batch
// is checksummed whole, and that loop was the largest cost of the capture's producer thread. This one is the same
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) read eight bytes at a time through eight tables
// ("slicing-by-8"); services/kafka/patches.test.ts checks it against a bit-by-bit reference.
'use strict'

const POLYNOMIAL = 0x82f63b78

// T[k * 256 + n]: the CRC of byte n followed by k zero bytes. T[0..255] is the usual byte-at-a-time table.
const T = new Int32Array(8 * 256)
for (let n = 0; n < 256; n++) {
  let c = n
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1
  T[n] = c
}
for (let n = 0; n < 256; n++) {
  let c = T[n]
  for (let k = 1; k < 8; k++) {
    c = T[c & 0xff] ^ (c >>> 8)
    T[k * 256 + n] = c
  }
}

const crc32C = buffer => {
  const length = buffer.length
  const whole = length - (length & 7)
  let crc = -1
  let i = 0
  for (; i < whole; i += 8) {
    const low = crc ^ (buffer[i] | (buffer[i + 1] << 8) | (buffer[i + 2] << 16) | (buffer[i + 3] << 24))
    crc =
      T[1792 + (low & 0xff)] ^
      T[1536 + ((low >>> 8) & 0xff)] ^
      T[1280 + ((low >>> 16) & 0xff)] ^
      T[1024 + (low >>> 24)] ^
      T[768 + buffer[i + 4]] ^
      T[512 + buffer[i + 5]] ^
      T[256 + buffer[i + 6]] ^
      T[buffer[i + 7]]
  }
  for (; i < length; i++) crc = T[(crc ^ buffer[i]) & 0xff] ^ (crc >>> 8)
  return (crc ^ -1) >>> 0
}

module.exports = crc32C
