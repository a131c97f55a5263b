// Tributary's replacement for kafkajs 2.2.4's src/protocol/request.js (applied by deploy/patches/apply.cjs at
// install). The original copies every request body twice, header first then size first, each time into a new zeroed
// buffer of the next power of two: on a capture's produce requests, zeroing and copying those buffers took more of
// the producer thread than checksumming them. This writes the size, the header and the body into one buffer of the
// exact size, byte for byte what the original writes (services/kafka/patches.test.ts compares them).
const Encoder = require('./encoder')

module.exports = async ({ correlationId, clientId, request: { apiKey, apiVersion, encode } }) => {
  const payload = (await encode()).buffer
  // Request header v1: api key Int16, api version Int16, correlation id Int32, client id as a nullable STRING.
  const clientIdLength = clientId == null ? 0 : Buffer.byteLength(clientId, 'utf8')
  const size = 2 + 2 + 4 + 2 + clientIdLength + payload.length
  const buf = Buffer.allocUnsafe(4 + size)
  buf.writeInt32BE(size, 0)
  buf.writeInt16BE(apiKey, 4)
  buf.writeInt16BE(apiVersion, 6)
  buf.writeInt32BE(correlationId, 8)
  if (clientId == null) {
    buf.writeInt16BE(-1, 12)
  } else {
    buf.writeInt16BE(clientIdLength, 12)
    buf.write(clientId, 14, 'utf8')
  }
  payload.copy(buf, 14 + clientIdLength)
  const encoder = new Encoder(0)
  encoder.buf = buf
  encoder.offset = buf.length
  return encoder
}
